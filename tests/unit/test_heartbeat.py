"""Heartbeat session: RTT maths, reply filtering, and seeded loss simulations.

The simulations drive the session with synthetic timestamps (no sleeping): a
probe every interval, each lost with probability ``loss``, the reply 1 ms
later, ``on_timer`` called before every send as the asyncio shell does.
"""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from failover.core.heartbeat import (
    HeartbeatConfig,
    HeartbeatSession,
    SessionStats,
    Status,
    StatusChange,
)

MS = 1_000_000
S = 1_000_000_000
INTERVAL = 20 * MS


# -- simulation harness --------------------------------------------------------


@dataclass
class Link:
    """A probed path: drives one session tick by tick with seeded random loss."""

    session: HeartbeatSession
    rng: random.Random
    now: int = 0
    rtt: int = MS
    changes: list[StatusChange] = field(default_factory=list)
    last_reply: int | None = None

    @classmethod
    def new(cls, seed: int = 0, **config: int | float) -> Link:
        return cls(HeartbeatSession(HeartbeatConfig(**config)), random.Random(seed))

    @property
    def interval(self) -> int:
        return self.session.config.interval_ms * MS

    def tick(self, loss: float) -> StatusChange | None:
        change = self.session.on_timer(self.now)
        if change:
            self.changes.append(change)
        t1 = self.now
        seq = self.session.on_send(t1)
        if self.rng.random() >= loss:
            t4 = t1 + self.rtt + self.rng.randrange(200_000)
            half = (t4 - t1) // 2
            assert self.session.on_reply(t4, seq, t1, t1 + half - 5_000, t1 + half + 5_000)
            self.last_reply = t4
        self.now += self.interval
        return change

    def run(self, seconds: float, loss: float, *, until: Status | None = None) -> StatusChange | None:
        """Tick for ``seconds``; stop early at the first change to ``until``."""
        end = self.now + int(seconds * S)
        while self.now < end:
            change = self.tick(loss)
            if until is not None and change is not None and change.new is until:
                return change
        return None

    def downs_since(self, t: int) -> list[StatusChange]:
        return [c for c in self.changes if c.new is Status.DOWN and c.at_ns >= t]


def up_link(seed: int = 0, **config: int | float) -> Link:
    link = Link.new(seed, **config)
    assert link.run(1, 0.0, until=Status.UP)
    link.run(9, 0.0)  # a clean history, like a link that has been fine for a while
    return link


# -- sequence numbers and samples -----------------------------------------------


def test_sequence_numbers_count_from_zero() -> None:
    s = HeartbeatSession()
    assert [s.on_send(i * INTERVAL) for i in range(3)] == [0, 1, 2]
    assert s.snapshot().sent == 3


def test_rtt_subtracts_reflector_residence_time() -> None:
    s = HeartbeatSession()
    seq = s.on_send(1_000 * MS)
    # T4 - T1 = 7 ms, T3 - T2 = 2 ms (reflector clock far off: only differences count)
    sample = s.on_reply(1_007 * MS, seq, 1_000 * MS, 50_000 * MS, 50_002 * MS)
    assert sample is not None
    assert (sample.sequence, sample.rtt_ns, sample.srtt_ns, sample.jitter_ns) == (0, 5 * MS, 5 * MS, 0)
    stats = s.snapshot()
    assert (stats.rtt_ms, stats.last_rtt_ms, stats.jitter_ms, stats.received) == (5.0, 5.0, 0.0, 1)


def test_rtt_is_clamped_when_a_clock_steps() -> None:
    s = HeartbeatSession()
    seq = s.on_send(0)
    # reflector "spent" longer than the whole round trip: would be negative
    sample = s.on_reply(3 * MS, seq, 0, 10 * MS, 20 * MS)
    assert sample is not None and sample.rtt_ns == 0
    seq = s.on_send(INTERVAL)
    # reflector clock stepped backwards between T2 and T3: would exceed T4 - T1
    sample = s.on_reply(INTERVAL + 3 * MS, seq, INTERVAL, 10 * MS, 5 * MS)
    assert sample is not None and sample.rtt_ns == 3 * MS


