"""The WAN path verdict from several probe targets: a quorum, target faults, confirmation bursts.

The path is up while at least ``reliability`` targets are up (mwan3's ``track_ip`` +
``reliability``). Each target keeps its own heartbeat session and verdict
(:mod:`failover.core.targets`); this module schedules their probes, gathers their verdicts and
decides the path's:

* A target that goes down while the quorum still answers is a **target fault**: reported with its
  reason, never a failover.
* When a target goes down while the path is up, every other target still counted up is asked at
  once with a short burst (:mod:`failover.core.burst`) instead of at its next interval, and the
  path verdict waits for that confirmation: peers that stay silent are declared down with the
  burst's evidence, and the quorum is counted again. A silent blackout is then detected at the pace
  of the fastest target plus one confirmation round trip.
* Without enough targets up the path is down at once: the burst can only take targets away.

Before the first verdicts the path has none (``up`` is None): it is up as soon as ``reliability``
targets are, down as soon as too many are down for the rest to make a quorum.

Pure, sans-I/O: the shell asks :meth:`PathVerdict.probes_due` whom to probe now, reports each send
(:meth:`~PathVerdict.on_send`), reply (:meth:`~PathVerdict.on_reply`), ICMP error
(:meth:`~PathVerdict.on_error`) and the WAN's receive traffic (:meth:`~PathVerdict.on_traffic`),
calls :meth:`~PathVerdict.on_timer` and sleeps until :meth:`~PathVerdict.next_wake_ns`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .burst import BurstConfig, Confirmation, PeerProbe
from .heartbeat import HeartbeatSession, Sample, SessionStats, Status, StatusChange
from .targets import PathTiming, TargetSpec, target_heartbeat_config

__all__ = [
    "PathChange",
    "PathVerdict",
    "TargetChange",
    "TargetFault",
    "TargetView",
    "default_reliability",
]

_MS = 1_000_000
#: Longest sleep between two evaluations: a target's detect time is checked at least this often,
#: not only when the next probe (100 ms away for an ICMP target) is due.
TICK_MS = 10


def default_reliability(targets: int) -> int:
    """1 with one target, else a majority."""
    return 1 if targets <= 1 else targets // 2 + 1


@dataclass(frozen=True, slots=True)
class TargetChange:
    """A target's own verdict moved."""

    target: TargetSpec
    change: StatusChange


@dataclass(frozen=True, slots=True)
class TargetFault:
    """A target went down while the quorum still answers: logged, never a failover."""

    target: TargetSpec
    reason: str
    at_ns: int


@dataclass(frozen=True, slots=True)
class PathChange:
    up: bool
    reason: str
    at_ns: int


Event = TargetChange | TargetFault | PathChange


@dataclass(frozen=True, slots=True)
class TargetView:
    """One target as the API shows it."""

    spec: TargetSpec
    stats: SessionStats
    #: ICMP errors (unreachable, TTL exceeded) quoting our probes to it, and the last one.
    errors: int
    last_error: str
    #: Why its verdict last moved ("" before it did).
    reason: str
    #: How often it went down while the path stayed up.
    faults: int


@dataclass(slots=True)
class _Target:
    spec: TargetSpec
    session: HeartbeatSession
    next_send_ns: int | None = None
    errors: int = 0
    last_error: str = ""
    reason: str = ""
    faults: int = 0


