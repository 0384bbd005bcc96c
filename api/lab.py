"""The lab's hooks behind ``/api/v1/lab``: whether faults may be injected, the demo flow's
counters, and the injection itself. :class:`CommandLab` runs ``--lab-fault-command KIND`` (the
lab's namespaces are outside the sidecar) and reads ``--lab-flow-file`` (and ``--lab-flow6-file``,
the IPv6 demo flow's, in a dual-stack lab)."""

from __future__ import annotations

import asyncio
import shlex
from pathlib import Path
from typing import Protocol

from .models import LabFlow

LAB_FAULT_TIMEOUT_S = 30.0


class LabError(RuntimeError):
    """The injection failed; the message says how (answered 502)."""


class Lab(Protocol):
    enabled: bool

    def flow(self) -> LabFlow | None: ...

    def flow6(self) -> LabFlow | None: ...

    async def inject(self, kind: str) -> None: ...


class CommandLab:
    enabled = True

    def __init__(self, fault_command: str, flow_file: str | None = None, flow6_file: str | None = None) -> None:
        self.fault_command = fault_command
        self.flow_file = flow_file
        self.flow6_file = flow6_file

    def flow(self) -> LabFlow | None:
        return _read_flow(self.flow_file)

    def flow6(self) -> LabFlow | None:
        return _read_flow(self.flow6_file)

    async def inject(self, kind: str) -> None:
        argv = [*shlex.split(self.fault_command), kind]
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        except OSError as e:
            raise LabError(f"{argv[0]}: {e.strerror or e}") from None
        try:
            async with asyncio.timeout(LAB_FAULT_TIMEOUT_S):
                out, _ = await proc.communicate()
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise LabError(f"{shlex.join(argv)} timed out after {LAB_FAULT_TIMEOUT_S:g} s") from None
        if proc.returncode != 0:
            tail = out.decode(errors="replace").strip()[-500:]
            raise LabError(f"{shlex.join(argv)} exited {proc.returncode}: {tail}")


def _read_flow(path: str | None) -> LabFlow | None:
    """A demo flow's counters; absent or half-written files are just "no data yet"."""
    if path is None:
        return None
    try:
        return LabFlow.model_validate_json(Path(path).read_bytes())
    except (OSError, ValueError):
        return None