def test_ewma_rtt_and_rfc3550_jitter() -> None:
    s = HeartbeatSession()
    rtts = [10 * MS, 18 * MS, 10 * MS, 26 * MS]
    srtt = jitter = 0
    for i, rtt in enumerate(rtts):
        t1 = i * INTERVAL
        sample = s.on_reply(t1 + rtt, s.on_send(t1), t1, 0, 0)
        assert sample is not None
        if i == 0:
            srtt, jitter = rtt, 0
        else:
            srtt += (rtt - srtt) // 8
            jitter += (abs(rtt - rtts[i - 1]) - jitter) // 16
        assert (sample.srtt_ns, sample.jitter_ns) == (srtt, jitter)
    # by hand: srtt 10 → 11 → 10.875 → 12.765625 ms; jitter 0 → .5 → .96875 → 1.908203 ms
    assert srtt == 12_765_625 and jitter == 1_908_203


def test_duplicate_unknown_stale_and_mismatched_replies_are_ignored() -> None:
    s = HeartbeatSession()
    seq0 = s.on_send(0)
    assert s.on_reply(MS, seq0, 0, 0, 0) is not None
    assert s.on_reply(2 * MS, seq0, 0, 0, 0) is None  # duplicate
    assert s.on_reply(2 * MS, 99, 0, 0, 0) is None  # never sent
    assert s.on_reply(2 * MS, 1, 0, 0, 0) is None  # not sent yet
    assert s.on_reply(2 * MS, -1, 0, 0, 0) is None  # not a sequence number
    seq1 = s.on_send(INTERVAL)
    assert s.on_reply(INTERVAL + MS, seq1, INTERVAL - 5_000, 0, 0) is None  # echo is not our T1
    seq2 = s.on_send(2 * INTERVAL)
    late = 2 * INTERVAL + s.config.reply_timeout_ms * MS
    assert s.on_reply(late, seq2, 2 * INTERVAL, 0, 0) is None  # older than the window
    stats = s.snapshot()
    assert (stats.received, s.ignored) == (1, 6)
    assert stats.loss == pytest.approx(2 / 3)  # seq1 and seq2 timed out


def test_overtaken_reply_counts_as_lost() -> None:
    s = HeartbeatSession()
    a, b = s.on_send(0), s.on_send(INTERVAL)
    assert s.on_reply(INTERVAL + MS, b, INTERVAL, 0, 0) is not None
    assert s.on_reply(INTERVAL + 2 * MS, a, 0, 0, 0) is None
    assert s.loss == 0.5


def test_sequence_numbers_wrap_at_2_pow_32() -> None:
    s = HeartbeatSession()
    s._next_seq = s._oldest = 2**32 - 2  # white-box: skip four billion probes
    seqs = [s.on_send(i * INTERVAL) for i in range(4)]
    assert seqs == [2**32 - 2, 2**32 - 1, 0, 1]
    for i, seq in enumerate(seqs):
        assert s.on_reply(i * INTERVAL + MS, seq, i * INTERVAL, 0, 0) is not None
    assert s.snapshot().loss == 0.0


def test_memory_is_bounded_when_nothing_answers() -> None:
    s = HeartbeatSession(HeartbeatConfig(reply_timeout_ms=10_000))
    ring, window = len(s._t1), len(s._window)
    for i in range(100_000):
        s.on_send(i)  # far faster than the interval: the ring must not grow
    assert (len(s._t1), len(s._window)) == (ring, window)
    assert s._in_flight() <= ring
    assert 0.0 < s.loss <= 1.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"interval_ms": 0},
        {"detect_multiplier": 0},
        {"recover_count": 0},
        {"tolerable_loss": 0.3, "brownout_loss": 0.2},
        {"brownout_threshold": 0},
        {"loss_window_ms": 5},
        {"max_detect_multiplier": 2},
    ],
)
def test_config_is_validated(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="heartbeat config"):
        HeartbeatConfig(**kwargs)  # type: ignore[arg-type]


# -- status: BFD detect time and hysteresis ----------------------------------------


def test_initially_unknown_then_up_after_recover_count_replies() -> None:
    link = Link.new()
    assert link.session.status is Status.UNKNOWN
    for _ in range(10):
        assert link.tick(0.0) is None  # the 10th reply is seen at the next tick
    change = link.tick(0.0)
    assert change and (change.old, change.new) == (Status.UNKNOWN, Status.UP)
    assert "10 consecutive replies" in change.reason
    assert link.session.snapshot().status is Status.UP


