"""The measuring core and the API in two processes: the narrow interface over one stream socket.

Why two processes: one Python process has one GIL. A thread of its own would keep the core's
loop apart from uvicorn's, but under an HTTP flood the API's thread holds the GIL most of the
time and the core waits up to a switch interval (5 ms) for every wake-up — the probes' pace and
the detect timers bend with the load. In its own process, the core is scheduled by the kernel
beside the API (which runs at a lower priority, ``nice``), shares nothing with it but this
socket, and no request, slow client or SSE subscriber can delay a probe, the reading of a reply
or a timer (bench/api_latency measures it).

The protocol is JSON lines over a socketpair (``AF_UNIX``, ``SOCK_STREAM``):

core → API
  ``{"t": "hello", "snapshot": S, "history": [E...]}`` once, first;
  ``{"t": "snapshot", "snapshot": S}`` when the state changed and every ``SNAPSHOT_S``;
  ``{"t": "event", "event": E}`` for every log event, as it happens;
  ``{"t": "reply", "id": n, "elected": {...}}`` or ``{"t": "reply", "id": n, "error": "unknown" |
  "down", "message": "..."}`` for a command, after the snapshot that shows its effect.
API → core
  ``{"t": "pin", "id": n, "address": "..."}``, ``{"t": "unpin", "id": n}``.

The core never waits for the API: what it writes is buffered by its loop, and past
``MAX_BUFFER`` bytes (an API process that stopped reading) snapshots and events are dropped,
counted and logged, rather than growing memory or blocking a probe. Only the two commands come
the other way, and a malformed line is logged and ignored.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import socket
from collections import deque
from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any

from ..tasks import cancel_and_wait
from .coreview import CoreView
from ..core.views import (
    CoreUnavailable,
    Counters,
    ElectedView,
    GatewayDown,
    GatewayView,
    PathProbeView,
    TargetView,
    Snapshot,
    StateView,
    UnknownGateway,
)
from ..core.events import LOG_EVENTS, Event, LogEvent, StateChanged, Subscribers

__all__ = ["CoreServer", "CoreUnavailable", "RemoteCore"]

log = logging.getLogger("failover.coreipc")

SNAPSHOT_S = 0.1
MAX_BUFFER = 8 << 20
MAX_LINE = 16 << 20
COMMAND_TIMEOUT_S = 5.0
HISTORY = 200


# -- encoding -----------------------------------------------------------------------------

_STATE_FIELDS = [f.name for f in dataclasses.fields(StateView) if f.name != "elected"]
_state_values = attrgetter(*_STATE_FIELDS)
_GATEWAY_FIELDS = [f.name for f in dataclasses.fields(GatewayView)]
_gateway_row = attrgetter(*_GATEWAY_FIELDS)


def _elected(d: dict[str, Any]) -> ElectedView:
    return ElectedView(d["address"], d["name"], d["pinned"])


def encode_state(s: StateView) -> dict[str, Any]:
    return {**dict(zip(_STATE_FIELDS, _state_values(s), strict=True)),
            "elected": dataclasses.asdict(s.elected)}


def decode_state(d: dict[str, Any]) -> StateView:
    return StateView(**{k: d[k] for k in _STATE_FIELDS}, elected=_elected(d["elected"]))


def encode_snapshot(s: Snapshot) -> dict[str, Any]:
    # Gateways as rows: the snapshot goes out ten times a second with up to hundreds of them.
    return {"state": encode_state(s.state), "gateways": [_gateway_row(g) for g in s.gateways],
            "counters": dataclasses.asdict(s.counters),
            "path": dataclasses.asdict(s.path) if s.path is not None else None,
            "targets": [dataclasses.asdict(t) for t in s.targets],
            "rounds": [s.confirmation_rounds, s.confirmed_silent]}


def decode_snapshot(d: dict[str, Any]) -> Snapshot:
    return Snapshot(decode_state(d["state"]), tuple(GatewayView(*row) for row in d["gateways"]),
                    Counters(**d["counters"]), PathProbeView(**d["path"]) if d["path"] is not None else None,
                    tuple(TargetView(**t) for t in d["targets"]), *d["rounds"])


def encode_event(e: LogEvent) -> dict[str, Any]:
    return {"type": type(e).__name__, **{f.name: getattr(e, f.name) for f in dataclasses.fields(e)}}


def decode_event(d: dict[str, Any]) -> LogEvent:
    d = dict(d)
    cls = LOG_EVENTS[d.pop("type")]
    if "flows" in d:
        d["flows"] = tuple(d["flows"])
    return cls(**d)


def _line(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


# -- the core's side ---------------------------------------------------------------------


class CoreServer:
    """Serves a :class:`CoreView` (the in-process :class:`failover.sidecar.core.Sidecar`) on ``sock``."""

    def __init__(self, core: CoreView, sock: socket.socket) -> None:
        self.core = core
        self.sock = sock
        #: Messages dropped because the API process did not read them.
        self.dropped = 0
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: list[asyncio.Task] = []
        self._unsubscribe: Callable[[], None] | None = None
        self._snapshot_due = False
        self._closed = asyncio.Event()

    async def start(self) -> None:
        reader, self._writer = await asyncio.open_connection(sock=self.sock, limit=MAX_LINE)
        self._send({"t": "hello", "snapshot": encode_snapshot(self.core.snapshot()),
                    "history": [encode_event(e) for e in self.core.history()]})
        self._unsubscribe = self.core.subscribe(self._on_event)
        self._tasks = [asyncio.create_task(self._commands(reader), name="core-ipc-commands"),
                       asyncio.create_task(self._snapshots(), name="core-ipc-snapshots")]

    async def wait_closed(self) -> None:
        """Until the API's end of the socket is gone."""
        await self._closed.wait()

    async def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await cancel_and_wait(*self._tasks)
        self._tasks = []
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._closed.set()

    def _send(self, message: dict[str, Any]) -> bool:
        w = self._writer
        if w is None or w.is_closing():
            return False
        if w.transport.get_write_buffer_size() > MAX_BUFFER:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("the API process is not reading: %d messages dropped", self.dropped)
            return False
        w.write(_line(message))
        return True

    def _send_snapshot(self) -> None:
        self._snapshot_due = False
        self._send({"t": "snapshot", "snapshot": encode_snapshot(self.core.snapshot())})

    def _on_event(self, event: Event) -> None:
        if isinstance(event, StateChanged):
            # Coalesced: one snapshot for all the changes of one loop iteration.
            if not self._snapshot_due:
                self._snapshot_due = True
                asyncio.get_running_loop().call_soon(self._send_snapshot)
            return
        self._send({"t": "event", "event": encode_event(event)})

    async def _snapshots(self) -> None:
        while True:
            await asyncio.sleep(SNAPSHOT_S)
            self._send_snapshot()

    async def _commands(self, reader: asyncio.StreamReader) -> None:
        try:
            while line := await reader.readline():
                await self._command(line)
        except (OSError, ValueError) as e:  # ValueError: a line over MAX_LINE
            log.warning("API link: %s", e)
        finally:
            self._closed.set()

    async def _command(self, line: bytes) -> None:
        try:
            msg = json.loads(line)
            kind, ident = msg["t"], msg["id"]
            if kind == "pin":
                address = msg["address"]
                if not isinstance(address, str):
                    raise TypeError("address")
            elif kind != "unpin":
                raise KeyError(kind)
        except (ValueError, KeyError, TypeError) as e:
            log.warning("API link: ignored a malformed command %.80r (%s)", line, e)
            return
        reply: dict[str, Any] = {"t": "reply", "id": ident}
        try:
            elected = await (self.core.pin(address) if kind == "pin" else self.core.unpin())
            reply["elected"] = dataclasses.asdict(elected)
        except UnknownGateway as e:
            reply.update(error="unknown", message=str(e))
        except GatewayDown as e:
            reply.update(error="down", message=str(e))
        self._send_snapshot()
        self._send(reply)


