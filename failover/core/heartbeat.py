"""Per-candidate heartbeat session: RTT, jitter, loss and an up/down verdict.

Pure logic in the style of h11: the asyncio shell sends a STAMP probe every
``interval_ms`` (calling :meth:`HeartbeatSession.on_send`), feeds replies to
:meth:`~HeartbeatSession.on_reply` and calls :meth:`~HeartbeatSession.on_timer`
at least once per interval. Time is integer nanoseconds from one clock chosen
by the caller; nothing here reads a clock.

Two detectors decide DOWN, one decides UP:

* **Blackout** (BFD): no reply for ``k × interval``. ``k`` is
  ``detect_multiplier`` on a clean path; on a lossy path it grows so that a run
  of *random* losses is not mistaken for a blackout: ``k`` is the smallest run
  length with probability ``p̂**k <= blackout_false_rate``, ``p̂`` being the
  path's recent random-loss rate. Plain BFD with k = 3 at 20 ms would call
  ~13 false blackouts per 5 minutes of 10 % random loss (0.1**3 × 15000 probes).
* **Brown-out**: a Bernoulli CUSUM (Page's test) on per-probe loss, the
  log-likelihood ratio of "loss = ``brownout_loss``" (p1) against "loss =
  ``tolerable_loss``" (p0). A lost probe adds ``ln(p1/p0)``, a reply adds
  ``ln((1-p1)/(1-p0))`` (negative); the sum is kept in ``[0, h]`` and the
  alarm fires at ``h``. CUSUM is the fastest detector for a given false-alarm
  rate (Lorden's optimality), and its clamp at ``h`` bounds recovery time.
* **Recovery**: ``recover_count`` consecutive replies, no blackout, and the
  CUSUM back at zero (the brown-out evidence fully decayed: hysteresis).

Late is not lost. A shell that can see other traffic on the path (the WAN
path check: the WAN's receive counter) reports it with
:meth:`HeartbeatSession.on_traffic`; the blackout detector then waits while
traffic still comes in, up to ``reply_timeout_ms`` without a reply
(:func:`failover.core.silence.is_silent`). A reply is matched to its probe by
sequence number whenever it comes within ``reply_timeout_ms``; one that came
after the blackout detect time is counted ``late`` (never lost).

Default brown-out parameters: p0 = 0.10, p1 = 0.25 (the two loss rates that
must be told apart) and h = 13, chosen so that 10 % loss practically never
alarms: at 50 probes/s the CUSUM's mean time to a false alarm at 10 % loss is
~10**7 probes (≈ 0.15 % chance per 5 minutes), and 25 % loss is detected in
≈ 2.5 s median, ≈ 6.5 s at the 99th percentile (simulated; the tests replay
seeded runs). Detecting 25 % within 2 s *and* never alarming at 10 % is not
possible at 50 probes/s: 100 probes carry ~9 nats of evidence for 25 % over
10 % (KL ≈ 0.092 nat/probe) while a false-alarm time of 10**7 probes needs
~13. A lower h trades one target for the other (h = 8: 74 % detected within
2 s, but a false alarm in 21 % of 5-minute runs at 10 %); a 5 ms interval with
h = 14 meets both (25 % within 2 s in 99 % of runs, 0.15 % false per 5 min).

The first loss run on a path that was clean is indistinguishable from a
blackout (BFD semantics), so a path that turns 10 %-lossy is wrongly called
down with probability 0.1**2 = 1 % (a first run of 3 losses) before the
multiplier has adapted; afterwards k is 7-8 at 10 % loss.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from .silence import is_silent

__all__ = [
    "HeartbeatConfig",
    "HeartbeatSession",
    "Sample",
    "SessionStats",
    "Status",
    "StatusChange",
]

_MS = 1_000_000
_SEQ_MASK = 0xFFFF_FFFF

# RFC 6298 smoothing gain for the RTT average, RFC 3550 §6.4.1 gain for jitter.
_RTT_GAIN = 8
_JITTER_GAIN = 16
# Gain of the fast loss-rate average used to size the blackout run length:
# reacts within a few losses when a path turns lossy, before the long window
# has seen enough of them.
_FAST_LOSS_GAIN = 1 / 16

# Outcomes in the long-window ring.
_RECEIVED, _LOST, _LOST_IN_BLACKOUT = 0, 1, 2


class Status(enum.Enum):
    UNKNOWN = "unknown"
    UP = "up"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class HeartbeatConfig:
    """Knobs for one session; the first three are the ``[heartbeat]`` config."""

    interval_ms: int = 20
    #: Blackout detect time in intervals on a clean path (BFD's Detect Mult).
    detect_multiplier: int = 3
    #: Consecutive replies needed to (re)declare UP.
    recover_count: int = 10
    #: A probe with no reply after this long is lost, and a later reply ignored.
    reply_timeout_ms: int = 1000
    #: Window of the loss ratio reported by :meth:`HeartbeatSession.snapshot`.
    loss_window_ms: int = 30_000
    #: p0: loss the path may have without being called down.
    tolerable_loss: float = 0.10
    #: p1: loss that is a brown-out and must be detected.
    brownout_loss: float = 0.25
    #: h: CUSUM alarm threshold in nats (see the module docstring).
    brownout_threshold: float = 13.0
    #: Judge brown-outs at all; off, losses only size the blackout run length (the path check's
    #: ICMP targets: a public host's echo loss says little about the path).
    brownout: bool = True
    #: Accepted probability that a run of random losses looks like a blackout.
    blackout_false_rate: float = 1e-8
    #: Upper bound of the adaptive blackout multiplier, so a very lossy path
    #: still has a finite blackout detect time.
    max_detect_multiplier: int = 25
    #: The echoed sender timestamp must match the send time within this many
    #: ns (None: do not check); a mismatch means a reply to another incarnation
    #: of that sequence number. 1 µs absorbs the NTP round trip (< 1 ns).
    t1_tolerance_ns: int | None = 1_000

    def __post_init__(self) -> None:
        def need(ok: bool, what: str) -> None:
            if not ok:
                raise ValueError(f"heartbeat config: {what}")

        need(self.interval_ms > 0, f"interval_ms must be > 0, got {self.interval_ms}")
        need(self.detect_multiplier >= 1, f"detect_multiplier must be >= 1, got {self.detect_multiplier}")
        need(self.recover_count >= 1, f"recover_count must be >= 1, got {self.recover_count}")
        need(self.reply_timeout_ms > 0, f"reply_timeout_ms must be > 0, got {self.reply_timeout_ms}")
        need(self.loss_window_ms >= self.interval_ms, "loss_window_ms must be >= interval_ms")
        need(0 < self.tolerable_loss < self.brownout_loss < 1,
             "need 0 < tolerable_loss < brownout_loss < 1, got "
             f"{self.tolerable_loss} and {self.brownout_loss}")
        need(self.brownout_threshold > 0, f"brownout_threshold must be > 0, got {self.brownout_threshold}")
        need(0 < self.blackout_false_rate < 1, "blackout_false_rate must be in (0, 1)")
        need(self.max_detect_multiplier >= self.detect_multiplier,
             "max_detect_multiplier must be >= detect_multiplier")
        need(self.t1_tolerance_ns is None or self.t1_tolerance_ns >= 0, "t1_tolerance_ns must be >= 0")


@dataclass(frozen=True, slots=True)
class Sample:
    """One accepted reply. All times in ns."""

    sequence: int
    rtt_ns: int
    srtt_ns: int
    jitter_ns: int


@dataclass(frozen=True, slots=True)
class StatusChange:
    old: Status
    new: Status
    reason: str
    at_ns: int


@dataclass(frozen=True, slots=True)
class SessionStats:
    """Read-only view for the API. ``loss`` is over the long window (0..1)."""

    status: Status
    rtt_ms: float | None
    jitter_ms: float | None
    loss: float
    sent: int
    received: int
    last_rtt_ms: float | None
    #: Replies that came after the blackout detect time (counted received, not lost).
    late: int = 0


class HeartbeatSession:
    """Statistics and verdict for the probes sent to one candidate.

    Memory is bounded by two rings sized from the config; every event is O(1)
    amortised (each probe is resolved exactly once).
    """

    def __init__(self, config: HeartbeatConfig | None = None) -> None:
        cfg = self.config = config or HeartbeatConfig()
        self._interval_ns = cfg.interval_ms * _MS
        self._timeout_ns = cfg.reply_timeout_ms * _MS

        # In-flight probes are always the contiguous range [_oldest, _next_seq):
        # a reply resolves everything before it, a timeout the oldest first.
        # Ring slots hold their send times; the size is a power of two so that
        # ``seq & mask`` stays consistent across the 2**32 wrap.
        in_flight = -(-cfg.reply_timeout_ms // cfg.interval_ms)
        self._ring_mask = (1 << max(6, (2 * in_flight + 8).bit_length())) - 1
        self._t1 = [0] * (self._ring_mask + 1)
        self._next_seq = 0
        self._oldest = 0

        # Long window of resolved outcomes: one byte per probe.
        self._window = bytearray(max(1, cfg.loss_window_ms // cfg.interval_ms))
        self._window_pos = 0
        self._window_filled = 0
        self._window_lost = 0
        self._window_blackout = 0

        # Brown-out CUSUM.
        self._llr_lost = math.log(cfg.brownout_loss / cfg.tolerable_loss)
        self._llr_received = math.log((1 - cfg.brownout_loss) / (1 - cfg.tolerable_loss))
        self._cusum = 0.0
        self._brownout = False

        # Blackout detector.
        self._fast_loss = 0.0
        self._in_blackout = False
        self._first_send_ns: int | None = None
        self._last_reply_ns: int | None = None
        self._last_traffic_ns: int | None = None
        # Probes sent after the one the last reply answered (or since the first): silence counts
        # only for probes that were sent, so a sender that stalled is not taken for a dead path.
        self._sent_since_reply = 0
        self._run = 0  # consecutive replies since the last loss
        # The first probe sent after the session was last declared up again: probes before it
        # that are found lost later belong to the outage just ended, not to a brown-out.
        self._outage_end_seq: int | None = None
        # Down for silence (its own blackout verdict, or declare_down) and not up again: every
        # probe found lost meanwhile is the outage's, even once traffic or a first reply came back
        # (the backlog a returning path resolves is not evidence of a lossy one).
        self._silent_down = False

        # RTT statistics (ns ints keep them deterministic).
        self._srtt: int | None = None
        self._jitter: int | None = None
        self._last_rtt: int | None = None

        self.status = Status.UNKNOWN
        self.sent = 0
        self.received = 0
        self.ignored = 0  # duplicate, stale, unknown or mismatched replies
        self.late = 0  # replies after the blackout detect time

    # -- events --------------------------------------------------------------

    def on_send(self, now_ns: int) -> int:
        """Allocate the next sequence number for a probe sent at ``now_ns`` (T1).

        The probe's STAMP Timestamp must carry this same ``now_ns``.
        """
        self._expire(now_ns)
        if self._in_flight() > self._ring_mask:
            # Sending faster than replies time out: the oldest slot is needed.
            self._resolve_oldest_lost()
        seq = self._next_seq
        self._t1[seq & self._ring_mask] = now_ns
        self._next_seq = (seq + 1) & _SEQ_MASK
        self.sent += 1
        self._sent_since_reply += 1
        if self._first_send_ns is None:
            self._first_send_ns = now_ns
        return seq

    def on_traffic(self, now_ns: int) -> None:
        """The path received something other than a reply at ``now_ns`` (the
        shell saw its receive counter move): evidence it is slow, not silent."""
        if self._last_traffic_ns is None or now_ns > self._last_traffic_ns:
            self._last_traffic_ns = now_ns

    def on_reply(self, now_ns: int, seq: int, t1_ns: int, t2_ns: int, t3_ns: int) -> Sample | None:
        """Account a reply received at ``now_ns`` (T4); None if it is ignored.

        ``t1_ns`` is the echoed sender timestamp, ``t2_ns``/``t3_ns`` the
        reflector's receive/send times. Ignored: duplicates, sequence numbers
        never sent or already resolved (a reply overtaken by a later one was
        counted lost when the later one came: on a LAN reordering is rare and
        waiting for the timeout would slow loss detection by a second), replies
        later than ``reply_timeout_ms``, and echoes that do not match T1.
        """
        self._expire(now_ns)
        if not 0 <= seq <= _SEQ_MASK or (seq - self._oldest) & _SEQ_MASK >= self._in_flight():
            self.ignored += 1
            return None
        t1 = self._t1[seq & self._ring_mask]
        tolerance = self.config.t1_tolerance_ns
        if tolerance is not None and abs(t1_ns - t1) > tolerance:
            self.ignored += 1
            return None

        while self._oldest != seq:  # everything sent before seq went unanswered
            self._resolve_oldest_lost()
        self._oldest = (seq + 1) & _SEQ_MASK
        self._sent_since_reply = (self._next_seq - self._oldest) & _SEQ_MASK
        self._record(_RECEIVED)
        self._observe(lost=False)
        self._run += 1
        self.received += 1
        self._last_reply_ns = now_ns

        # RTT = (T4 - T1) - (T3 - T2), measured with our own T1. It cannot be
        # negative nor exceed the time we waited; outside that range one of the
        # clocks stepped, so clamp rather than poison the averages.
        waited = now_ns - t1
        if waited >= self.detect_multiplier_now * self._interval_ns:
            self.late += 1
        rtt = min(max(waited - (t3_ns - t2_ns), 0), max(waited, 0))
        if self._srtt is None:
            self._srtt, self._jitter = rtt, 0
        else:
            assert self._jitter is not None and self._last_rtt is not None
            self._srtt += (rtt - self._srtt) // _RTT_GAIN
            self._jitter += (abs(rtt - self._last_rtt) - self._jitter) // _JITTER_GAIN
        self._last_rtt = rtt
        return Sample(seq, rtt, self._srtt, self._jitter)

    def on_timer(self, now_ns: int) -> StatusChange | None:
        """Re-evaluate the verdict; call at least once per interval."""
        self._expire(now_ns)
        reference = self._last_reply_ns if self._last_reply_ns is not None else self._first_send_ns
        if reference is None:
            return None  # nothing sent yet: no evidence either way
        k = self.detect_multiplier_now
        silent_ns = now_ns - reference
        # The silence must also span probes that were actually sent: after a stall of our own
        # sender (a busy host) the silence is ours, and the verdict waits for k - 1 fresh
        # unanswered probes (as many as the detect time holds after the last reply when the
        # timer runs before each send) — delayed, never suppressed. Without a stall the probe
        # count is always reached by the time the silence is.
        self._in_blackout = is_silent(now_ns, reference, self._last_traffic_ns, k * self._interval_ns,
                                      self._timeout_ns) and self._sent_since_reply >= max(1, k - 1)

        if self.status is not Status.DOWN:
            if self._in_blackout:
                since = "last reply" if self._last_reply_ns is not None else "first probe"
                traffic = ""
                if self._last_traffic_ns is not None:
                    quiet_ns = now_ns - self._last_traffic_ns
                    traffic = (f", nothing received for {quiet_ns / _MS:.1f} ms" if quiet_ns >= k * self._interval_ns
                               else f", though traffic came in {quiet_ns / _MS:.1f} ms ago (reply timeout "
                                    f"{self.config.reply_timeout_ms} ms)")
                self._silent_down = True
                return self._change(
                    Status.DOWN, now_ns,
                    f"blackout: no reply for {silent_ns / _MS:.1f} ms since the {since}{traffic} "
                    f"(detect time {k} x {self.config.interval_ms} ms)",
                )
            if self._brownout:
                return self._change(
                    Status.DOWN, now_ns,
                    f"brown-out: loss CUSUM reached {self._cusum:.1f} "
                    f"(threshold {self.config.brownout_threshold:g}, "
                    f"p0={self.config.tolerable_loss:g} p1={self.config.brownout_loss:g}), "
                    f"loss {self.loss:.1%} over the window",
                )
        if (
            self.status is not Status.UP
            and not self._in_blackout
            # the brown-out evidence fully decayed (the docstring's hysteresis), not only below
            # the alarm: a path declared up with the CUSUM near h goes down again at its next loss
            and self._cusum <= 0.0
            and self._run >= self.config.recover_count
        ):
            return self._change(
                Status.UP, now_ns,
                f"{self._run} consecutive replies (recover count {self.config.recover_count}), "
                f"loss {self.loss:.1%} over the window",
            )
        return None

    def declare_down(self, now_ns: int, reason: str) -> StatusChange | None:
        """Down on evidence from outside the session (the path check's confirmation burst found
        the target silent before its own detect time); None if it is down already. Recovery is
        then the usual one: ``recover_count`` fresh replies."""
        if self.status is Status.DOWN:
            return None
        # Silence, not loss: what it does not answer from now on is the outage's, not evidence of
        # a lossy path (which would stretch its blackout run length, and the next burst, each time).
        self._silent_down = True
        return self._change(Status.DOWN, now_ns, reason)

    # -- read-only views -----------------------------------------------------

    def snapshot(self) -> SessionStats:
        return SessionStats(
            status=self.status,
            rtt_ms=None if self._srtt is None else self._srtt / _MS,
            jitter_ms=None if self._jitter is None else self._jitter / _MS,
            loss=self.loss,
            sent=self.sent,
            received=self.received,
            last_rtt_ms=None if self._last_rtt is None else self._last_rtt / _MS,
            late=self.late,
        )

    @property
    def loss(self) -> float:
        """Lost share of the probes resolved in the long window (0 if none)."""
        return self._window_lost / self._window_filled if self._window_filled else 0.0

    @property
    def brownout_level(self) -> float:
        """CUSUM statistic as a fraction of the alarm threshold (0..1)."""
        return self._cusum / self.config.brownout_threshold

    @property
    def detect_multiplier_now(self) -> int:
        """Blackout run length (in intervals) currently in force."""
        cfg = self.config
        p = self._random_loss_rate()
        if p <= 0.0:
            return cfg.detect_multiplier
        if p >= 1.0:
            return cfg.max_detect_multiplier
        # Smallest k with p**k <= blackout_false_rate; the epsilon keeps an
        # exact power (e.g. 0.1**8 vs 1e-8) from rounding up one step.
        k = math.ceil(math.log(cfg.blackout_false_rate) / math.log(p) - 1e-9)
        return min(max(k, cfg.detect_multiplier), cfg.max_detect_multiplier)

    # -- internals -----------------------------------------------------------

    def _in_flight(self) -> int:
        return (self._next_seq - self._oldest) & _SEQ_MASK

    def _expire(self, now_ns: int) -> None:
        """Resolve as lost every probe whose reply is overdue."""
        while self._in_flight() and now_ns - self._t1[self._oldest & self._ring_mask] >= self._timeout_ns:
            self._resolve_oldest_lost()

    def _resolve_oldest_lost(self) -> None:
        seq = self._oldest
        self._oldest = (seq + 1) & _SEQ_MASK
        self._run = 0
        if self._in_blackout or self._silent_down or self._sent_during_outage(seq):
            # Part of a blackout, already handled by that detector. Counting it
            # as random loss would push the brown-out statistic to its cap and
            # stretch the next blackout detect time. The same holds for a probe
            # sent before the path was declared up again and found lost only
            # after that (a backlog dropped as the path came back): it would
            # send a path that just recovered straight back down, a second flap.
            self._record(_LOST_IN_BLACKOUT)
            return
        self._record(_LOST)
        self._observe(lost=True)

    def _observe(self, *, lost: bool) -> None:
        """Feed one random-loss outcome to the CUSUM and the fast loss average."""
        h = self.config.brownout_threshold
        if not self.config.brownout:
            self._fast_loss += ((1.0 if lost else 0.0) - self._fast_loss) * _FAST_LOSS_GAIN
            return
        if lost:
            self._cusum = min(h, self._cusum + self._llr_lost)
            self._brownout = self._brownout or self._cusum >= h
            self._fast_loss += (1.0 - self._fast_loss) * _FAST_LOSS_GAIN
        else:
            self._cusum = max(0.0, self._cusum + self._llr_received)
            # The verdict is latched until the evidence has fully decayed.
            self._brownout = self._brownout and self._cusum > 0.0
            self._fast_loss -= self._fast_loss * _FAST_LOSS_GAIN

    def _record(self, outcome: int) -> None:
        window = self._window
        pos = self._window_pos
        if self._window_filled == len(window):
            old = window[pos]
            self._window_lost -= old != _RECEIVED
            self._window_blackout -= old == _LOST_IN_BLACKOUT
        else:
            self._window_filled += 1
        window[pos] = outcome
        self._window_lost += outcome != _RECEIVED
        self._window_blackout += outcome == _LOST_IN_BLACKOUT
        self._window_pos = (pos + 1) % len(window)

    def _random_loss_rate(self) -> float:
        """Recent random (non-blackout) loss: the larger of the fast average
        and the long-window ratio, so that it rises fast and falls slowly."""
        counted = self._window_filled - self._window_blackout
        long = (self._window_lost - self._window_blackout) / counted if counted else 0.0
        return max(self._fast_loss, long)

    def _sent_during_outage(self, seq: int) -> bool:
        end = self._outage_end_seq
        if end is None:
            return False
        if 0 < (end - seq) & _SEQ_MASK <= self._ring_mask:  # sent before the boundary
            return True
        self._outage_end_seq = None  # the boundary is reached: later losses count again
        return False

    def _change(self, new: Status, now_ns: int, reason: str) -> StatusChange:
        old, self.status = self.status, new
        if new is Status.DOWN:
            self._run = 0  # recovery needs recover_count fresh replies
        elif old is Status.DOWN:
            self._outage_end_seq = self._next_seq
            self._silent_down = False
        return StatusChange(old, new, reason, now_ns)
