"""The measuring core's domain events: one typed schema for everything that happens.

The core emits these dataclasses and nothing else; the event log (``GET /api/v1/log``), the
server-sent events, the Python log, the counters behind ``/metrics`` and (later) hooks are all
made from them. Each event knows its log ``kind`` (the SSE event name), its one-line
``message`` and the kind-specific ``fields`` the log entry carries beside ``ts``/``kind``/
``message``; those three make the JSON object of the REST log, unchanged from before the events
existed.

:class:`StateChanged` is not a log entry: it carries the new state (SSE ``state``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .election import Decision, Server6
from .views import StateView

__all__ = [
    "ElectionChanged",
    "Event",
    "FailoverChanged",
    "FlowsMoved",
    "GatewayReachabilityChanged",
    "GatewayStatusChanged",
    "Ipv6ServerChanged",
    "LogEvent",
    "PathVerdict",
    "PinChanged",
    "StateChanged",
    "Subscribers",
    "TargetFaulted",
    "TargetStatusChanged",
    "WanChanged",
    "log_entry",
]


log = logging.getLogger("failover.events")


def _updown(b: bool) -> str:
    return "up" if b else "down"


def _path(family: str) -> str:
    # As the control socket names the verdicts: path (IPv4), path6.
    return "path6" if family == "ipv6" else "path"


def _now() -> float:
    return time.time()


@dataclass(frozen=True, slots=True, kw_only=True)
class LogEvent:
    """An event that goes to the decision log."""

    kind: ClassVar[str]
    ts: float = field(default_factory=_now)

    @property
    def message(self) -> str:
        raise NotImplementedError

    def fields(self) -> dict[str, Any]:
        raise NotImplementedError


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayStatusChanged(LogEvent):
    """A gateway's heartbeat verdict moved."""

    kind: ClassVar[str] = "gateway"
    name: str
    address: str
    status: str
    previous: str
    reason: str
    rtt_ms: float | None
    loss: float

    @property
    def message(self) -> str:
        return f"{self.name} {self.address} {self.previous} -> {self.status}: {self.reason}"

    def fields(self) -> dict[str, Any]:
        return {"name": self.name, "address": self.address, "status": self.status, "previous": self.previous,
                "rtt_ms": self.rtt_ms, "loss": self.loss}


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayReachabilityChanged(LogEvent):
    """The daemon can no longer tell a gateway up/down (its last exchanges failed), or can again."""

    kind: ClassVar[str] = "gateway"
    name: str
    address: str
    reachable: bool

    @property
    def message(self) -> str:
        if self.reachable:
            return f"{self.name} {self.address} usable again: it acknowledged the daemon"
        return f"{self.name} {self.address} unusable: the daemon's last up/down exchanges with it failed"

    def fields(self) -> dict[str, Any]:
        return {"name": self.name, "address": self.address, "reachable": self.reachable}


@dataclass(frozen=True, slots=True, kw_only=True)
class ElectionChanged(LogEvent):
    """The election's answer changed (``moved``), or its pinned-gateway-is-down flag did."""

    kind: ClassVar[str] = "election"
    address: str | None
    name: str | None
    pinned: bool
    pinned_down: bool
    reason: str
    moved: bool
    first: bool = False

    @classmethod
    def after(cls, previous: Decision | None, decision: Decision, **kw: Any) -> ElectionChanged | None:
        """The event ``decision`` makes after ``previous`` (the first always; then when the
        elected gateway or the pinned-down flag changed), or None."""
        first = previous is None
        if not first and (decision.address, decision.pinned_down) == (previous.address, previous.pinned_down):
            return None
        return cls(address=decision.address, name=decision.name, pinned=decision.pinned,
                   pinned_down=decision.pinned_down, reason=decision.reason,
                   moved=not first and decision.address != previous.address, first=first, **kw)

    @property
    def message(self) -> str:
        verb = "elected" if self.first or self.moved else "keeping"
        return f"{verb} {self.name} {self.address}: {self.reason}"

    def fields(self) -> dict[str, Any]:
        return {"address": self.address, "name": self.name, "pinned": self.pinned, "pinned_down": self.pinned_down}


