"""Crash consistency: kill -9 the host during failover, failback and the failback hold.

Expected (crash.py): every restart converges (one rule iff WAN down, default via gw1, gw1 up iff
down); a host killed in the failback hold (WAN back, rule still in place, default 1 s clean time)
restarts failed over and removes the rule only after the clean time counted from its restart,
as an rtnetlink listener in the router sees it.
"""

import random

import pytest

from failover.lab.crash import trial
from failover.lab.rulewatch import RuleWatch

MIN_CLEAN_S = 1.0  # the default dampening.min_clean_ms


@pytest.fixture
def watch(running):
    with RuleWatch(running.nets.ns("router")) as w:
        yield w


def test_a_restart_in_the_failback_hold_does_not_fail_back_early(running, watch):
    rng = random.Random(7)
    for _ in range(3):
        t = trial(running, watch, rng, in_hold=True)
        assert t.in_hold
        assert t.failback_after_start_s is not None and t.failback_after_start_s >= MIN_CLEAN_S, (
            f"failback {t.failback_after_start_s:.3f} s after the restart: the hold was forgotten\n"
            + running.log("host"))


@pytest.mark.slow
def test_host_killed_at_random_moments_always_converges(running, watch):
    rng = random.Random(2439)
    trials = [trial(running, watch, rng) for _ in range(60)]
    holds = [t for t in trials if t.in_hold]
    early = [t.failback_after_start_s for t in holds
             if t.failback_after_start_s is None or t.failback_after_start_s < MIN_CLEAN_S]
    print(f"\ncrash convergence over {len(trials)} kills: worst {max(t.converged_s for t in trials):.3f}s;"
          f" {len(holds)} kills in holds, {len(early)} early failbacks")
    assert len(holds) >= 10  # the kills do reach the hold
    assert early == []
