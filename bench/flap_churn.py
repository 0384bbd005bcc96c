"""Benchmark: rule changes per minute while the WAN flaps every 100-500 ms, with dampening.

    .venv/bin/python -m bench.flap_churn [--seconds 60]

Runs the default configuration's dampening (conf/failover.toml defaults): carrier flaps (the
ISP side of the WAN veth) and then path flaps (the `path up|down` verdicts the sidecar sends),
each for --seconds; prints rule changes per minute and the time to fail back once stable.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from failover.netns import wait_for
from tests.topotests.flapping import flap
from tests.topotests.topology import RouterTopology


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60)
    args = ap.parse_args()
    print(f"flap_churn: WAN toggled every 100-500 ms for {args.seconds:.0f} s, default dampening")
    for kind in ("carrier", "path"):
        with tempfile.TemporaryDirectory() as tmp:
            topo = RouterTopology.build(Path(tmp), n_gateways=2)
            try:
                topo.start_host()
                changes = flap(topo, kind, args.seconds, random.Random(500))
                t0 = time.monotonic()
                wait_for(lambda: topo.rules() == [], timeout=120, interval=0.1, what="failback")
                settle = time.monotonic() - t0
                ok = topo.state()["failover"] == "off"
            finally:
                topo.cleanup()
        print(f"  {kind:8} flaps: {changes * 60 / args.seconds:.1f} rule changes/min "
              f"({changes} in {args.seconds:.0f} s); failback {settle:.1f} s after the last flap; "
              f"final state {'correct' if ok else 'WRONG'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