@dataclass(frozen=True, slots=True, kw_only=True)
class Ipv6ServerChanged(LogEvent):
    """The gateway serving IPv6 changed (failover/core/election.py ``serve_ipv6``), with its reason."""

    kind: ClassVar[str] = "election"
    address: str | None
    address6: str | None
    name: str | None
    elected: bool
    reason: str

    @classmethod
    def after(cls, previous: Server6 | None, server6: Server6, **kw: Any) -> Ipv6ServerChanged | None:
        """The event ``server6`` makes after ``previous`` (when the serving gateway, or whether it
        is the elected one, changed; the first only if some gateway serves), or None."""
        if previous is None and server6.address is None:
            return None
        if previous is not None and (previous.address, previous.elected) == (server6.address, server6.elected):
            return None
        return cls(address=server6.address, address6=server6.address6, name=server6.name,
                   elected=server6.elected, reason=server6.reason, **kw)

    @property
    def message(self) -> str:
        if self.address is None:
            return f"IPv6 served by no gateway: {self.reason}"
        return f"IPv6 via {self.name} {self.address6}: {self.reason}"

    def fields(self) -> dict[str, Any]:
        return {"family": "ipv6", "address": self.address, "address6": self.address6, "name": self.name,
                "elected": self.elected, "reason": self.reason}


@dataclass(frozen=True, slots=True, kw_only=True)
class PinChanged(LogEvent):
    """The operator pinned a gateway, or lifted the pin, through the REST API."""

    kind: ClassVar[str] = "election"
    address: str
    name: str | None
    pinned: bool

    @property
    def message(self) -> str:
        if self.pinned:
            return f"pinned to {self.name} {self.address} by the REST API"
        return f"unpinned {self.name or self.address} {self.address} by the REST API: automatic election"

    def fields(self) -> dict[str, Any]:
        if self.pinned:
            return {"address": self.address, "name": self.name, "pinned": True}
        return {"address": self.address, "pinned": False}


@dataclass(frozen=True, slots=True, kw_only=True)
class PathVerdict(LogEvent):
    """The WAN path check's verdict moved (on its one target, or its targets' quorum)."""

    kind: ClassVar[str] = "wan"
    up: bool
    reason: str
    #: The family whose path it judges (each family has its own verdict: docs/design.md).
    family: str = "ipv4"

    @property
    def message(self) -> str:
        return f"{_path(self.family)} {_updown(self.up)}: {self.reason}"

    def fields(self) -> dict[str, Any]:
        return {"path": self.up, "source": "path-check", "family": self.family}


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetStatusChanged(LogEvent):
    """One of the path check's targets changed its own verdict (a ``wan`` log entry: it is
    evidence about the WAN path, and the log's kinds stay the contract's)."""

    kind: ClassVar[str] = "wan"
    address: str
    target_kind: str
    status: str
    previous: str
    reason: str
    family: str = "ipv4"

    @property
    def message(self) -> str:
        return f"target {self.target_kind} {self.address} {self.status}: {self.reason}"

    def fields(self) -> dict[str, Any]:
        return {"source": "target", "address": self.address, "target_kind": self.target_kind,
                "status": self.status, "previous": self.previous, "family": self.family}


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetFaulted(LogEvent):
    """A target went down while the quorum still answers: a target fault, never a failover."""

    kind: ClassVar[str] = "wan"
    address: str
    target_kind: str
    reason: str
    up: int
    targets: int
    reliability: int
    family: str = "ipv4"

    @property
    def message(self) -> str:
        of = f" {self.family.replace('ipv', 'IPv')}" if self.family == "ipv6" else ""
        return (f"target fault: {self.target_kind} {self.address} down while {self.up} of {self.targets}{of} "
                f"targets answer (reliability {self.reliability}), no failover: {self.reason}")

    def fields(self) -> dict[str, Any]:
        return {"source": "target", "address": self.address, "target_kind": self.target_kind,
                "status": "down", "fault": True, "family": self.family}