class PathVerdict:
    """The targets' sessions, their schedule and the path's verdict."""

    def __init__(self, specs: Iterable[TargetSpec], timing: PathTiming, reliability: int | None = None,
                 burst: BurstConfig | None = BurstConfig()) -> None:
        """``burst=None`` turns the confirmation burst off: the path then waits for each target's
        own verdict (the behaviour of mwan3 and dpinger)."""
        specs = tuple(specs)
        if not specs:
            raise ValueError("path verdict: no targets")
        if len({s.address for s in specs}) != len(specs):
            raise ValueError("path verdict: target addresses must be distinct")
        self.reliability = default_reliability(len(specs)) if reliability is None else reliability
        if not 1 <= self.reliability <= len(specs):
            raise ValueError(f"path verdict: reliability {self.reliability} outside 1..{len(specs)}")
        self.burst = burst
        self._targets = {s.address: _Target(s, HeartbeatSession(target_heartbeat_config(s, timing)))
                         for s in specs}
        self.up: bool | None = None
        self.reason = "no verdict yet"
        self.round: Confirmation | None = None
        #: Targets that went down and are not yet known to be faults or part of a path outage.
        self._unjudged: list[tuple[_Target, str, int]] = []
        #: Confirmation rounds started, and peers they declared down (for /metrics).
        self.rounds = 0
        self.confirmed_silent = 0

    # -- views ---------------------------------------------------------------------------------

    @property
    def specs(self) -> tuple[TargetSpec, ...]:
        return tuple(t.spec for t in self._targets.values())

    def __contains__(self, address: str) -> bool:
        return address in self._targets

    def session(self, address: str) -> HeartbeatSession:
        return self._targets[address].session

    def views(self) -> list[TargetView]:
        return [TargetView(t.spec, t.session.snapshot(), t.errors, t.last_error, t.reason, t.faults)
                for t in self._targets.values()]

    def count_up(self) -> int:
        return sum(t.session.status is Status.UP for t in self._targets.values())

    # -- schedule ------------------------------------------------------------------------------

    def probes_due(self, now_ns: int) -> list[str]:
        """Targets to probe now (their interval is up, or a burst asks); send each, then
        :meth:`on_send`. A target can appear once per call."""
        due: list[str] = []
        n = len(self._targets)
        for i, t in enumerate(self._targets.values()):
            interval_ns = t.spec.interval_ms * _MS
            if t.next_send_ns is None:
                # Spread the first probes over the interval so slow targets do not all probe
                # (and time out) in the same instant.
                t.next_send_ns = now_ns + i * interval_ns // n
            if t.next_send_ns <= now_ns:
                due.append(t.spec.address)
                t.next_send_ns += interval_ns
                if t.next_send_ns <= now_ns:  # late by more than an interval: no catch-up burst
                    t.next_send_ns = now_ns + interval_ns
        if self.round is not None:
            due += [a for a in self.round.due(now_ns) if a not in due]
        return due

    def next_wake_ns(self, now_ns: int) -> int:
        """When to call :meth:`on_timer` and :meth:`probes_due` next."""
        times = [now_ns + TICK_MS * _MS]
        times += [t.next_send_ns for t in self._targets.values() if t.next_send_ns is not None]
        if self.round is not None and (at := self.round.next_wake_ns()) is not None:
            times.append(at)
        return max(now_ns, min(times))

    # -- evidence ------------------------------------------------------------------------------

    def on_send(self, address: str, now_ns: int) -> int:
        """A probe to ``address`` is sent at ``now_ns`` (T1): its sequence number."""
        return self._targets[address].session.on_send(now_ns)

    def on_reply(self, address: str, now_ns: int, seq: int, t1_ns: int, t2_ns: int = 0,
                 t3_ns: int = 0) -> Sample | None:
        """A reply from ``address`` received at ``now_ns`` (T4); None if the session ignored it."""
        target = self._targets.get(address)
        if target is None:
            return None
        sample = target.session.on_reply(now_ns, seq, t1_ns, t2_ns, t3_ns)
        if sample is not None and self.round is not None:
            self.round.on_reply(address, t1_ns)
        return sample

    def on_error(self, address: str, reason: str) -> None:
        """An ICMP error quoting a probe to ``address``: that probe was not answered and will not
        be (its timeout counts it lost, never a reply); counted, and kept as its last error. The
        verdicts do not read it, so a replay without the errors decides the same."""
        target = self._targets.get(address)
        if target is not None:
            target.errors += 1
            target.last_error = reason

    def on_traffic(self, now_ns: int) -> None:
        """The WAN received something at ``now_ns``: the path is slow, not silent."""
        for t in self._targets.values():
            t.session.on_traffic(now_ns)

    # -- verdicts ------------------------------------------------------------------------------

    def on_timer(self, now_ns: int) -> list[Event]:
        """Re-evaluate every target, the running confirmation and the path; call at every wake."""
        events: list[Event] = []
        for t in self._targets.values():
            change = t.session.on_timer(now_ns)
            if change is not None:
                self._changed(t, change, now_ns, events)
        if self.round is not None and self.round.done(now_ns):
            finished, self.round = self.round, None
            for address in finished.silent(now_ns):
                t = self._targets[address]
                change = t.session.declare_down(now_ns, f"confirmation burst: {finished.describe(address)}")
                if change is not None:
                    self.confirmed_silent += 1
                    self._changed(t, change, now_ns, events)
        self._decide(now_ns, events)
        return events

    def _changed(self, t: _Target, change: StatusChange, now_ns: int, events: list[Event]) -> None:
        t.reason = change.reason
        events.append(TargetChange(t.spec, change))
        if self.round is not None:
            self.round.forget(t.spec.address)
        if change.new is not Status.DOWN:
            return
        self._unjudged.append((t, change.reason, now_ns))
        if self.burst is not None and self.round is None and self.up is not False and change.old is Status.UP:
            peers = [PeerProbe.plan(p.spec.address, p.session.detect_multiplier_now, s.rtt_ms, s.jitter_ms,
                                    self.burst)
                     for p in self._targets.values()
                     if p is not t and p.session.status is Status.UP
                     for s in (p.session.snapshot(),)]
            if peers:
                self.round = Confirmation.start(now_ns, t.spec.address, peers, self.burst)
                self.rounds += 1

    def _decide(self, now_ns: int, events: list[Event]) -> None:
        targets = self._targets.values()
        up = self.count_up()
        down = sum(t.session.status is Status.DOWN for t in targets)
        if self.up is not False and (up < self.reliability if self.up else down > len(targets) - self.reliability):
            self._set(False, now_ns, events)
        elif self.up is not True and up >= self.reliability and self.round is None:
            self._set(True, now_ns, events)
        if self.round is None and self._unjudged:
            if self.up:
                for t, reason, at_ns in self._unjudged:
                    if t.session.status is Status.DOWN:
                        t.faults += 1
                        events.append(TargetFault(t.spec, reason, at_ns))
            self._unjudged.clear()

    def _set(self, up: bool, now_ns: int, events: list[Event]) -> None:
        self.up = up
        if not up:
            self.round = None  # nothing left to confirm: the path is down
        parts = []
        for t in self._targets.values():
            status = t.session.status.value
            parts.append(f"{t.spec.kind} {t.spec.address} {status}"
                         + (f" ({t.reason})" if t.reason and status != "up" else ""))
        self.reason = (f"{self.count_up()} of {len(self._targets)} targets up "
                       f"(reliability {self.reliability}): " + "; ".join(parts))
        events.append(PathChange(up, self.reason, now_ns))
