"""``failover agent``: the alternate gateway's side.

A TCP listener takes exactly one line, ``up`` or ``down``, from the router's daemon and answers
``ok`` or ``err <reason>``. By default ``up`` turns IPv4 forwarding on in the agent's own
network namespace and ``down`` turns it off; ``--on-up``/``--on-down`` run commands instead.

A stateless STAMP Session-Reflector (RFC 8762 §4.3) on UDP ``--stamp-port`` answers the
router's heartbeats: T2 is the kernel's receive timestamp, T3 is read right before the reply is
sent, the request's IP TTL is copied in, the reply has the request's size. Anything that is not
a STAMP test packet is counted and ignored. ``lab_delay_ms`` (lab only) holds each request that
long before it counts as received, to emulate a distant gateway: the held time is path time, as
distance would be, so it shows up in the RTT (T2 is then read when the hold ends).
"""

from __future__ import annotations

import asyncio
import logging
import shlex
import time
from dataclasses import dataclass
from pathlib import Path

from . import stamp
from .prober import Datagram, open_udp, receive_datagrams

log = logging.getLogger("failover.agent")

FORWARDING = Path("/proc/sys/net/ipv4/ip_forward")
LINE_LIMIT = 64
READ_TIMEOUT_S = 2.0
ACTION_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class AgentConfig:
    listen: str
    port: int = 7070
    stamp_port: int = 862
    on_up: str | None = None
    on_down: str | None = None
    #: Lab only: hold every STAMP reply this long (emulates distance).
    lab_delay_ms: float = 0.0


def parse_command(line: bytes) -> str:
    """``up`` or ``down``, or raise ValueError with the reason to send back."""
    if line.endswith(b"\n"):
        line = line[:-1]
    if b"\n" in line:
        raise ValueError("one line only")
    if line in (b"up", b"down"):
        return line.decode()
    raise ValueError("expected up or down")


class StampReflector:
    """Stateless STAMP Session-Reflector on one UDP socket."""

    def __init__(self, address: str, port: int = 862, lab_delay_ms: float = 0.0) -> None:
        if lab_delay_ms < 0:
            raise ValueError(f"lab delay must be >= 0 ms, got {lab_delay_ms}")
        self.address, self.port = address, port
        self.delay_s = lab_delay_ms / 1000
        self.reflected = 0
        self.garbage = 0
        self.send_errors = 0
        self._sock = None

    @property
    def bound(self) -> tuple[str, int]:
        assert self._sock is not None
        return self._sock.getsockname()

    def start(self) -> None:
        self._sock = open_udp(self.address, self.port, ttl=True)
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._sock.fileno(), self._readable)
        log.info("STAMP reflector on %s:%d%s", *self.bound,
                 f" (lab delay {self.delay_s * 1000:g} ms)" if self.delay_s else "")

    def close(self) -> None:
        if self._sock is not None:
            self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None

    def _readable(self) -> None:
        assert self._sock is not None
        for dgram in receive_datagrams(self._sock):
            if self.delay_s:
                self._loop.call_later(self.delay_s, self._reply, dgram, True)
            else:
                self._reply(dgram)

    def _reply(self, dgram: Datagram, held: bool = False) -> None:
        if self._sock is None:
            return  # closed while a delayed reply was pending
        try:
            # A held request "arrives" when the emulated distance has been covered.
            t2 = stamp.unix_ns_to_ntp(time.time_ns() if held else dgram.received_ns)
            # T3 as late as Python allows: right before the send, after all the work.
            reply = stamp.reflect(dgram.data, t2_ntp=t2, t3_ntp=stamp.unix_ns_to_ntp(time.time_ns()),
                                  ttl=dgram.ttl if dgram.ttl is not None else 0)
        except stamp.StampError as e:
            self.garbage += 1
            if self.garbage & (self.garbage - 1) == 0:  # 1st, 2nd, 4th...: visible, never a flood
                log.info("ignored non-STAMP datagram #%d from %s: %s", self.garbage, dgram.address, e)
            return
        try:
            self._sock.sendto(reply, dgram.address)
            self.reflected += 1
        except OSError as e:
            self.send_errors += 1
            log.debug("STAMP reply to %s: %s", dgram.address, e)


class Agent:
    def __init__(self, cfg: AgentConfig) -> None:
        self.cfg = cfg
        self.state: str | None = None
        self._lock = asyncio.Lock()

    async def apply(self, command: str) -> None:
        hook = self.cfg.on_up if command == "up" else self.cfg.on_down
        if hook is None:
            FORWARDING.write_text("1\n" if command == "up" else "0\n")
        else:
            proc = await asyncio.create_subprocess_exec(*shlex.split(hook))
            try:
                rc = await asyncio.wait_for(proc.wait(), ACTION_TIMEOUT_S)
            except TimeoutError:
                proc.kill()
                await proc.wait()
                raise RuntimeError(f"--on-{command} timed out") from None
            if rc != 0:
                raise RuntimeError(f"--on-{command} exited {rc}")
        self.state = command

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        try:
            try:
                line = await asyncio.wait_for(reader.readuntil(b"\n"), READ_TIMEOUT_S)
            except asyncio.IncompleteReadError as e:
                line = e.partial  # a last line without newline, then EOF
            except asyncio.LimitOverrunError:
                raise ValueError("line too long") from None
            except TimeoutError:
                raise ValueError("timeout") from None
            command = parse_command(line)
            async with self._lock:  # commands apply in arrival order
                await self.apply(command)
            log.info("%s from %s: done", command, peer)
            writer.write(b"ok\n")
        except (ValueError, RuntimeError, OSError) as e:
            log.info("rejected request from %s: %s", peer, e)
            writer.write(f"err {e}\n".encode())
        finally:
            try:
                await asyncio.wait_for(writer.drain(), READ_TIMEOUT_S)
            except (OSError, TimeoutError):
                pass
            writer.close()

    async def serve(self) -> None:
        reflector = StampReflector(self.cfg.listen, self.cfg.stamp_port, self.cfg.lab_delay_ms)
        reflector.start()
        try:
            await self._serve_control()
        finally:
            reflector.close()

    async def _serve_control(self) -> None:
        server = await asyncio.start_server(
            self.handle, self.cfg.listen, self.cfg.port, limit=LINE_LIMIT, reuse_address=True
        )
        log.info("agent listening on %s:%d", self.cfg.listen, self.cfg.port)
        async with server:
            await server.serve_forever()
