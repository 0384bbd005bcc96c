"""Which alternate gateway to use: pure election logic with hysteresis.

The caller (the sidecar) calls :meth:`Election.update` whenever heartbeat
statistics change, passing the candidates in configuration order, and logs the
returned :class:`Decision`, which carries its inputs and a readable reason.

One election serves both families. :func:`serve_ipv6` then says which gateway
carries IPv6: the elected one, unless it has no ``address6`` or its IPv6
heartbeat is down; then the best gateway whose IPv6 heartbeat is up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .heartbeat import SessionStats, Status

__all__ = ["Candidate", "Candidate6", "Decision", "Election", "Server6", "candidate", "candidate6", "measured_score",
           "score", "serve_ipv6", "JITTER_WEIGHT", "LOSS_PENALTY_MS"]

#: Jitter counts twice: a playout buffer or TCP's RTO has to absorb about
#: twice the mean deviation on top of the RTT.
JITTER_WEIGHT = 2.0
#: Each lost packet costs about one retransmission timeout (RFC 6298's 1 s
#: minimum RTO; Linux uses 200 ms, but a lost SYN or DNS query waits 1 s), so
#: the expected extra delay is loss × 1000 ms: 1 % loss weighs like 10 ms RTT,
#: 10 % like 100 ms. Heavy on purpose: loss hurts far more than latency.
LOSS_PENALTY_MS = 1000.0

_MS = 1_000_000


def score(rtt_ms: float, jitter_ms: float, loss: float) -> float:
    """Cost of a gateway in milliseconds, lower is better:
    ``rtt_ms + 2 × jitter_ms + 1000 × loss`` (loss as a fraction 0..1)."""
    for name, value in (("rtt_ms", rtt_ms), ("jitter_ms", jitter_ms), ("loss", loss)):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"score: {name} must be a finite number >= 0, got {value!r}")
    if loss > 1:
        raise ValueError(f"score: loss is a fraction 0..1, got {loss!r}")
    return rtt_ms + JITTER_WEIGHT * jitter_ms + LOSS_PENALTY_MS * loss


def measured_score(stats: SessionStats) -> float | None:
    """A heartbeat session's score, None until it has an RTT and a jitter (unmeasured)."""
    if stats.rtt_ms is None or stats.jitter_ms is None:
        return None
    return score(stats.rtt_ms, stats.jitter_ms, stats.loss)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One gateway as the election sees it. ``up`` False means down (the
    election never picks it while another is usable); ``score`` None means no
    measurement yet; ``reachable`` False means the daemon cannot tell it
    up/down (its last exchanges failed), which makes it as unusable as down."""

    address: str
    name: str
    up: bool
    score: float | None
    reachable: bool = True

    @property
    def usable(self) -> bool:
        return self.up and self.reachable

    def __post_init__(self) -> None:
        if self.score is not None and not (math.isfinite(self.score) and self.score >= 0):
            raise ValueError(f"candidate {self.address}: score must be finite and >= 0, got {self.score!r}")

    def describe(self) -> str:
        if not self.up:
            state = "down"
        elif not self.reachable:
            state = "unreachable: not answering up/down"
        elif self.score is None:
            state = "up, unmeasured"
        else:
            state = f"score {self.score:.2f}"
        return f"{self.name} {self.address} ({state})"


def candidate(address: str, name: str, stats: SessionStats, reachable: bool = True) -> Candidate:
    """A gateway as the election sees it, from its heartbeat session. Unknown (no verdict yet,
    only at start) is not down: the first configured gateway, which the daemon uses meanwhile, is
    not left before it had its chance to answer."""
    return Candidate(address, name, stats.status is not Status.DOWN, measured_score(stats), reachable=reachable)


@dataclass(frozen=True, slots=True)
class Decision:
    """The election's answer at one instant, loggable on its own."""

    address: str
    name: str
    #: The pinned gateway is the elected one.
    pinned: bool
    #: A gateway is pinned but it is down (or not configured): the automatic
    #: election decides until it is back.
    pinned_down: bool
    #: The elected gateway differs from the previous decision's (the first
    #: decision compares with the first candidate, the daemon's default).
    changed: bool
    reason: str
    inputs: tuple[Candidate, ...]


