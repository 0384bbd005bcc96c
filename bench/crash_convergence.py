"""Benchmark: kill -9 the failover host at random moments of failover/failback; time convergence.

    .venv/bin/python -m bench.crash_convergence [--trials 100] [--seed 2439]

Each trial: the WAN changes, the host is killed 0-30 ms later (sometimes the WAN changes again
while it is dead), the host restarts; the time is from the restart to a FIB and gateways in the
state the contract requires (tests/topotests/crash.py: `converged`).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

from bench.stats import summary
from tests.topotests.crash import trial
from tests.topotests.topology import RouterTopology


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--seed", type=int, default=2439)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        topo = RouterTopology.build(Path(tmp), n_gateways=2)
        try:
            topo.start_host()
            times = [trial(topo, rng) * 1000 for _ in range(args.trials)]
        finally:
            topo.cleanup()
    print(f"crash_convergence: {args.trials} kill -9 of the host during failover/failback")
    print(f"  restart -> converged : {summary(times)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
