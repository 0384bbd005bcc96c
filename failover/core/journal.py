"""The decision journal's line format: the measuring core's inputs, one JSON object a line.

The first line is the header: ``{"journal": "failover", "version": 1, "started_ns": …,
"config": {…}}``, the recording config as ``failover.config`` validates it (so ``failover replay``
needs no ``--config``). Every other line is one input, in the order the core took them, with
``k`` its kind and ``t`` the CLOCK_REALTIME time in ns it was taken at:

============  ===========================================================================
``tick``      ``p``: a prober (``gw``: both families' heartbeats, ``path``, ``path6``)
              evaluated its sessions' verdicts at ``t``
``send``      ``p``, ``a`` (target address), ``s`` (sequence number): a probe sent, T1 = ``t``
``reply``     ``p``, ``a``, ``s``, ``t1`` ``t2`` ``t3``: a reply received at ``t`` (T4, the
              kernel's receive timestamp) with its STAMP timestamps
``traffic``   ``p``: the WAN received other traffic (its receive counter moved)
``link``      ``admin``, ``carrier``: the WAN device's flags changed (``false`` both: gone)
``elect``     ``m``: the election ran, at monotonic time ``m`` (its hold timer's clock)
``pin``       ``a``: the operator pinned a gateway; ``unpin``: lifted the pin
``reach``     ``unreachable``: the gateways the daemon cannot tell up/down changed
``resume``    ``failover``: the daemon's failover state when the core first reached it
``reload``    ``config``: SIGHUP applied a new config
``end``       ``dropped``, ``reason`` (``stopped``, ``full`` or ``error``): the last line
============  ===========================================================================

Pure: encoding and decoding only; a bad line is a :class:`JournalError` naming its line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

__all__ = [
    "ProbeTap", "Elect", "End", "Header", "JournalError", "Link", "Pin", "Reach", "Record", "Records", "Reload", "Reply",
    "Resume", "Send", "Tick", "Traffic", "Unpin", "VERSION", "encode", "read",
]

MAGIC = "failover"
VERSION = 1


class JournalError(ValueError):
    """A journal that cannot be replayed; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Header:
    started_ns: int
    config: dict[str, Any]
    version: int = VERSION


@dataclass(frozen=True, slots=True)
class Record:
    kind: ClassVar[str]
    t: int


@dataclass(frozen=True, slots=True)
class Tick(Record):
    kind: ClassVar[str] = "tick"
    p: str


@dataclass(frozen=True, slots=True)
class Send(Record):
    kind: ClassVar[str] = "send"
    p: str
    a: str
    s: int


@dataclass(frozen=True, slots=True)
class Reply(Record):
    kind: ClassVar[str] = "reply"
    p: str
    a: str
    s: int
    t1: int
    t2: int
    t3: int


@dataclass(frozen=True, slots=True)
class Traffic(Record):
    kind: ClassVar[str] = "traffic"
    p: str


@dataclass(frozen=True, slots=True)
class Link(Record):
    kind: ClassVar[str] = "link"
    admin: bool
    carrier: bool


@dataclass(frozen=True, slots=True)
class Elect(Record):
    kind: ClassVar[str] = "elect"
    m: int


@dataclass(frozen=True, slots=True)
class Pin(Record):
    kind: ClassVar[str] = "pin"
    a: str


@dataclass(frozen=True, slots=True)
class Unpin(Record):
    kind: ClassVar[str] = "unpin"


@dataclass(frozen=True, slots=True)
class Reach(Record):
    kind: ClassVar[str] = "reach"
    unreachable: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Resume(Record):
    kind: ClassVar[str] = "resume"
    failover: bool


@dataclass(frozen=True, slots=True)
class Reload(Record):
    kind: ClassVar[str] = "reload"
    config: dict[str, Any]


@dataclass(frozen=True, slots=True)
class End(Record):
    kind: ClassVar[str] = "end"
    dropped: int
    reason: str


KINDS: dict[str, type[Record]] = {
    cls.kind: cls for cls in (Tick, Send, Reply, Traffic, Link, Elect, Pin, Unpin, Reach, Resume, Reload, End)
}
_JSON_TYPES: dict[Any, tuple[type, ...]] = {
    "int": (int,), "str": (str,), "bool": (bool,), "dict[str, Any]": (dict,), "tuple[str, ...]": (list,),
}


