"""Kill -9 the host at a random moment of a failover or failback, restart it, time convergence.

Converged means, as the routing contract says: exactly one failover rule iff the WAN is down,
T's default via the elected gateway (gw1: no sidecar here), gw1 forwarding iff failed over and
gw2 never. Shared by tests/topotests/test_crash_consistency.py and bench/crash_convergence.py.
"""

from __future__ import annotations

import random
import signal
import time

from .topology import TABLE, RouterTopology


def converged(topo: RouterTopology, wan_up: bool) -> bool:
    rules = topo.rules()
    if wan_up:
        ok = rules == [] and topo.forwarding(1) == "0"
    else:
        ok = (len(rules) == 1 and rules[0].get("table") == str(TABLE)
              and topo.default_via() == topo.gateways[0] and topo.forwarding(1) == "1")
    return ok and topo.forwarding(2) == "0"


def trial(topo: RouterTopology, rng: random.Random, timeout: float = 20.0) -> float:
    """One crash; returns seconds from the restart to a converged FIB and gateways."""
    wan_up = rng.random() < 0.5
    topo.set_isp(wan_up)                      # a failover or a failback starts...
    time.sleep(rng.uniform(0, 0.03))          # ...and somewhere in it the host dies
    topo.nets.stop(topo.host, sig=signal.SIGKILL)
    topo.host = None
    if rng.random() < 0.3:                    # sometimes the WAN changes while nobody watches
        wan_up = not wan_up
        topo.set_isp(wan_up)
    t0 = time.monotonic()
    topo.start_host()
    deadline = t0 + timeout
    while not converged(topo, wan_up):
        if time.monotonic() > deadline:
            raise AssertionError(f"not converged {timeout}s after restart (wan_up={wan_up}): "
                                 f"rules={topo.rules()} T={topo.table_routes()}")
        time.sleep(0.01)
    return time.monotonic() - t0
