"""The shipped path check (conf/failover.toml: 5 ms probes, h = 14) as seeded simulations of
its pure heartbeat core, with stated confidence.

Each trial drives :class:`failover.core.heartbeat.HeartbeatSession` with the configuration
``failover.net.pathcheck.path_heartbeat_config`` derives from the shipped config file, through
test_heartbeat.py's ``Link``: a probe every 5 ms, ``on_timer`` before each send as the prober
does, each probe lost independently with probability ``loss`` (seeded), replies 1-1.2 ms later. The bounds are one-sided 95 %
Clopper-Pearson bounds on a per-trial probability from the trials' outcomes:

* 25 % loss, from a clean UP path: P(detected within 2 s) >= 99 %, from 1,000 trials;
* 10 % loss for 5 minutes, from a clean UP path: P(a false down in 5 minutes) <= 10 %, from
  30 trials (0 false downs; 2.5 simulated hours).

The second bound is what 30 runs can show, not what the detector achieves (the CUSUM's mean
time to a false alarm at 10 % is ~10**7 probes, failover/core/heartbeat.py): it fails if false
alarms are common, e.g. with h = 6 (tested below), as a bound in this suite's time should.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from failover import config
from failover.core.heartbeat import HeartbeatConfig, HeartbeatSession, Status
from failover.net.pathcheck import path_heartbeat_config

from .test_heartbeat import Link  # the seeded probe loop of the heartbeat core's own tests

pytestmark = pytest.mark.slow

S = 1_000_000_000
CONFIDENCE = 0.95
SHIPPED = Path(__file__).resolve().parents[2] / "conf" / "failover.toml"


def shipped() -> HeartbeatConfig:
    hc = path_heartbeat_config(config.load(SHIPPED))
    assert (hc.interval_ms, hc.brownout_threshold) == (5, 14.0)  # what the README promises
    return hc


def _at_most(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))


def _solve(f, target: float) -> float:
    """p in [0, 1] with f(p) = target, for f decreasing in p (bisection)."""
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid) > target else (lo, mid)
    return (lo + hi) / 2


def lower_bound(successes: int, n: int) -> float:
    """One-sided Clopper-Pearson lower bound on a probability at CONFIDENCE."""
    if successes == 0:
        return 0.0
    # the p at which seeing this many successes or more has probability 1 - CONFIDENCE
    return _solve(lambda p: _at_most(successes - 1, n, p), CONFIDENCE)


def upper_bound(successes: int, n: int) -> float:
    """One-sided Clopper-Pearson upper bound on a probability at CONFIDENCE."""
    if successes == n:
        return 1.0
    return _solve(lambda p: _at_most(successes, n, p), 1 - CONFIDENCE)


def test_the_bounds_are_clopper_pearson():
    # closed forms at the edges: 0 of n -> 1 - alpha**(1/n); n of n -> alpha**(1/n)
    assert math.isclose(upper_bound(0, 30), 1 - 0.05 ** (1 / 30), rel_tol=1e-9)
    assert math.isclose(lower_bound(1000, 1000), 0.05 ** (1 / 1000), rel_tol=1e-9)
    assert 0.990 < lower_bound(998, 1000) < lower_bound(999, 1000) < 0.05 ** (1 / 1000)


def clean_and_up(hc: HeartbeatConfig, seed: int) -> Link:
    link = Link(HeartbeatSession(hc), random.Random(seed))
    link.run(2, 0.0)
    assert link.session.status is Status.UP
    return link


def detection_times(hc: HeartbeatConfig, trials: int, loss: float) -> list[float | None]:
    out = []
    for seed in range(trials):
        link = clean_and_up(hc, seed)
        start = link.now
        change = link.run(5, loss, until=Status.DOWN)
        out.append(None if change is None else (change.at_ns - start) / S)
    return out


def false_downs(hc: HeartbeatConfig, trials: int, loss: float, seconds: float) -> int:
    runs_with_a_down = 0
    for seed in range(trials):
        link = clean_and_up(hc, 10_000 + seed)
        runs_with_a_down += link.run(seconds, loss, until=Status.DOWN) is not None
    return runs_with_a_down


def test_shipped_path_check_detects_25_percent_loss_within_2_s():
    times = detection_times(shipped(), 1000, 0.25)
    within = sum(t is not None and t <= 2.0 for t in times)
    # Measured with these seeds: 997/1000 within 2 s (lower bound 99.2 %), median 0.70 s.
    assert lower_bound(within, len(times)) >= 0.99, f"{within}/{len(times)} within 2 s"


def test_shipped_path_check_rarely_false_alarms_at_10_percent_loss():
    n = 30
    downs = false_downs(shipped(), n, 0.10, 300)
    assert upper_bound(downs, n) <= 0.10, f"{downs}/{n} five-minute runs had a false down"


def with_threshold(hc: HeartbeatConfig, h: float) -> HeartbeatConfig:
    return HeartbeatConfig(**{**{f: getattr(hc, f) for f in hc.__dataclass_fields__}, "brownout_threshold": h})


def test_the_false_alarm_bound_can_fail():
    # The same check with h = 6 false-alarms within a minute at 10 % loss most of the time:
    # the bound must refuse it, or it proves nothing.
    downs = false_downs(with_threshold(shipped(), 6.0), 10, 0.10, 60)
    assert downs > 0 and upper_bound(downs, 10) > 0.10


def test_the_detection_bound_can_fail():
    # h = 24 needs more evidence than 2 s of 25 % loss usually brings.
    times = detection_times(with_threshold(shipped(), 24.0), 100, 0.25)
    within = sum(t is not None and t <= 2.0 for t in times)
    assert lower_bound(within, len(times)) < 0.99


def test_a_path_declared_up_again_has_no_brownout_evidence_left():
    # Loss that raised the CUSUM without alarming, then a blackout: down. When the path answers
    # again it is declared up only once the CUSUM is back at zero; declared up with it near the
    # threshold (as before), its next few losses called it down again at once: a path verdict
    # that wobbled right after an outage, which flap dampening counts as a second flap.
    hc = shipped()
    for seed in range(20):
        link = clean_and_up(hc, seed)
        link.run(0.3, 0.25)
        link.run(1, 1.0)
        assert link.session.status is Status.DOWN
        assert link.run(3, 0.0, until=Status.UP) is not None, f"seed {seed}: not up again"
        assert link.session.brownout_level == 0.0, f"seed {seed}: up with the CUSUM at {link.session.brownout_level:.0%}"