class ProbeTap:
    """What a prober tells the journal (failover/sidecar/recorder.py); this base records nothing.
    Called with the very values the prober feeds its heartbeat sessions."""

    def tick(self, now_ns: int) -> None:
        """The sessions' verdicts were evaluated at ``now_ns``."""

    def send(self, address: str, seq: int, t1_ns: int) -> None:
        """A probe went to ``address``."""

    def reply(self, address: str, t4_ns: int, seq: int, t1_ns: int, t2_ns: int, t3_ns: int) -> None:
        """A decoded reply from ``address`` was fed to its session."""

    def traffic(self, now_ns: int) -> None:
        """The probed path received other traffic at ``now_ns``."""


def _line(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":")) + "\n"


def encode_header(header: Header) -> str:
    return _line({"journal": MAGIC, "version": header.version, "started_ns": header.started_ns,
                  "config": header.config})


def encode(record: Record) -> str:
    """One line (with its newline)."""
    body = asdict(record)
    if isinstance(record, Reach):
        body["unreachable"] = list(record.unreachable)
    return _line({"k": record.kind, **body})


def _check(obj: dict[str, Any], name: str, typ: str, where: str) -> Any:
    if name not in obj:
        raise JournalError(f"{where}: missing field {name!r}")
    value = obj[name]
    # JSON's true is not a number here, nor is 1 a boolean.
    ok = isinstance(value, _JSON_TYPES[typ]) and (typ == "bool") == isinstance(value, bool)
    if ok and typ == "tuple[str, ...]":
        ok = all(isinstance(v, str) for v in value)
        value = tuple(value)
    if not ok:
        raise JournalError(f"{where}: field {name!r} must be {typ.split('[')[0]}, got {json.dumps(value)[:40]}")
    return value


def _decode_header(obj: Any, where: str) -> Header:
    if not isinstance(obj, dict) or obj.get("journal") != MAGIC:
        raise JournalError(f"{where}: not a failover decision journal (the first line is its header)")
    version = _check(obj, "version", "int", where)
    if version != VERSION:
        raise JournalError(f"{where}: journal version {version}, this program reads version {VERSION}")
    return Header(_check(obj, "started_ns", "int", where), _check(obj, "config", "dict[str, Any]", where), version)


def _decode_record(obj: Any, where: str) -> Record:
    if not isinstance(obj, dict):
        raise JournalError(f"{where}: expected a JSON object")
    kind = obj.get("k")
    cls = KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise JournalError(f"{where}: unknown record kind {json.dumps(kind)[:40]}")
    names = {f.name: f.type for f in fields(cls)}
    extra = set(obj) - set(names) - {"k"}
    if extra:
        raise JournalError(f"{where}: unknown field(s) {', '.join(sorted(extra))} in a {kind!r} record")
    return cls(**{name: _check(obj, name, typ, where) for name, typ in names.items()})


class Records:
    """The records of a journal, decoded as iterated. A last line without its newline that is
    not JSON is a write cut short (the recorder died mid-line): iteration ends before it and
    ``cut_line`` names it; anywhere else a bad line is a :class:`JournalError`."""

    def __init__(self, lines: Iterator[tuple[int, str]], source: str) -> None:
        self._lines, self._source = lines, source
        self.cut_line: int | None = None

    def __iter__(self) -> Iterator[Record]:
        for number, line in self._lines:
            if not line.strip():
                continue
            try:
                obj = _parse(number, line, self._source)
            except JournalError:
                if line.endswith("\n") or next(self._lines, None) is not None:
                    raise
                self.cut_line = number
                return
            yield _decode_record(obj, f"{self._source}:{number}")


def _parse(number: int, line: str, source: str) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError as e:
        raise JournalError(f"{source}:{number}: not JSON: {e.msg} at column {e.colno}") from None


def read(lines: Iterable[str], source: str = "<journal>") -> tuple[Header, Records]:
    """The header (read now) and the records (read as iterated); JournalError on a bad line."""
    it = iter(enumerate(lines, 1))
    try:
        number, first = next(it)
    except StopIteration:
        raise JournalError(f"{source}: empty, not a journal") from None
    return _decode_header(_parse(number, first, source), f"{source}:{number}"), Records(it, source)