def test_no_reply_ever_is_down_after_detect_time_from_first_probe() -> None:
    s = HeartbeatSession()
    for t in (0, INTERVAL):
        assert s.on_timer(t) is None
        s.on_send(t)
    assert s.on_timer(59 * MS) is None
    change = s.on_timer(60 * MS)
    assert change and (change.old, change.new) == (Status.UNKNOWN, Status.DOWN)
    assert "first probe" in change.reason


@pytest.mark.parametrize("seed", range(20))
def test_blackout_detected_within_60_to_80_ms(seed: int) -> None:
    link = up_link(seed)
    phase = random.Random(seed).randrange(INTERVAL)
    link.now += phase  # blackout starts at an arbitrary point of the probe cycle
    start, last_reply = link.now, link.last_reply
    assert last_reply is not None
    change = link.run(1, loss=1.0, until=Status.DOWN)
    assert change is not None and "blackout" in change.reason
    assert 60 * MS <= change.at_ns - last_reply <= 80 * MS
    assert change.at_ns - start <= 80 * MS


def test_blackout_detect_time_is_exact_with_a_fine_timer() -> None:
    s = HeartbeatSession()
    for i in range(20):
        t = i * INTERVAL
        s.on_timer(t)
        s.on_reply(t + MS, s.on_send(t), t, 0, 0)
    assert s.status is Status.UP
    last_reply = 19 * INTERVAL + MS
    t = last_reply
    while (change := s.on_timer(t)) is None:
        if t % INTERVAL == 0:
            s.on_send(t)
        t += MS // 10
    assert change.new is Status.DOWN and change.at_ns - last_reply == 60 * MS


def test_a_stalled_sender_is_not_taken_for_a_blackout() -> None:
    # Our own loop stalls for 20 intervals: nothing is sent, so the silence says nothing about
    # the path. The next probe's reply comes; no verdict moves.
    link = up_link()
    link.now += 20 * INTERVAL
    assert link.run(1, loss=0.0) is None
    assert link.changes[-1].new is Status.UP and len(link.changes) == 1


def test_a_blackout_during_a_stall_is_found_after_fresh_probes() -> None:
    # Delayed, never suppressed: after the stall the verdict comes once k - 1 fresh probes (as
    # many as a detect time holds) went unanswered.
    link = up_link()
    last_reply = link.last_reply
    link.now += 20 * INTERVAL
    resumed = link.now
    change = link.run(1, loss=1.0, until=Status.DOWN)
    assert change is not None and "blackout" in change.reason and change.at_ns - last_reply >= 60 * MS
    assert change.at_ns - resumed == 2 * INTERVAL


def test_recovery_needs_recover_count_consecutive_replies() -> None:
    link = up_link()
    link.run(0.2, loss=1.0)
    assert link.session.status is Status.DOWN
    for _ in range(9):
        link.tick(0.0)
    link.tick(1.0)  # a loss at reply 10 restarts the count
    for _ in range(10):
        link.tick(0.0)
    assert link.session.status is Status.DOWN
    assert link.tick(0.0) is not None and link.session.status is Status.UP


def test_recovery_after_a_blackout_is_not_slowed_by_its_losses() -> None:
    # A 5 s blackout loses 250 probes; they are blackout losses, not brown-out
    # evidence, so UP comes back after exactly recover_count replies.
    link = up_link()
    link.run(5, loss=1.0)
    assert link.session.status is Status.DOWN and link.session.brownout_level == 0.0
    back = link.now
    change = link.run(1, 0.0, until=Status.UP)
    assert change is not None and change.at_ns - back == 10 * INTERVAL
    assert link.session.detect_multiplier_now == 3  # and the next blackout is seen as fast


