"""Benchmark: kill -9 the failover host at random moments of failover, failback and the failback
hold; time convergence and count early failbacks.

    .venv/bin/python -m bench.crash_convergence [--hold-kills 100] [--seed 2439]

Each trial (failover/lab/crash.py): the WAN goes down or comes back, the host is killed
0-1.5 s later (so in the transition or in the 1 s failback hold; sometimes the WAN changes again
while it is dead), the host restarts. Times are from the restart to a FIB and gateways in the
state the contract requires (`converged`). Trials go on until --hold-kills kills have landed in a
failback hold; for those, an rtnetlink listener in the router times the rule's removal from the
restart: earlier than the clean time (1 s) is an early failback (target: none).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
from pathlib import Path

from bench.stats import summary
from failover.lab.crash import trial
from failover.lab.rulewatch import RuleWatch
from failover.lab.routerlab import RouterTopology

MIN_CLEAN_S = 1.0  # the default dampening.min_clean_ms


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hold-kills", type=int, default=100)
    ap.add_argument("--seed", type=int, default=2439)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    trials = []
    with tempfile.TemporaryDirectory() as tmp:
        topo = RouterTopology.build(Path(tmp), n_gateways=2)
        try:
            topo.start_host()
            with RuleWatch(topo.nets.ns("router")) as watch:
                while sum(t.in_hold for t in trials) < args.hold_kills:
                    trials.append(trial(topo, watch, rng))
        finally:
            topo.cleanup()
    holds = [t for t in trials if t.in_hold]
    others = [t.converged_s * 1000 for t in trials if not t.in_hold]
    after = [t.failback_after_start_s for t in holds]
    early = sum(a is None or a < MIN_CLEAN_S for a in after)
    print(f"crash_convergence: {len(trials)} kill -9 of the host 0-1.5 s into failover/failback "
          f"(load average at start {load})")
    print(f"  restart -> converged, kills outside a hold : {summary(others)}")
    print(f"  kills in a failback hold                  : {len(holds)}; restart -> rule removed "
          f"{summary([a * 1000 for a in after if a is not None])}")
    print(f"  early failbacks (< {MIN_CLEAN_S:.0f} s after the restart)  : {early} of {len(holds)}  "
          f"target 0 {'MET' if early == 0 else 'MISSED'}")
    return 0 if early == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
