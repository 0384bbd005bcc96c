"""The path check (failover.net.pathcheck) probing one ICMP target through ``wan0``, run by
test_icmp_ping_socket.py without CAP_NET_RAW; what it sees, as JSON lines on stdout:

    {"raw": false}                              a raw ICMP socket was refused here
    {"ip_header": false, "identifier": N}       what open_icmp gave (false: the ping socket)
    {"path": true|false, "reason": "..."}       each path verdict
    {"bound": IFINDEX|null}                     twice a second: the device the check follows

    python pathcheck_child.py TARGET
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys

from failover.config import Config
from failover.net.icmpsock import open_icmp
from failover.net.pathcheck import PathCheck


def say(**fields) -> None:
    print(json.dumps(fields), flush=True)


async def main(target: str) -> None:
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
        say(raw=True)
    except PermissionError:
        say(raw=False)
    icmp = open_icmp("wan0")
    say(ip_header=icmp.ip_header, identifier=icmp.identifier)
    icmp.sock.close()
    cfg = Config.model_validate({
        "wan": {"interface": "wan0", "target": [{"address": target, "kind": "icmp", "interval_ms": 20}]},
        "failover": {"lan_interface": "lan0"},
        "gateway": [{"name": "unused", "address": "192.0.2.1"}],  # required by the config; never probed here
    })
    check = PathCheck(cfg, on_verdict=lambda up, reason: say(path=up, reason=reason))
    await check.start()
    while True:
        await asyncio.sleep(0.5)
        say(bound=check.bound_ifindex)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(main(sys.argv[1]))