class Election:
    """Elects one gateway; moves only on failure, a pin, or a clear and
    lasting improvement.

    * A down or unreachable gateway is left at once for the best usable one; if
      none is usable the elected one stays (there is nowhere better to go).
    * A challenger must score below ``elected × (1 − switch_margin)``, and at
      least ``switch_min_ms`` below the elected score, on every update for
      ``hold_ms`` before the election moves: scores that wobble inside the
      margin never move it, and a short spike never does either. The floor is
      for gateways a fraction of a millisecond away (two boxes on the LAN):
      20 % of 0.1 ms is measurement noise, and a move breaks every NATed
      connection to gain what no application can notice.
      The hold restarts when the leading challenger stops beating the bar or
      another challenger takes the lead.
    * A pin overrides all of this while its gateway is usable.
    """

    def __init__(self, switch_margin: float = 0.2, hold_ms: int = 2000, switch_min_ms: float = 1.0) -> None:
        if not 0 <= switch_margin < 1:
            raise ValueError(f"switch_margin must be in [0, 1), got {switch_margin!r}")
        if hold_ms < 0:
            raise ValueError(f"hold_ms must be >= 0, got {hold_ms!r}")
        if not (math.isfinite(switch_min_ms) and switch_min_ms >= 0):
            raise ValueError(f"switch_min_ms must be a finite number >= 0, got {switch_min_ms!r}")
        self.switch_margin = switch_margin
        self.hold_ms = hold_ms
        self.switch_min_ms = switch_min_ms
        self._elected: str | None = None
        self._pin: str | None = None
        self._challenger: str | None = None
        self._challenger_since = 0

    @property
    def elected(self) -> str | None:
        """Address of the elected gateway (None before the first update)."""
        return self._elected

    @property
    def pinned(self) -> str | None:
        return self._pin

    def pin(self, address: str) -> None:
        """Force ``address`` while it is usable. The API checks it exists and is up;
        here an unknown or unusable pin is simply reported as ``pinned_down``."""
        if not address:
            raise ValueError("pin: empty address")
        self._pin = address

    def unpin(self) -> None:
        """Back to automatic election, starting from the current gateway."""
        self._pin = None

    def update(self, now_ns: int, candidates: Sequence[Candidate]) -> Decision:
        """Decide with the current candidates, given in configuration order."""
        inputs = tuple(candidates)
        if not inputs:
            raise ValueError("election: no candidates")
        by_address = {c.address: c for c in inputs}
        if len(by_address) != len(inputs):
            raise ValueError("election: duplicate candidate addresses")

        previous = self._elected if self._elected is not None else inputs[0].address
        notes: list[str] = []
        if self._elected not in by_address:
            if self._elected is not None:
                notes.append(f"{self._elected} is no longer a candidate")
            self._move(inputs[0].address)  # the daemon's default: first configured

        pinned_down = False
        if self._pin is not None:
            pinned = by_address.get(self._pin)
            if pinned is not None and pinned.usable:
                self._move(pinned.address)
                self._reset_hold()  # no half-held challenger survives the pin
                reason = f"pinned to {pinned.describe()}"
                return self._decide(inputs, previous, pinned=True, pinned_down=False, reason=reason, notes=notes)
            pinned_down = True
            state = ("down" if not pinned.up else "unreachable") if pinned is not None else "not a candidate"
            notes.append(f"pinned gateway {self._pin} is {state}, electing automatically meanwhile")

        reason = self._automatic(now_ns, inputs, by_address)
        return self._decide(inputs, previous, pinned=False, pinned_down=pinned_down, reason=reason, notes=notes)

    # -- internals -------------------------------------------------------------

    def _automatic(self, now_ns: int, inputs: tuple[Candidate, ...], by_address: dict[str, Candidate]) -> str:
        assert self._elected is not None
        current = by_address[self._elected]
        up = [c for c in inputs if c.usable]

        if not current.usable:
            if not up:
                self._reset_hold()
                return f"no gateway up: keeping {current.describe()}"
            best = _best(up)
            self._move(best.address)
            verb = "is down" if not current.up else "cannot be told"
            return f"{current.describe()} {verb}: moved at once to {best.describe()}"

        if current.score is None:
            # Nothing to compare against yet ("before any measurement").
            self._reset_hold()
            return f"keeping {current.describe()}: no measurement to compare with yet"

        rivals = [c for c in up if c is not current and c.score is not None]
        if not rivals:
            self._reset_hold()
            return f"keeping {current.describe()}: no measured challenger up"

        lead = _best(rivals)
        assert lead.score is not None
        bar = max(0.0, min(current.score * (1 - self.switch_margin), current.score - self.switch_min_ms))
        terms = (
            f"{lead.name} {lead.score:.2f} vs {current.name} {current.score:.2f}, "
            f"bar {bar:.2f} (margin {self.switch_margin:.0%}, at least {self.switch_min_ms:g} ms)"
        )
        if not lead.score < bar:
            self._reset_hold()
            return f"keeping {current.describe()}: best challenger not better by the margin: {terms}"

        if self._challenger != lead.address:
            self._challenger, self._challenger_since = lead.address, now_ns
        elapsed_ms = (now_ns - self._challenger_since) / _MS
        if elapsed_ms >= self.hold_ms:
            self._move(lead.address)
            return f"{lead.name} beat {current.name} for {elapsed_ms:.0f} ms (hold {self.hold_ms} ms): {terms}"
        return (
            f"keeping {current.describe()}: {lead.name} leads for {elapsed_ms:.0f} of "
            f"{self.hold_ms} ms hold: {terms}"
        )

    def _move(self, address: str) -> None:
        if address != self._elected:
            self._elected = address
            self._reset_hold()

    def _reset_hold(self) -> None:
        self._challenger = None

    def _decide(
        self,
        inputs: tuple[Candidate, ...],
        previous: str,
        *,
        pinned: bool,
        pinned_down: bool,
        reason: str,
        notes: list[str],
    ) -> Decision:
        assert self._elected is not None
        elected = next(c for c in inputs if c.address == self._elected)
        everyone = "; ".join(c.describe() for c in inputs)
        return Decision(
            address=elected.address,
            name=elected.name,
            pinned=pinned,
            pinned_down=pinned_down,
            changed=elected.address != previous,
            reason="; ".join([*notes, reason]) + f" [inputs: {everyone}]",
            inputs=inputs,
        )