@dataclass(frozen=True, slots=True, kw_only=True)
class WanChanged(LogEvent):
    """The daemon reports a new WAN carrier/path/usable combination."""

    kind: ClassVar[str] = "wan"
    interface: str
    carrier: bool
    path: bool
    up: bool
    #: ``ipv6``: the IPv6 side of the WAN (``wan6``, ``path6``), judged on its own.
    family: str = "ipv4"

    @property
    def message(self) -> str:
        six = "6" if self.family == "ipv6" else ""
        return (f"WAN{six and ' (IPv6)'} {self.interface} {_updown(self.up)} "
                f"(carrier {_updown(self.carrier)}, {_path(self.family)} {_updown(self.path)})")

    def fields(self) -> dict[str, Any]:
        return {"carrier": self.carrier, "path": self.path, "up": self.up, "source": "daemon", "family": self.family}


@dataclass(frozen=True, slots=True, kw_only=True)
class FailoverChanged(LogEvent):
    """The daemon reports failover starting (``active``) or ending."""

    kind: ClassVar[str] = "failover"
    active: bool
    elected: str | None
    elected_name: str | None
    carrier: bool
    path: bool
    rule: bool
    #: ``ipv6``: IPv6's own failover (``failover6``, ``rule6``); ``elected`` then names the
    #: gateway serving IPv6.
    family: str = "ipv4"

    @property
    def message(self) -> str:
        six = "6" if self.family == "ipv6" else ""
        rule = f"rule{six} {'present' if self.rule else 'absent'}"
        path = f"{_path(self.family)} {_updown(self.path)}"
        if self.active:
            return (f"failover{six} on via {self.elected_name or '?'} {self.elected}: WAN down "
                    f"(carrier {_updown(self.carrier)}, {path}), {rule}")
        return f"failover{six} off: WAN up (carrier {_updown(self.carrier)}, {path}), {rule}"

    def fields(self) -> dict[str, Any]:
        return {"active": self.active, "elected": self.elected, "rule": self.rule, "family": self.family}


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowsMoved(LogEvent):
    """Conntrack entries of flows stranded by a transition were removed (or the clean-up failed)."""

    kind: ClassVar[str] = "failover"
    transition: str
    text: str
    removed: int
    flows: tuple[str, ...]
    error: str | None
    method: str = "dump"   # "mark": one kernel-side delete by ct mark (flows then empty)
    family: str = "ipv4"   # whose transition it was: "ipv4" or "ipv6" (each family moves on its own)

    @property
    def message(self) -> str:
        return self.text

    def fields(self) -> dict[str, Any]:
        return {"transition": self.transition, "conntrack_removed": self.removed, "method": self.method,
                "flows": list(self.flows), "error": self.error, "family": self.family}


@dataclass(frozen=True, slots=True, kw_only=True)
class StateChanged:
    """The state (``GET /api/v1/state``) is not what it was: the new one."""

    kind: ClassVar[str] = "state"
    state: StateView


Event = GatewayStatusChanged | GatewayReachabilityChanged | ElectionChanged | Ipv6ServerChanged | PinChanged | \
    PathVerdict | TargetStatusChanged | TargetFaulted | WanChanged | FailoverChanged | FlowsMoved | StateChanged

#: Every log event class by name, for decoding (the IPC between core and API).
LOG_EVENTS: dict[str, type[LogEvent]] = {cls.__name__: cls for cls in LogEvent.__subclasses__()}


def log_entry(event: LogEvent) -> dict[str, Any]:
    """The event as the REST log and the SSE stream show it."""
    return {"ts": event.ts, "kind": event.kind, "message": event.message, **event.fields()}


class Subscribers:
    """Who follows the events: ``subscribe`` returns the unsubscribe call, ``publish`` calls
    everyone, and a listener's exception is logged, never passed on to the producer."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[Event], None]] = []

    def subscribe(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def publish(self, event: Event) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a listener's bug must not stop the measuring core
                log.exception("event listener failed on %s", type(event).__name__)
