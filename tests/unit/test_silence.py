"""Silence or delay: the receive-counter evidence and the blackout rule, driven by timestamps.

A path check at 5 ms with the lab's detect time (60 ms = 12 x 5 ms) and the 1 s reply timeout.
The delay spikes are the issue's: replies held 150-400 ms (a FIFO hold: all come, in order, late)
while the WAN keeps receiving the return traffic of a flow every millisecond.
"""

from __future__ import annotations

import random

import pytest

from failover.core.heartbeat import HeartbeatConfig, HeartbeatSession, Status
from failover.core.silence import ReceiveActivity, is_silent

MS = 1_000_000
INTERVAL = 5 * MS
CONFIG = HeartbeatConfig(interval_ms=5, detect_multiplier=12, recover_count=40, brownout_threshold=14.0,
                         max_detect_multiplier=100)


# -- the receive counter ----------------------------------------------------------------------


def test_receive_activity_moves_only_on_a_higher_count_of_the_same_device() -> None:
    a = ReceiveActivity()
    assert not a.observe(0, 7, 100)            # first sample: a baseline
    assert not a.observe(5 * MS, 7, 100)       # unchanged
    assert a.observe(10 * MS, 7, 101) and a.last_ns == 10 * MS
    assert not a.observe(15 * MS, 9, 500)      # re-created: new ifindex, new baseline
    assert not a.observe(20 * MS, 9, 3)        # counters went backwards: baseline again
    assert a.observe(25 * MS, 9, 4) and a.last_ns == 25 * MS
    a.forget()
    assert not a.observe(30 * MS, 9, 50)       # after the device was gone: a baseline


def test_is_silent_rule() -> None:
    detect, timeout = 60 * MS, 1000 * MS
    assert not is_silent(59 * MS, 0, None, detect, timeout)
    assert is_silent(60 * MS, 0, None, detect, timeout)                 # no traffic known: as before
    assert not is_silent(300 * MS, 0, 250 * MS, detect, timeout)        # traffic: slow, not silent
    assert is_silent(311 * MS, 0, 250 * MS, detect, timeout)            # traffic stopped too
    assert is_silent(1000 * MS, 0, 999 * MS, detect, timeout)           # no reply within the timeout
    assert is_silent(80 * MS, 0, None, 80 * MS, 50 * MS)                # a detect time above the timeout wins


# -- the session with and without the evidence ---------------------------------------------


def spiky_path(seed: int, *, traffic: bool, seconds: float = 60.0) -> tuple[HeartbeatSession, list[Status]]:
    """Probe every 5 ms; every 3 s the replies are held 150-400 ms and then all released in order.
    With ``traffic`` the WAN receives something every millisecond throughout (a flow's return).
    Returns the session and every verdict it moved to."""
    rng = random.Random(seed)
    s = HeartbeatSession(CONFIG)
    verdicts: list[Status] = []
    pending: list[tuple[int, int, int]] = []   # (t4, seq, t1), in order
    held_until = -1
    next_spike = 1_000 * MS
    for step in range(int(seconds * 1000)):    # 1 ms steps
        now = step * MS
        if now == next_spike:
            held_until = now + rng.randrange(150, 401) * MS
            next_spike += 3_000 * MS
        while pending and pending[0][0] <= now:
            t4, seq, t1 = pending.pop(0)
            s.on_reply(t4, seq, t1, t1 + MS, t1 + MS)
        if traffic:
            s.on_traffic(now)
        if now % INTERVAL == 0:
            if (change := s.on_timer(now)) is not None:
                verdicts.append(change.new)
            seq = s.on_send(now)
            release = max(now + 2 * MS, held_until if now < held_until else 0)
            pending.append((release, seq, now))
    return s, verdicts


@pytest.mark.parametrize("seed", range(5))
def test_delay_spikes_with_traffic_flowing_never_go_down_and_nothing_is_lost(seed: int) -> None:
    s, verdicts = spiky_path(seed, traffic=True)
    assert verdicts == [Status.UP]
    assert s.loss == 0.0 and s.sent - s.received <= 400 // 5  # at most one held spike still in flight
    assert s.late > 0 and s.snapshot().late == s.late   # matched to their probes, counted late
    assert s.brownout_level == 0.0


def test_delay_spikes_without_the_evidence_are_called_blackouts() -> None:
    # The old behaviour, and still what happens when the WAN receives nothing else.
    s, verdicts = spiky_path(0, traffic=False, seconds=20.0)
    assert verdicts == [Status.UP] + [Status.DOWN, Status.UP] * 7   # one failover per spike
    assert s.late > 0 and s.loss == 0.0


def test_blackout_after_traffic_stops_is_as_fast_as_without_evidence() -> None:
    s = HeartbeatSession(CONFIG)
    now = 0
    for _ in range(400):                     # 2 s of a clean path with traffic
        s.on_timer(now)
        s.on_reply(now + MS, s.on_send(now), now, now, now)
        s.on_traffic(now + MS)
        now += INTERVAL
    assert s.status is Status.UP
    last = now - INTERVAL + MS               # the last reply and the last traffic
    change = None
    while change is None:
        change = s.on_timer(now)
        s.on_send(now)
        now += INTERVAL
    assert change.new is Status.DOWN and "nothing received" in change.reason
    assert 60 * MS <= change.at_ns - last <= 65 * MS


def test_traffic_without_replies_is_down_after_the_reply_timeout() -> None:
    # The probe target stopped answering but the WAN still receives: down, later.
    s = HeartbeatSession(CONFIG)
    now = 0
    for _ in range(400):
        s.on_timer(now)
        s.on_reply(now + MS, s.on_send(now), now, now, now)
        now += INTERVAL
    last_reply = now - INTERVAL + MS
    change = None
    while change is None:
        s.on_traffic(now)
        change = s.on_timer(now)
        s.on_send(now)
        now += INTERVAL
    assert change.new is Status.DOWN and "reply timeout" in change.reason
    assert 1000 * MS <= change.at_ns - last_reply <= 1005 * MS
