"""``failover agent``: the alternate gateway's side.

A TCP listener takes exactly one line, ``up`` or ``down``, from the router's daemon and answers
``ok`` or ``err <reason>``. By default ``up`` turns IPv4 forwarding on in the agent's own
network namespace and ``down`` turns it off; ``--on-up``/``--on-down`` run commands instead.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
from dataclasses import dataclass
from pathlib import Path

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


def parse_command(line: bytes) -> str:
    """``up`` or ``down``, or raise ValueError with the reason to send back."""
    if line.endswith(b"\n"):
        line = line[:-1]
    if b"\n" in line:
        raise ValueError("one line only")
    if line in (b"up", b"down"):
        return line.decode()
    raise ValueError("expected up or down")


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
        server = await asyncio.start_server(
            self.handle, self.cfg.listen, self.cfg.port, limit=LINE_LIMIT, reuse_address=True
        )
        log.info("agent listening on %s:%d", self.cfg.listen, self.cfg.port)
        async with server:
            await server.serve_forever()
