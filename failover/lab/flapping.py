"""Flap the WAN (carrier, or the path verdict) and count rule changes with an independent observer.

Shared by test_flap_dampening.py and bench/flap_churn.py. The schedule holds the WAN down
0.1-0.5 s and up 0.1-5 s: the up periods straddle the default clean time (1 s), so without a
penalty that holds failback the rule goes in and out. Rule changes are the kernel's rule
notifications seen by an rtnetlink listener in the router (failover/lab/rulewatch.py), not the
daemon's own counter.
"""

from __future__ import annotations

import random
import time

from failover.core import controlline

from .rulewatch import RuleWatch
from .routerlab import RouterTopology

DOWN_S = (0.1, 0.5)
UP_S = (0.1, 5.0)


def set_wan(topo: RouterTopology, kind: str, up: bool) -> None:
    if kind == "carrier":
        topo.set_isp(up)
    else:
        assert topo.control(controlline.path(up)) == "ok"


def flap(topo: RouterTopology, kind: str, seconds: float, rng: random.Random) -> int:
    """Down, up, down, ... for `seconds`, ending with the WAN up; returns the rule changes
    (additions and removals) the kernel reported meanwhile."""
    with RuleWatch(topo.nets.ns("router")) as watch:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            set_wan(topo, kind, False)
            time.sleep(rng.uniform(*DOWN_S))
            set_wan(topo, kind, True)
            time.sleep(rng.uniform(*UP_S))
        set_wan(topo, kind, True)
        watch.sync()
        return watch.changes
