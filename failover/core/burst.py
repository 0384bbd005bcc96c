"""The confirmation burst: when one target goes silent, ask the others at once.

Targets are probed at their own pace (a public ICMP host every 100 ms, a STAMP reflector every
5 ms). When one of them is declared down, the path verdict must not wait for the others' own
schedules to learn whether the whole path is dead: every other target still counted up gets a short
burst of probes now, a few milliseconds apart, and the verdict follows their answers. A silent
blackout is then detected at the pace of the fastest target plus one confirmation round trip; a
single dead target costs its peers a few extra probes, never a failover.

How many probes a peer gets: as many as its own blackout rule needs in a row (its current detect
multiplier, :attr:`HeartbeatSession.detect_multiplier_now`). A clean peer gets a few (3); a lossy
one as many as its own verdict would want before calling it silent (a peer losing 30 % of its
probes gets ~16), so the burst is never quicker to call a peer silent than the peer's own rule is,
only quicker in time. How long to wait after the last probe: twice the peer's smoothed RTT plus
four times its jitter (TCP's RTO shape), at least ``min_wait_ms``.

A peer is confirmed when it answers any probe sent since the round started (its T1 is at or after
the start: a reply already in flight before says nothing about now); it is silent when its wait is
over without such a reply. Pure: the caller sends, feeds replies and reads the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["BurstConfig", "Confirmation", "PeerProbe"]

_MS = 1_000_000


@dataclass(frozen=True, slots=True)
class BurstConfig:
    #: Gap between two burst probes to one peer.
    spacing_ms: int = 5
    #: Wait at least this long for a reply after a peer's last burst probe.
    min_wait_ms: int = 5

    def __post_init__(self) -> None:
        if self.spacing_ms < 1 or self.min_wait_ms < 1:
            raise ValueError("burst: spacing_ms and min_wait_ms must be >= 1")


@dataclass(frozen=True, slots=True)
class PeerProbe:
    """What one peer is asked in a round."""

    address: str
    probes: int
    #: Wait for its reply this long after its last burst probe.
    wait_ns: int

    @staticmethod
    def plan(address: str, probes: int, srtt_ms: float | None, jitter_ms: float | None,
             config: BurstConfig) -> PeerProbe:
        wait_ms = float(config.min_wait_ms)
        if srtt_ms is not None:
            wait_ms = max(wait_ms, 2 * srtt_ms + 4 * (jitter_ms or 0.0))
        return PeerProbe(address, max(1, probes), int(wait_ms * _MS))


@dataclass(slots=True)
class _Peer:
    plan: PeerProbe
    sent: int = 0
    answered: bool = False


@dataclass(slots=True)
class Confirmation:
    """One round: started at ``started_ns`` because ``trigger`` went down; ``peers`` are asked."""

    started_ns: int
    trigger: str
    config: BurstConfig
    _peers: dict[str, _Peer] = field(default_factory=dict)

    @classmethod
    def start(cls, now_ns: int, trigger: str, peers: list[PeerProbe], config: BurstConfig) -> Confirmation:
        round_ = cls(now_ns, trigger, config)
        round_._peers = {p.address: _Peer(p) for p in peers}
        return round_

    @property
    def peers(self) -> tuple[str, ...]:
        return tuple(self._peers)

    def _next_send_ns(self, peer: _Peer) -> int | None:
        if peer.answered or peer.sent >= peer.plan.probes:
            return None
        return self.started_ns + peer.sent * self.config.spacing_ms * _MS

    def _deadline_ns(self, peer: _Peer) -> int:
        return self.started_ns + (peer.plan.probes - 1) * self.config.spacing_ms * _MS + peer.plan.wait_ns

    def due(self, now_ns: int) -> list[str]:
        """Peers owed a burst probe at ``now_ns``; each is counted sent (send it now)."""
        out = []
        for address, peer in self._peers.items():
            at = self._next_send_ns(peer)
            if at is not None and at <= now_ns:
                peer.sent += 1
                out.append(address)
        return out

    def on_reply(self, address: str, t1_ns: int) -> None:
        """``address`` answered a probe sent at ``t1_ns``."""
        peer = self._peers.get(address)
        if peer is not None and t1_ns >= self.started_ns:
            peer.answered = True

    def forget(self, address: str) -> None:
        """``address`` is no longer a peer to confirm (it went down on its own, or was removed)."""
        self._peers.pop(address, None)

    def next_wake_ns(self) -> int | None:
        """When something is next due: a burst probe, or a peer's deadline."""
        times = []
        for peer in self._peers.values():
            if peer.answered:
                continue
            at = self._next_send_ns(peer)
            times.append(at if at is not None else self._deadline_ns(peer))
        return min(times, default=None)

    def done(self, now_ns: int) -> bool:
        """Every peer answered or waited out."""
        return all(p.answered or now_ns >= self._deadline_ns(p) for p in self._peers.values())

    @property
    def answered(self) -> tuple[str, ...]:
        return tuple(a for a, p in self._peers.items() if p.answered)

    def silent(self, now_ns: int) -> tuple[str, ...]:
        """Peers that did not answer and whose wait is over."""
        return tuple(a for a, p in self._peers.items() if not p.answered and now_ns >= self._deadline_ns(p))

    def describe(self, address: str) -> str:
        peer = self._peers[address]
        # The plan, not the count sent: the same words when the round is replayed from a journal
        # (failover replay feeds the recorded sends, not the round's own).
        return (f"no reply to {peer.plan.probes} confirmation probe(s) {self.config.spacing_ms} ms apart "
                f"(+{peer.plan.wait_ns / _MS:.1f} ms wait) after {self.trigger} went down")