def _best(candidates: Sequence[Candidate]) -> Candidate:
    """Lowest score; measured before unmeasured; ties go to config order."""
    return min(
        enumerate(candidates),
        key=lambda ic: (ic[1].score is None, ic[1].score or 0.0, ic[0]),
    )[1]


# -- IPv6: which gateway serves it ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Candidate6:
    """A gateway as the IPv6 choice sees it: ``address`` is its IPv4 address (its name on the
    control socket), ``address6`` None when it has none; ``up6`` False when its IPv6 heartbeat
    is down (unknown is not down, as for IPv4); ``score6`` its IPv6 heartbeat's score;
    ``reachable`` False when the daemon cannot tell it up/down."""

    address: str
    name: str
    address6: str | None
    up6: bool
    score6: float | None
    reachable: bool = True

    @property
    def serves(self) -> bool:
        """It can carry IPv6 now: an address6, its IPv6 heartbeat not down, told up/down."""
        return self.address6 is not None and self.up6 and self.reachable

    def describe(self) -> str:
        if self.address6 is None:
            return f"{self.name} (no address6)"
        state = ("IPv6 down" if not self.up6 else "unreachable: not answering up/down" if not self.reachable
                 else "IPv6 up, unmeasured" if self.score6 is None else f"IPv6 score {self.score6:.2f}")
        return f"{self.name} {self.address6} ({state})"


