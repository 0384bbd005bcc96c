"""The decision journal's writer: the measuring core's inputs to ``[journal] path``, bounded.

The core hands over what it feeds its pure cores (failover/core/journal.py says what each line
holds): the probers' sends, replies and verdict ticks (a :class:`failover.core.journal.ProbeTap`
each), the WAN's link changes (its own rtnetlink watcher, :mod:`failover.net.wanlink`), each
election run, pins, the daemon's reachability reports and failover state at start, reloads.
``failover replay`` feeds them through the same cores again.

Bounded: once the next line would pass ``max_bytes`` (less room for the last line), recording
stops and the lines left out are counted; the last line (``end``) says so, and the log once. A
journal from a previous start is kept as ``PATH.1``. Writing never stops the core: a write error
ends the recording with a log line. Lines are buffered and flushed every second and at the end.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from ..config import Config
from ..core.journal import (
    Elect,
    End,
    Header,
    Link,
    Pin,
    ProbeTap,
    Reach,
    Record,
    Reload,
    Reply,
    Resume,
    Send,
    Tick,
    Traffic,
    Unpin,
    encode,
    encode_header,
)
from ..net.control_client import DaemonState
from ..net.wanlink import WanLink

__all__ = ["NullRecorder", "Recorder", "open_recorder"]

log = logging.getLogger("failover.journal")

#: Room kept for the ``end`` line.
_END_ROOM = 128
_FLUSH_NS = 1_000_000_000


class NullRecorder:
    """No journal configured: every input is dropped here, at the cost of a call."""

    def tap(self, prober: str) -> ProbeTap:
        return ProbeTap()

    def start(self) -> None: ...
    def close(self) -> None: ...
    def elect(self, monotonic_ns: int) -> None: ...
    def pin(self, address: str) -> None: ...
    def unpin(self) -> None: ...
    def daemon(self, state: DaemonState | None) -> None: ...
    def reload(self, cfg: Config) -> None: ...


class _Tap(ProbeTap):
    def __init__(self, recorder: Recorder, prober: str) -> None:
        self.r, self.p = recorder, prober

    def tick(self, now_ns: int) -> None:
        self.r.write(Tick(now_ns, self.p))

    def send(self, address: str, seq: int, t1_ns: int) -> None:
        self.r.write(Send(t1_ns, self.p, address, seq))

    def reply(self, address: str, t4_ns: int, seq: int, t1_ns: int, t2_ns: int, t3_ns: int) -> None:
        self.r.write(Reply(t4_ns, self.p, address, seq, t1_ns, t2_ns, t3_ns))

    def traffic(self, now_ns: int) -> None:
        self.r.write(Traffic(now_ns, self.p))


class Recorder(NullRecorder):
    """Writes the journal of one run of the core."""

    def __init__(self, cfg: Config) -> None:
        assert cfg.journal is not None
        self.path = Path(cfg.journal.path)
        self.max_bytes = cfg.journal.max_bytes
        self.interface = cfg.wan.interface
        self.dropped = 0
        self._open, self._reason = True, "stopped"
        self._unreachable: frozenset[str] = frozenset()
        self._resumed = False
        self._wan: WanLink | None = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            os.replace(self.path, self.path.with_name(self.path.name + ".1"))
        # Root only: the journal shows the router's addresses and its traffic's timing.
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        self._file = os.fdopen(fd, "w", buffering=1 << 16)
        header = encode_header(Header(time.time_ns(), cfg.model_dump(mode="json")))
        self._file.write(header)
        self.size = len(header.encode())
        self._flushed_ns = time.time_ns()

    def tap(self, prober: str) -> ProbeTap:
        return _Tap(self, prober)

    def start(self) -> None:
        """Follow the WAN's link (call in the core's event loop)."""
        self._wan = WanLink(self.interface, lambda admin, carrier: self.write(Link(time.time_ns(), admin, carrier)))
        try:
            self._wan.start()
        except OSError as e:
            log.error("journal: cannot follow %s's link: %s", self.interface, e)

    def write(self, record: Record) -> None:
        if not self._open:
            self.dropped += 1
            return
        line = encode(record)
        size = len(line)  # ASCII: addresses, numbers and the config's own strings
        if self.size + size > self.max_bytes - _END_ROOM:
            self.dropped += 1
            self._stop("full", f"journal {self.path} reached max_bytes {self.max_bytes}: recording stopped "
                       "(the decisions up to here replay)")
            return
        try:
            self._file.write(line)
            if record.t - self._flushed_ns >= _FLUSH_NS:
                self._file.flush()
                self._flushed_ns = record.t
        except OSError as e:
            self.dropped += 1
            self._stop("error", f"journal {self.path}: cannot write ({e.strerror}): recording stopped")
            return
        self.size += size

    def _stop(self, reason: str, why: str) -> None:
        log.warning("%s", why)
        self._open, self._reason = False, reason

    def elect(self, monotonic_ns: int) -> None:
        self.write(Elect(time.time_ns(), monotonic_ns))

    def pin(self, address: str) -> None:
        self.write(Pin(time.time_ns(), address))

    def unpin(self) -> None:
        self.write(Unpin(time.time_ns()))

    def daemon(self, state: DaemonState | None) -> None:
        """The daemon's report (None: not reachable): its failover state the first time, and
        which gateways it cannot tell whenever that changes (what the election sees)."""
        if state is not None and not self._resumed:
            self._resumed = True
            self.write(Resume(time.time_ns(), state.failover))
        unreachable = state.unreachable if state is not None else frozenset()
        if unreachable != self._unreachable:
            self._unreachable = unreachable
            self.write(Reach(time.time_ns(), tuple(sorted(unreachable))))

    def reload(self, cfg: Config) -> None:
        self.write(Reload(time.time_ns(), cfg.model_dump(mode="json")))

    def close(self) -> None:
        if self._wan is not None:
            self._wan.close()
            self._wan = None
        self._open = False
        try:
            self._file.write(encode(End(time.time_ns(), self.dropped, self._reason)))
            self._file.close()
        except OSError as e:
            log.warning("journal %s: cannot finish: %s", self.path, e.strerror)
        if self.dropped:
            log.warning("journal %s: %d records left out", self.path, self.dropped)


def open_recorder(cfg: Config) -> NullRecorder:
    """The journal ``cfg`` asks for, or the recorder that records nothing (also when the file
    cannot be opened: the core runs without a journal rather than not at all)."""
    if cfg.journal is None:
        return NullRecorder()
    try:
        return Recorder(cfg)
    except OSError as e:
        log.error("journal %s: cannot open (%s): running without a journal", cfg.journal.path, e.strerror)
        return NullRecorder()
