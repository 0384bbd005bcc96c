"""Flap the WAN (carrier, or the path verdict) every 100-500 ms and count rule changes.

Shared by test_flap_dampening.py and bench/flap_churn.py. Rule changes are the daemon's own
`changes` counter (rule additions and removals), read before and after.
"""

from __future__ import annotations

import random
import time

from .topology import RouterTopology


def flap(topo: RouterTopology, kind: str, seconds: float, rng: random.Random) -> int:
    """Toggle for `seconds`, end with the WAN up; returns the rule changes made meanwhile."""
    before = int(topo.state()["changes"])
    up = True
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        up = not up
        if kind == "carrier":
            topo.set_isp(up)
        else:
            assert topo.control(f"path {'up' if up else 'down'}") == "ok"
        time.sleep(rng.uniform(0.1, 0.5))
    if kind == "carrier":
        topo.set_isp(True)
    else:
        topo.control("path up")
    return int(topo.state()["changes"]) - before