def test_a_backlog_lost_as_the_path_recovers_is_no_brownout() -> None:
    # The path check's shipped timing (5 ms, recover 40). After a 2 s blackout the path answers
    # again, but 200 ms late: when it is declared up, 40 probes are still in flight. Twenty of
    # them are then dropped (a queue flushed as the path settles). They were sent before the
    # recovery was declared: outage losses, not a brown-out that sends the path straight back
    # down (a second flap, which dampening then holds for ~20 s). Every other one is dropped, so
    # the replies never stop for a detect time: no blackout, only loss evidence.
    cfg = dict(interval_ms=5, detect_multiplier=12, recover_count=40, brownout_threshold=14.0)
    link = up_link(**cfg)
    link.run(2, loss=1.0)
    assert link.session.status is Status.DOWN
    s, interval, rtt = link.session, 5 * MS, 200 * MS
    in_flight: list[tuple[int, int]] = []
    replies: list[tuple[int, int, int]] = []  # (t4, seq, t1)

    def step(drop: bool = False) -> None:
        s.on_timer(link.now)
        seq = s.on_send(link.now)
        if not drop:
            replies.append((link.now + rtt, seq, link.now))
        while replies and replies[0][0] <= link.now:
            t4, rseq, t1 = replies.pop(0)
            s.on_reply(t4, rseq, t1, t1 + rtt // 2, t1 + rtt // 2)
        link.now += interval

    while s.status is not Status.UP:
        step()
    assert len(replies) >= 40
    del replies[0:40:2]  # twenty of the probes in flight at the recovery never come back
    for _ in range(400):
        step()
        assert s.status is Status.UP, s.status


def test_a_probe_lost_after_the_recovery_is_brownout_evidence() -> None:
    # The outage's share ends with the recovery: the very first probe sent after the path was
    # declared up again, if lost, counts for the brown-out statistic like any later one.
    link = up_link()
    link.run(1, loss=1.0)
    s, t = link.session, link.now
    while s.on_timer(t) is None:  # replies until the timer declares the path up again
        seq = s.on_send(t)
        s.on_reply(t + MS, seq, t, t, t)
        t += INTERVAL
    assert s.status is Status.UP and s.brownout_level == 0.0
    s.on_send(t)  # the first probe after the recovery: lost
    t += INTERVAL
    s.on_timer(t)
    seq = s.on_send(t)
    s.on_reply(t + MS, seq, t, t, t)
    assert s.brownout_level > 0.0


def test_delayed_replies_do_not_flap_straight_back_up() -> None:
    # Replies stall for 100 ms and then all arrive: DOWN, then 10 fresh replies.
    s = HeartbeatSession()
    t = 0
    for _ in range(20):
        s.on_reply(t + MS, s.on_send(t), t, 0, 0)
        s.on_timer(t)
        t += INTERVAL
    assert s.status is Status.UP
    stalled = [(s.on_send(t + i * INTERVAL), t + i * INTERVAL) for i in range(5)]
    for i in range(5):
        s.on_timer(t + i * INTERVAL)
    assert s.status is Status.DOWN
    for seq, t1 in stalled:
        s.on_reply(t + 100 * MS, seq, t1, 0, 0)
    assert s.on_timer(t + 100 * MS) is None and s.status is Status.DOWN


# -- loss: the product's targets, as seeded simulations ------------------------------


@pytest.mark.parametrize("seed", range(20))
def test_ten_percent_loss_for_five_minutes_gives_no_false_down(seed: int) -> None:
    # Lossy from the very first probe, as when a benchmark starts with netem on.
    link = Link.new(seed)
    link.run(300, loss=0.10)
    assert [c.reason for c in link.downs_since(0)] == []
    assert link.session.status is Status.UP
    assert link.session.snapshot().loss == pytest.approx(0.10, abs=0.02)
    assert link.session.detect_multiplier_now >= 7  # the blackout detector adapted


def test_twenty_five_percent_loss_is_detected() -> None:
    """200 seeds from a clean, UP link; bounds are the CUSUM's honest tail."""
    delays = []
    for seed in range(200):
        link = up_link(seed)
        start = link.now
        change = link.run(15, loss=0.25, until=Status.DOWN)
        assert change is not None, f"seed {seed}: 25 % loss not detected in 15 s"
        # usually the CUSUM; sometimes an early run of losses looks like a blackout
        assert "brown-out" in change.reason or "blackout" in change.reason
        delays.append((change.at_ns - start) / S)
    # Measured with these seeds: max 6.4 s, median 2.42 s, 69/200 within 2 s.
    # The 2-s target itself is out of reach at 50 probes/s without false downs
    # at 10 % loss; this pins the achieved trade-off so a regression shows.
    assert max(delays) <= 8.0
    assert statistics.median(delays) <= 3.0
    assert sum(d <= 2.0 for d in delays) >= 0.25 * len(delays)


def test_heavy_loss_is_detected_fast() -> None:
    for seed in range(50):
        link = up_link(seed)
        start = link.now
        change = link.run(5, loss=0.5, until=Status.DOWN)
        assert change is not None and change.at_ns - start <= 2 * S


def test_brown_out_recovers_when_loss_stops() -> None:
    for seed in range(20):
        link = up_link(seed)
        assert link.run(30, loss=0.25, until=Status.DOWN)
        link.run(5, loss=0.25)  # a long brown-out pins the statistic at its cap
        assert link.session.brownout_level >= 0.5
        healed = link.now
        change = link.run(5, loss=0.0, until=Status.UP)
        assert change is not None, f"seed {seed}: stuck down after the loss stopped"
        # the CUSUM decays by ln(0.9/0.75) per reply: ~72 replies from the cap
        assert 10 * INTERVAL <= change.at_ns - healed <= 1.5 * S
        assert link.session.brownout_level == 0.0


def test_a_path_turning_lossy_stretches_the_blackout_run_at_once() -> None:
    # One loss on a clean path is evidence of random loss: a run of 3 shortly
    # after it must not be taken for a blackout (the fast loss average).
    link = up_link()
    assert link.session.detect_multiplier_now == 3
    link.tick(1.0)
    for _ in range(5):
        link.tick(0.0)
    assert link.session.detect_multiplier_now >= 6
    for _ in range(3):
        link.tick(1.0)
    link.run(1, 0.0)
    assert link.downs_since(0) == []


def test_adaptive_blackout_still_detects_a_blackout_on_a_lossy_path() -> None:
    link = Link.new(1)
    link.run(60, loss=0.10)
    k = link.session.detect_multiplier_now
    assert 7 <= k <= 9
    last_reply = link.last_reply
    assert last_reply is not None
    change = link.run(1, loss=1.0, until=Status.DOWN)
    assert change is not None and "blackout" in change.reason
    assert change.at_ns - last_reply <= (k + 1) * INTERVAL


# -- invariants under arbitrary event streams ---------------------------------------


events = st.lists(
    st.tuples(
        st.sampled_from(["send", "reply", "timer", "garbage"]),
        st.integers(0, 50 * MS),  # time step
        st.integers(0, 40),  # how far back the reply's sequence number is
        st.integers(-10 * MS, 10 * MS),  # reflector residence time (clock steps)
    ),
    max_size=300,
)


@settings(max_examples=200, deadline=None)
@given(events)
def test_arbitrary_event_streams_keep_the_invariants(stream: list[tuple[str, int, int, int]]) -> None:
    s = HeartbeatSession()
    now = 0
    sent: dict[int, int] = {}
    for kind, step, back, residence in stream:
        now += step
        if kind == "send":
            sent[s.on_send(now)] = now
        elif kind == "reply" and sent:
            seq = max(sent) - back
            sample = s.on_reply(now, seq, sent.get(seq, 0), 0, residence)
            if sample is not None:
                assert 0 <= sample.rtt_ns <= max(0, now - sent[seq])
        elif kind == "garbage":
            assert s.on_reply(now, 2**40 + back, 0, 0, 0) is None
        else:
            change = s.on_timer(now)
            if change:
                assert change.old is not change.new
        stats = s.snapshot()
        assert isinstance(stats, SessionStats)
        assert 0.0 <= stats.loss <= 1.0
        assert stats.received <= stats.sent
        assert 0.0 <= s.brownout_level <= 1.0
        assert 3 <= s.detect_multiplier_now <= 25


def test_the_backlog_a_returning_path_resolves_is_the_outages_not_random_loss():
    # Down for a blackout; traffic comes back before any reply (the ISP forwards again), which
    # clears the blackout state; then the first reply resolves every probe sent meanwhile. Those
    # losses are the outage's: counted as random loss they stretched the blackout run length
    # (k 3 -> 11 at 100 ms in the lab) and with it the next detect time.
    cfg = HeartbeatConfig(interval_ms=100, detect_multiplier=3, recover_count=10, brownout=False,
                          max_detect_multiplier=25)
    s = HeartbeatSession(cfg)
    now, ms = 0, 1_000_000
    for _ in range(20):  # up
        seq = s.on_send(now)
        s.on_reply(now + ms, seq, now, 0, 0)
        now += 100 * ms
        s.on_timer(now)
    assert s.status is Status.UP
    for _ in range(8):  # silence: down after 3 intervals
        s.on_send(now)
        now += 100 * ms
        s.on_timer(now)
    assert s.status is Status.DOWN
    s.on_traffic(now)
    s.on_timer(now + ms)  # traffic: no longer silent
    seq = s.on_send(now + 2 * ms)
    s.on_reply(now + 3 * ms, seq, now + 2 * ms, 0, 0)  # resolves the 8 unanswered probes
    assert s.detect_multiplier_now == 3