# -- the API's side ----------------------------------------------------------------------


class RemoteCore:
    """:class:`CoreView` in the API's process: the latest snapshot and the log as the core sent
    them, commands over the socket. ``on_lost`` is called when the core's end closes."""

    def __init__(self, sock: socket.socket, on_lost: Callable[[], None] | None = None,
                 hello_timeout: float = 10.0) -> None:
        self.sock = sock
        self.on_lost = on_lost
        self.hello_timeout = hello_timeout
        self._snapshot: Snapshot | None = None
        self._history: deque[LogEvent] = deque(maxlen=HISTORY)
        self._subscribers = Subscribers()
        self._pending: dict[int, asyncio.Future] = {}
        self._next_id = 0
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        reader, self._writer = await asyncio.open_connection(sock=self.sock, limit=MAX_LINE)
        async with asyncio.timeout(self.hello_timeout):
            hello = json.loads(await reader.readline())
        if hello.get("t") != "hello":
            raise CoreUnavailable(f"the core said {hello.get('t')!r} first, not hello")
        self._snapshot = decode_snapshot(hello["snapshot"])
        self._history.extend(decode_event(e) for e in hello["history"])
        self._task = asyncio.create_task(self._read(reader), name="core-link")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def snapshot(self) -> Snapshot:
        assert self._snapshot is not None, "RemoteCore.start() first"
        return self._snapshot

    def history(self) -> Sequence[LogEvent]:
        return tuple(self._history)

    def subscribe(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        return self._subscribers.subscribe(listener)

    async def pin(self, address: str) -> ElectedView:
        return await self._command({"t": "pin", "address": address})

    async def unpin(self) -> ElectedView:
        return await self._command({"t": "unpin"})

    async def _command(self, message: dict[str, Any]) -> ElectedView:
        if self._writer is None or self._writer.is_closing():
            raise CoreUnavailable("the measuring core is not connected")
        self._next_id += 1
        ident = self._next_id
        future = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        try:
            self._writer.write(_line({**message, "id": ident}))
            async with asyncio.timeout(COMMAND_TIMEOUT_S):
                reply = await future
        except TimeoutError:
            raise CoreUnavailable(f"the measuring core did not answer within {COMMAND_TIMEOUT_S:g} s") from None
        finally:
            self._pending.pop(ident, None)
        if reply.get("error") == "unknown":
            raise UnknownGateway(reply["message"])
        if reply.get("error") == "down":
            raise GatewayDown(reply["message"])
        return _elected(reply["elected"])

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while line := await reader.readline():
                try:
                    self._receive(json.loads(line))
                except (ValueError, KeyError, TypeError) as e:
                    # One message this side cannot read (a newer core?) is not a broken link.
                    log.error("core link: ignored a message %.80r (%s: %s)", line, type(e).__name__, e)
        except (OSError, ValueError) as e:  # ValueError: a line over MAX_LINE
            log.error("core link broken: %s", e)
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(CoreUnavailable("the measuring core went away"))
            if self.on_lost is not None:
                self.on_lost()

    def _receive(self, msg: dict[str, Any]) -> None:
        kind = msg["t"]
        if kind == "snapshot":
            snap = decode_snapshot(msg["snapshot"])
            changed = self._snapshot is None or snap.state != self._snapshot.state
            self._snapshot = snap
            if changed:
                self._subscribers.publish(StateChanged(state=snap.state))
        elif kind == "event":
            event = decode_event(msg["event"])
            self._history.append(event)
            self._subscribers.publish(event)
        elif kind == "reply":
            future = self._pending.get(msg["id"])
            if future is not None and not future.done():
                future.set_result(msg)
