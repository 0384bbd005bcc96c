"""Asyncio client of the daemon's control socket (unix stream, one line each way per connection).

The lines themselves are :mod:`failover.core.controlline`. :func:`request` is one exchange.
:class:`DaemonLink` is what the sidecar holds: it polls ``state``, remembers the election and
path verdict the sidecar wants the daemon to have, and re-sends them whenever they are not what
the daemon reports — which covers a (re)connect and a daemon that restarted between two polls
with its defaults. The gateway serving IPv6 (``serve6``) is not in the ``state`` line, so it is
re-sent on every (re)connect and every ``SERVE6_REFRESH_S`` besides: a daemon that restarted
unseen uses its own fallback for at most that long. A missing daemon is a reported condition (``connected``/``message``), never
an exception that stops the sidecar.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable

from ..core import controlline
from ..core.controlline import DaemonState, parse_state

__all__ = ["DaemonLink", "DaemonUnavailable", "request", "request_blocking"]

log = logging.getLogger("failover.control")

TIMEOUT_S = 2.0
MAX_REPLY = 4096  # a state line lists every unreachable gateway
SERVE6_REFRESH_S = 1.0


class DaemonUnavailable(OSError):
    """The daemon did not answer (no socket, refused, timed out, closed without a line)."""


async def request(path: str, line: str, timeout: float = TIMEOUT_S) -> str:
    """Send ``line``, return the daemon's reply line (without the newline)."""
    if "\n" in line:
        raise ValueError("one line only")

    async def exchange() -> bytes:
        reader, writer = await asyncio.open_unix_connection(path, limit=MAX_REPLY)
        try:
            writer.write(line.encode() + b"\n")
            await writer.drain()
            return await reader.readuntil(b"\n")
        finally:
            writer.close()

    try:
        async with asyncio.timeout(timeout):
            reply = await exchange()
    except TimeoutError:
        raise DaemonUnavailable(f"no reply within {timeout:g} s on {path}") from None
    except FileNotFoundError:
        raise DaemonUnavailable(f"daemon not there: no socket at {path}") from None
    except ConnectionRefusedError:
        raise DaemonUnavailable(f"daemon not there: {path} refuses connections") from None
    except asyncio.IncompleteReadError:
        raise DaemonUnavailable(f"daemon closed {path} without a reply") from None
    except (asyncio.LimitOverrunError, ValueError):
        raise DaemonUnavailable(f"daemon reply on {path} is longer than {MAX_REPLY} bytes") from None
    except OSError as e:
        raise DaemonUnavailable(f"daemon not there: {path}: {e.strerror or e}") from None
    return reply.decode(errors="replace").rstrip("\r\n")


def request_blocking(path: str, data: str | bytes, timeout: float = TIMEOUT_S) -> str:
    """One exchange without asyncio, for command-line tools, tests and benchmarks: a ``str`` is
    one request line (the newline is added), ``bytes`` are sent as they are (a line, or
    deliberately not one); then the write side is closed and the reply read."""
    if isinstance(data, str):
        if "\n" in data:
            raise ValueError("one line only")
        data = data.encode() + b"\n"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = s.recv(512)
            if not chunk:
                break
            reply += chunk
    return reply.decode(errors="replace").strip()


class DaemonLink:
    """The sidecar's connection to the daemon: desired election and path, observed state."""

    def __init__(
        self,
        path: str,
        poll_s: float = 0.1,
        on_state: Callable[[DaemonState | None], None] | None = None,
        timeout: float = TIMEOUT_S,
    ) -> None:
        self.path = path
        self.poll_s = poll_s
        self.timeout = timeout
        self.on_state = on_state
        self.elect_to: str | None = None
        self.path_to: bool | None = None
        #: The IPv6 path verdict (None: no IPv6 targets, the daemon makes IPv6 follow).
        self.path6_to: bool | None = None
        self.serve6_to: str | None = None
        self._serve6_at = 0.0  # time.monotonic() of the last serve6 sent
        self.state: DaemonState | None = None
        self.connected = False
        self.message = "not contacted yet"
        self._lock = asyncio.Lock()  # requests go out in the order they were decided

    async def send(self, line: str) -> str | None:
        """One request; None (and ``connected`` False, ``message`` why) if the daemon is not there."""
        async with self._lock:
            try:
                reply = await request(self.path, line, self.timeout)
            except DaemonUnavailable as e:
                self._lost(str(e))
                return None
        if not reply.startswith("ok"):
            log.warning("daemon refused %r: %s", line, reply)
        return reply

    async def elect(self, address: str) -> None:
        self.elect_to = address
        await self.send(controlline.elect(address))

    async def reassert(self, address: str) -> None:
        """Have the daemon tell ``address`` its wanted state again now (it may have restarted)."""
        await self.send(controlline.reassert(address))

    async def serve6(self, address: str) -> None:
        """The gateway serving IPv6 (named by its IPv4 address): the sidecar's choice."""
        self.serve6_to = address
        self._serve6_at = time.monotonic()
        await self.send(controlline.serve6(address))

    async def set_path(self, up: bool) -> None:
        self.path_to = up
        await self.send(controlline.path(up))

    async def set_path6(self, up: bool) -> None:
        self.path6_to = up
        await self.send(controlline.path6(up))

    def _elect_line(self) -> str:
        assert self.elect_to is not None
        return controlline.elect(self.elect_to)

    def _path_line(self) -> str:
        assert self.path_to is not None
        return controlline.path(self.path_to)

    def _path6_line(self) -> str:
        assert self.path6_to is not None
        return controlline.path6(self.path6_to)

    async def _read_state(self) -> DaemonState | None:
        reply = await self.send(controlline.STATE)
        if reply is None:
            return None
        try:
            return parse_state(reply)
        except ValueError as e:
            self._lost(f"daemon answered nonsense: {e}")
            return None

    async def poll(self) -> DaemonState | None:
        """Read the state; push the election and path verdict where the daemon differs."""
        state = await self._read_state()
        if state is None:
            return None
        reconnected = not self.connected
        if reconnected:
            log.info("daemon connected on %s", self.path)
        self.connected, self.message = True, "connected"
        if self.serve6_to is not None and (reconnected or time.monotonic() - self._serve6_at >= SERVE6_REFRESH_S):
            await self.serve6(self.serve6_to)
        stale = [line for line, wanted, has in ((self._elect_line, self.elect_to, state.elected),
                                                (self._path_line, self.path_to, state.path),
                                                (self._path6_line, self.path6_to, state.path6))
                 if wanted is not None and wanted != has]
        if stale:
            log.info("daemon differs from the sidecar (elected=%s path=%s path6=%s): re-sending %s",
                     state.elected, "up" if state.path else "down", "up" if state.path6 else "down",
                     ", ".join(line() for line in stale))
            for line in stale:
                # What is wanted when it goes out, not when the state was read: a newer verdict
                # may have been sent meanwhile, and the old one must not follow it.
                await self.send(line())
            state = await self._read_state()
            if state is None:
                return None
        self.state = state
        if self.on_state is not None:
            self.on_state(state)
        return state

    async def run(self) -> None:
        """Poll forever (cancel to stop)."""
        while True:
            await self.poll()
            await asyncio.sleep(self.poll_s)

    def _lost(self, why: str) -> None:
        if self.connected or self.message != why:
            log.warning("%s", why)
        self.connected, self.message = False, why
        self.state = None
        if self.on_state is not None:
            self.on_state(None)
