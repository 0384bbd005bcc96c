"""Many STAMP reflectors in one process: the agent's StampReflector bound to each address given.

    ip netns exec NS python -m bench.reflectors --file ADDRESSES [--port 862]

(The agent's reflector binds one address and has no IP_PKTINFO mode, so a single 0.0.0.0 socket
could not answer from the probed address; one socket per address, one event loop, is the
faithful way to serve hundreds of candidates.) Prints "ready N" once every socket is bound, and
"reflected N" (probes answered so far, all addresses) on SIGUSR1: the benchmarks count the probes
where they arrive, independently of the sidecar's own counters.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import signal
import sys

from failover.agent import StampReflector


async def serve(addresses: list[str], port: int) -> None:
    reflectors = [StampReflector(a, port) for a in addresses]
    for r in reflectors:
        r.start()
    print(f"ready {len(reflectors)}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, lambda: print(f"reflected {sum(r.reflected for r in reflectors)}",
                                                           flush=True))
    await stop.wait()
    for r in reflectors:
        r.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", required=True)
    ap.add_argument("--port", type=int, default=862)
    args = ap.parse_args()
    addresses = open(args.file).read().split()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, len(addresses) + 256)), hard))
    asyncio.run(serve(addresses, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
