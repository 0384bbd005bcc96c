"""The daemon's control-socket lines (docs/design.md, "Control socket"): one parser and one
formatter for each, pure (no I/O).

Requests: ``state``, ``elect <ipv4|ipv6>``, ``path <up|down>``, ``path6 <up|down>``,
``reassert <ipv4|ipv6>``, ``serve6 <ipv4|ipv6>`` (the sidecar's choice of the gateway serving
IPv6; a gateway is named by either of its addresses). Replies: ``ok``,
``err <reason>``, and for ``state`` the line :class:`DaemonState` reads and writes::

    ok wan=up carrier=up path=up failover=off elected=10.0.0.1 rule=absent changes=0 unreachable=none wan6=up path6=up failover6=off rule6=absent

The fields keep their order and new ones are only ever appended, so a reply is read by name and
fields this version does not know are ignored; ``unreachable`` came after ``changes`` (a daemon
without it reports nobody unreachable), the IPv6 fields last (a daemon without them leaves IPv6
alone: up, not failed over). ``elected`` stays the gateway's IPv4 address.
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
    "path6",
    "reassert",
    "serve6",
    "state_fields",
]

#: The ``state`` request.
STATE = "state"
_VERBS = ("state", "elect", "path", "path6", "reassert", "serve6")


def _updown(up: bool) -> str:
    return "up" if up else "down"


def elect(address: str) -> str:
    return f"elect {address}"


def path(up: bool) -> str:
    return f"path {_updown(up)}"


def path6(up: bool) -> str:
    return f"path6 {_updown(up)}"


def reassert(address: str) -> str:
    return f"reassert {address}"


def serve6(address: str) -> str:
    return f"serve6 {address}"


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
    if verb in ("path", "path6"):
        if argument not in ("up", "down"):
            raise ValueError(f"{verb} takes up or down")
        return Request(verb, argument)
    try:
        address = ipaddress.ip_address(argument)
    except ValueError:
        address = None
    # a gateway's address6 is global or ULA: a scoped (link-local) address names none
    if address is None or getattr(address, "scope_id", None) is not None:
        raise ValueError(f"{verb} takes an IPv4 or IPv6 address, not {argument!r}")
    return Request(verb, str(address))


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
    #: IPv6, the same way: admin, carrier and the (own or followed) IPv6 path verdict.
    wan6: bool = True
    #: The IPv6 path verdict as last reported (``path6``).
    path6: bool = True
    failover6: bool = False
    rule6: bool = False


def format_state(s: DaemonState) -> str:
    unreachable = ",".join(sorted(s.unreachable, key=ipaddress.IPv4Address)) or "none"
    return (f"ok wan={_updown(s.wan)} carrier={_updown(s.carrier)} path={_updown(s.path)} "
            f"failover={'on' if s.failover else 'off'} elected={s.elected or 'none'} "
            f"rule={'present' if s.rule else 'absent'} changes={s.changes} unreachable={unreachable} "
            f"wan6={_updown(s.wan6)} path6={_updown(s.path6)} failover6={'on' if s.failover6 else 'off'} "
            f"rule6={'present' if s.rule6 else 'absent'}")


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

    def flag(key: str, yes: str, no: str, absent: str | None = None) -> bool:
        value = fields.get(key, absent)
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
        wan6=flag("wan6", "up", "down", "up"),
        path6=flag("path6", "up", "down", "up"),
        failover6=flag("failover6", "on", "off", "off"),
        rule6=flag("rule6", "present", "absent", "absent"),
    )
