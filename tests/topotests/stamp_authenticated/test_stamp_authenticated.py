"""STAMP authenticated mode end to end: the sidecar's prober and the agents' reflectors share
heartbeat.key_file. Expected: with the same key both gateways come up; a reflector holding
another key never does (its replies fail the HMAC), whatever it answers."""

import json
import sys

from failover.lab.netns import wait_for

from failover.lab.routerlab import REPO


def gateways(topo) -> dict:
    out = topo.nets.exec("router", sys.executable, "-m", "failover.cli", "status", "--json",
                         "--config", str(topo.tmp / "failover.toml"), check=False).stdout
    try:
        return {g["address"]: g["status"] for g in json.loads(out)["gateways"]}
    except ValueError:
        return {}


def test_authenticated_heartbeats_need_the_shared_key(topo):
    key, other = topo.tmp / "stamp.key", topo.tmp / "other.key"
    key.write_text("a-shared-stamp-key-0123456789\n")
    other.write_text("not-the-same-key-9876543210\n")
    for proc in list(topo.nets.procs):
        topo.nets.stop(proc)  # the fixture's agents, unauthenticated
    topo.start_agent(1, "--stamp-key-file", str(key))
    topo.start_agent(2, "--stamp-key-file", str(other))
    config = topo.config(heartbeat={"key_file": str(key)})
    topo.start_host(config)
    topo.nets.spawn("router", [sys.executable, "-m", "failover.cli", "sidecar", "--config", str(config)],
                    log=topo.tmp / "sidecar.log", cwd=REPO)
    wait_for(lambda: gateways(topo).get("10.10.0.11") == "up", timeout=15, interval=0.2, what="gw1 up")
    assert gateways(topo)["10.10.0.12"] != "up"
