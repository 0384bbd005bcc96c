"""Benchmark: rule changes while the WAN flaps (down 0.1-0.5 s, up 0.1-5 s), with the shipped
dampening and with its penalty off.

    .venv/bin/python -m bench.flap_churn [--seconds 90]

Carrier flaps (the ISP side of the WAN veth) and path flaps (the `path up|down` verdicts the
sidecar sends), each for --seconds on a router with the default dampening, and, on a second
router at the same time, the same schedule with the penalty off (only the 1 s clean time holds
failback). The up periods straddle the clean time. Rule changes are rule additions and removals
counted by an rtnetlink listener in each router (failover/lab/rulewatch.py), not the daemon's
counter. Target: at most 3 in 90 s with the default dampening (the first failover, at most one
failback, one more failover). Then the time to fail back once the WAN is stable.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

from failover.lab.netns import wait_for
from failover.lab.flapping import flap
from failover.lab.routerlab import NO_HOLD, RouterTopology

TARGET = 3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=90)
    args = ap.parse_args()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"flap_churn: WAN down 0.1-0.5 s / up 0.1-5 s for {args.seconds:.0f} s; rule changes seen by an "
          f"rtnetlink listener (load average at start {load})")
    missed = False
    for i, kind in enumerate(("carrier", "path")):
        with tempfile.TemporaryDirectory() as tmp:
            routers = {}
            try:
                for name, dampening in (("default dampening", None), ("penalty off", NO_HOLD)):
                    (Path(tmp) / name).mkdir()
                    topo = routers[name] = RouterTopology.build(Path(tmp) / name, n_gateways=2)
                    topo.start_host(topo.config(dampening=dampening) if dampening else None)
                counts = {}

                def run(name: str) -> None:
                    counts[name] = flap(routers[name], kind, args.seconds, random.Random(500 + i))

                threads = [threading.Thread(target=run, args=(name,)) for name in routers]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                topo = routers["default dampening"]
                t0 = time.monotonic()
                wait_for(lambda: topo.rules() == [], timeout=180, interval=0.1, what="failback")
                settle = time.monotonic() - t0
                ok = topo.state()["failover"] == "off"
            finally:
                for topo in routers.values():
                    topo.cleanup()
        met = counts["default dampening"] <= TARGET
        missed |= not met
        print(f"  {kind:8} flaps, default dampening: {counts['default dampening']} rule changes in "
              f"{args.seconds:.0f} s  target <= {TARGET} {'MET' if met else 'MISSED'}; failback {settle:.1f} s "
              f"after the last flap; final state {'correct' if ok else 'WRONG'}")
        print(f"  {kind:8} flaps, penalty off      : {counts['penalty off']} rule changes in {args.seconds:.0f} s "
              f"(the same schedule, only the clean time holding failback)")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
