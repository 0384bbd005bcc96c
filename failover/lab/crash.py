"""Kill -9 the host at a random moment of a failover or failback, restart it, time convergence.

A trial moves the WAN (down: a failover starts; up: a failback starts, which first waits out the
clean time), kills the host 0-1.5 s later, so that kills land in the transition and in the
failback hold alike, and restarts it. An rtnetlink listener (rulewatch.py) sees every rule change.

Converged means, as the routing contract says: exactly one failover rule iff the WAN is down,
T's default via the elected gateway (gw1: no sidecar here), gw1 forwarding iff failed over and
gw2 never. A kill *during the hold* (WAN back, rule still in place) must not make failback
early: the restarted daemon finds the rule, is failed over, and removes it only after the clean
time counted from its start. Shared by the crash_consistency scenario (tests/topotests/) and
bench/crash_convergence.py.
"""

from __future__ import annotations

import random
import signal
import time
from dataclasses import dataclass

from .rulewatch import RuleWatch
from .routerlab import TABLE, RouterTopology

KILL_WITHIN_S = 1.5


@dataclass(frozen=True)
class Trial:
    converged_s: float          # restart -> FIB and gateways as the contract requires
    in_hold: bool               # killed while the WAN was back and the rule still in place
    failback_after_start_s: float | None  # in_hold: restart -> the rule's removal


def converged(topo: RouterTopology, wan_up: bool) -> bool:
    rules = topo.rules()
    if wan_up:
        ok = rules == [] and topo.forwarding(1) == "0"
    else:
        ok = (len(rules) == 1 and rules[0].get("table") == str(TABLE)
              and topo.default_via() == topo.gateways[0] and topo.forwarding(1) == "1")
    return ok and topo.forwarding(2) == "0"


def trial(topo: RouterTopology, watch: RuleWatch, rng: random.Random, timeout: float = 20.0,
          in_hold: bool | None = None) -> Trial:
    """One crash. ``in_hold=True`` forces a failback whose hold the kill lands in."""
    # failbacks more often than failovers: they are the transitions with a hold to land in
    wan_up = rng.random() < 0.75 if in_hold is None else in_hold
    delay = rng.uniform(0, KILL_WITHIN_S) if in_hold is None else rng.uniform(0, 0.8)
    if wan_up and not topo.rules():
        # a failback needs a failover first
        topo.set_isp(False)
        _wait(topo, False, timeout, "the failover before the failback")
    watch.sync()
    seen = len(watch.snapshot())
    topo.set_isp(wan_up)                      # a failover or a failback starts...
    time.sleep(delay)                         # ...and somewhere in it the host dies
    topo.nets.stop(topo.host, sig=signal.SIGKILL)
    topo.host = None
    watch.sync()
    # in the hold: the WAN is back and the old daemon had not removed the rule yet
    hold = wan_up and not any(not e.added for e in watch.snapshot()[seen:]) and bool(topo.rules())
    if not hold and rng.random() < 0.3:       # sometimes the WAN changes while nobody watches
        wan_up = not wan_up
        topo.set_isp(wan_up)
    seen = len(watch.snapshot())
    start_ns = time.time_ns()
    t0 = time.monotonic()
    topo.start_host()
    secs = _wait(topo, wan_up, timeout, "convergence after the restart", t0)
    failback = None
    if hold:
        watch.sync()
        removals = [e for e in watch.snapshot()[seen:] if not e.added]
        failback = (removals[0].at_ns - start_ns) / 1e9 if removals else None
    return Trial(secs, hold, failback)


def _wait(topo: RouterTopology, wan_up: bool, timeout: float, what: str, t0: float | None = None) -> float:
    t0 = time.monotonic() if t0 is None else t0
    while not converged(topo, wan_up):
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"not converged {timeout}s into {what} (wan_up={wan_up}): "
                                 f"rules={topo.rules()} T={topo.table_routes()}")
        time.sleep(0.01)
    return time.monotonic() - t0
