"""What the host hands each of its modules: the few services they use, and nothing else.

A module's Python side is built per runtime as ``Backend(runtime, services)``: the runtime for
what concerns the calling state (its context, its objects, its Lua), ``Services`` for what the
runtimes of one host share.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field
from typing import Protocol, TextIO

from .bridge import HostObject
from .linkwatch import LinkWatch
from .profile import Profile
from .rcutable import RcuTable
from .wallclock import WallClock


class ScriptLog:
    """The kernel log of the host's scripts: ``print`` lines to ``out``; an error raised after
    loading (in a callback or a thread) to ``err``, and remembered, as dmesg would keep it."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.errors: list[str] = []
        self._lock = threading.Lock()

    def print(self, text: bytes) -> None:
        with self._lock:
            self.out.write(text.decode(errors="replace") + "\n")
            self.out.flush()

    def report(self, script: str, where: str, message: str) -> None:
        line = f"{script}: error in {where}: {message}"
        with self._lock:
            self.errors.append(line)
            self.err.write(line + "\n")
            self.err.flush()


class Runner(Protocol):
    """What ``lunatik.runtime`` and ``lunatik.runner`` drive: the host's runtimes by script name."""

    def runtime(self, script: str, context: str = "process") -> HostObject: ...
    def run(self, script: str, context: str = "process") -> HostObject: ...
    def spawn(self, script: str) -> HostObject: ...
    def stop(self, script: str) -> None: ...
    def list(self) -> list[str]: ...


@dataclass(frozen=True)
class Services:
    profile: Profile  # error wording (linux.errname), talk-era behaviours (rcu, thread)
    clock: WallClock  # linux.time
    log: ScriptLog  # print, and errors raised in callbacks and threads
    linkwatch: LinkWatch  # notifier.netdevice
    env: RcuTable  # lunatik._ENV, shared by every runtime
    runner: Runner  # lunatik.runtime, lunatik.runner
    # talk-era rcu.publish/subscribe: rcu tables by name
    published: dict[bytes, RcuTable] = field(default_factory=dict)
