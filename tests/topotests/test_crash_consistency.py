"""Crash consistency: kill -9 the host during failover and failback, 100 times; every restart
converges (expected state in crash.py: one rule iff WAN down, default via gw1, gw1 up iff down)."""

import random

import pytest

from .crash import trial


@pytest.mark.slow
def test_host_killed_at_random_moments_always_converges(running):
    rng = random.Random(2439)
    times = [trial(running, rng) for _ in range(100)]
    print(f"\ncrash convergence over {len(times)} kills: worst {max(times):.3f}s")
    assert max(times) < 20
