"""The daemon's control-socket lines (docs/design.md, "Control socket"): one parser and one
formatter for each, pure (no I/O).

Requests: ``state``, ``elect <ipv4>``, ``path <up|down>``, ``reassert <ipv4>``. Replies: ``ok``,
``err <reason>``, and for ``state`` the line :class:`DaemonState` reads and writes::

    ok wan=up carrier=up path=up failover=off elected=10.0.0.1 rule=absent changes=0 unreachable=none

The fields keep their order and new ones are only ever appended, so a reply is read by name and
fields this version does not know are ignored; ``unreachable`` came last (a daemon without it
reports nobody unreachable).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

__all__ = [
    "STATE",
    "DaemonState",
    "Request",
    "elect",
    "format_state",
    "parse_request",
    "parse_state",
    "path",
    "reassert",
    "state_fields",
]

#: The ``state`` request.
STATE = "state"
_VERBS = ("state", "elect", "path", "reassert")


def _updown(up: bool) -> str:
    return "up" if up else "down"


def elect(address: str) -> str:
    return f"elect {address}"


def path(up: bool) -> str:
    return f"path {_updown(up)}"


def reassert(address: str) -> str:
    return f"reassert {address}"


@dataclass(frozen=True, slots=True)
class Request:
    """A request line, parsed: ``verb`` and its argument (``None`` for ``state``)."""

    verb: str
    argument: str | None = None


def parse_request(line: str) -> Request:
    """The request in ``line``, or ValueError with the reason an ``err`` reply gives."""
    verb, _, argument = line.rstrip("\n").partition(" ")
    if verb not in _VERBS:
        raise ValueError(f"unknown command {verb!r}")
    if verb == "state":
        if argument:
            raise ValueError("state takes no argument")
        return Request(verb)
    if verb == "path":
        if argument not in ("up", "down"):
            raise ValueError("path takes up or down")
        return Request(verb, argument)
    try:
        return Request(verb, str(ipaddress.IPv4Address(argument)))
    except ValueError:
        raise ValueError(f"{verb} takes an IPv4 address, not {argument!r}") from None


@dataclass(frozen=True, slots=True)
class DaemonState:
    """The daemon's ``state`` reply, typed."""

    wan: bool
    carrier: bool
    path: bool
    failover: bool
    elected: str | None
    rule: bool
    changes: int
    #: Gateways the daemon cannot tell up/down (their last exchanges failed): not electable.
    unreachable: frozenset[str] = frozenset()


def format_state(s: DaemonState) -> str:
    unreachable = ",".join(sorted(s.unreachable, key=ipaddress.IPv4Address)) or "none"
    return (f"ok wan={_updown(s.wan)} carrier={_updown(s.carrier)} path={_updown(s.path)} "
            f"failover={'on' if s.failover else 'off'} elected={s.elected or 'none'} "
            f"rule={'present' if s.rule else 'absent'} changes={s.changes} unreachable={unreachable}")


def state_fields(line: str) -> dict[str, str]:
    """The ``name=value`` fields of a ``state`` reply as they are written, or ValueError for a
    line that is not an ``ok`` reply."""
    words = line.split()
    if not words or words[0] != "ok":
        raise ValueError(f"not a state reply: {line!r}")
    return dict(w.split("=", 1) for w in words[1:] if "=" in w)


def parse_state(line: str) -> DaemonState:
    """The ``state`` reply in ``line``, typed, or ValueError naming the field that is wrong."""
    fields = state_fields(line)

    def flag(key: str, yes: str, no: str) -> bool:
        value = fields.get(key)
        if value not in (yes, no):
            raise ValueError(f"state reply: {key}={value!r}, expected {yes} or {no}")
        return value == yes

    elected = fields.get("elected")
    if elected is None:
        raise ValueError("state reply: no elected=")
    if elected != "none":
        elected = str(ipaddress.IPv4Address(elected))
    changes = fields.get("changes", "")
    if not changes.isdigit():
        raise ValueError(f"state reply: changes={changes!r}")
    unreachable = fields.get("unreachable", "none")
    try:
        unreachable_set = frozenset() if unreachable == "none" else frozenset(
            str(ipaddress.IPv4Address(a)) for a in unreachable.split(","))
    except ValueError:
        raise ValueError(f"state reply: unreachable={unreachable!r}") from None
    return DaemonState(
        wan=flag("wan", "up", "down"),
        carrier=flag("carrier", "up", "down"),
        path=flag("path", "up", "down"),
        failover=flag("failover", "on", "off"),
        elected=None if elected == "none" else elected,
        rule=flag("rule", "present", "absent"),
        changes=int(changes),
        unreachable=unreachable_set,
    )