def candidate6(address: str, name: str, address6: str | None, stats6: SessionStats | None,
               reachable: bool = True) -> Candidate6:
    """A gateway for :func:`serve_ipv6`, from its IPv6 heartbeat session (None: no address6)."""
    if address6 is None or stats6 is None:
        return Candidate6(address, name, None, False, None, reachable)
    return Candidate6(address, name, address6, stats6.status is not Status.DOWN, measured_score(stats6), reachable)


@dataclass(frozen=True, slots=True)
class Server6:
    """The gateway serving IPv6 (its IPv4 ``address``, its ``address6``), or all None when no
    gateway has an address6 (IPv6 is then left alone); ``reason`` says why, loggable."""

    address: str | None
    address6: str | None
    name: str | None
    #: It is the elected gateway (False: IPv6 went elsewhere, and that gateway is told up too).
    elected: bool
    reason: str


def serve_ipv6(elected: str, candidates: Sequence[Candidate6], previous: str | None = None) -> Server6:
    """The gateway to serve IPv6, given the elected gateway's IPv4 address, every gateway in
    configuration order, and the IPv4 address of the one that served it so far (``previous``).

    * The elected gateway serves both families while it has an address6 and its IPv6 heartbeat
      is not down (whether it can be told is the election's business: it elected it).
    * Else IPv6 goes to the best other gateway that serves (address6, IPv6 heartbeat up, told
      up/down): the one already serving IPv6 while it still does (it moves on failure only, as
      the election does), else the lowest IPv6 score, measured before unmeasured, ties in
      config order.
    * If none serves, the elected one keeps IPv6 if it has an address6, else the previous one
      (if it still has one), else the first with an address6 that can be told: a route to a
      gateway whose heartbeat is lost is better than none, and it may come back.
    """
    by_address = {c.address: c for c in candidates}
    if len(by_address) != len(candidates):
        raise ValueError("serve_ipv6: duplicate candidate addresses")
    current = by_address.get(elected)
    if current is None:
        raise ValueError(f"serve_ipv6: the elected gateway {elected} is not a candidate")
    with6 = [c for c in candidates if c.address6 is not None]
    if not with6:
        return Server6(None, None, None, False, "no gateway has an address6: IPv6 is left alone")
    if current.address6 is not None and current.up6:
        return _server(current, current, f"the elected gateway serves IPv6 too: {current.describe()}")

    why = f"the elected gateway {current.describe()}" + (
        " has no address6" if current.address6 is None else " has its IPv6 heartbeat down")
    others = [c for c in with6 if c is not current and c.serves]
    if others:
        kept = by_address.get(previous or "")
        if kept is not None and kept in others:
            return _server(current, kept, f"{why}: IPv6 stays via {kept.describe()}")
        best = min(enumerate(others), key=lambda ic: (ic[1].score6 is None, ic[1].score6 or 0.0, ic[0]))[1]
        return _server(current, best, f"{why}: IPv6 via the best gateway whose IPv6 heartbeat is up, "
                                      f"{best.describe()} [IPv6 inputs: {'; '.join(c.describe() for c in with6)}]")
    if current.address6 is not None:
        return _server(current, current, f"{why}, and no other gateway's IPv6 heartbeat is up: keeping it")
    kept = by_address.get(previous or "")
    if kept is None or kept.address6 is None:
        kept = next((c for c in with6 if c.reachable), with6[0])
    return _server(current, kept, f"{why}, and no gateway's IPv6 heartbeat is up: IPv6 via {kept.describe()}")


def _server(elected: Candidate6, chosen: Candidate6, reason: str) -> Server6:
    return Server6(chosen.address, chosen.address6, chosen.name, chosen is elected, reason)
