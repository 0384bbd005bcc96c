"""Which alternate gateway to use: pure election logic with hysteresis.

The caller (the sidecar) calls :meth:`Election.update` whenever heartbeat
statistics change, passing the candidates in configuration order, and logs the
returned :class:`Decision`, which carries its inputs and a readable reason.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .heartbeat import SessionStats, Status

__all__ = ["Candidate", "Decision", "Election", "candidate", "measured_score", "score", "JITTER_WEIGHT",
           "LOSS_PENALTY_MS"]

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
    * A challenger must score below ``elected × (1 − switch_margin)`` on every
      update for ``hold_ms`` before the election moves: scores that wobble
      inside the margin never move it, and a short spike never does either.
      The hold restarts when the leading challenger stops beating the bar or
      another challenger takes the lead.
    * A pin overrides all of this while its gateway is usable.
    """

    def __init__(self, switch_margin: float = 0.2, hold_ms: int = 2000) -> None:
        if not 0 <= switch_margin < 1:
            raise ValueError(f"switch_margin must be in [0, 1), got {switch_margin!r}")
        if hold_ms < 0:
            raise ValueError(f"hold_ms must be >= 0, got {hold_ms!r}")
        self.switch_margin = switch_margin
        self.hold_ms = hold_ms
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
        bar = current.score * (1 - self.switch_margin)
        terms = (
            f"{lead.name} {lead.score:.2f} vs {current.name} {current.score:.2f}, "
            f"bar {bar:.2f} (margin {self.switch_margin:.0%})"
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
