"""The emulated kernel side of Lunatik: the runtimes, the global ``_ENV``, the netdevice
chain, and the record of script errors.

``Kernel`` is what ``lunatik run``/``spawn``/``stop`` talk to: the host's counterpart of
``lunatik.runner`` and of the ``/dev/lunatik`` driver.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from . import completion, crypto, data, errstyle, fifo, linux, lunatik, netlink, notifier, rcu, socket, thread
from ..package_data import kernel_root
from . import set as lset
from .bridge import LuaError
from .constants import MODULES as CONSTANTS
from .linkwatch import LinkWatch
from .runtime import Runtime, ScriptError
from .wallclock import WallClock

ModuleFactory = Callable[[Runtime], Any]

# Lua module name -> factory of its Python side for one runtime.
CURRENT_API: dict[str, ModuleFactory] = {
    "linux": linux.LinuxModule,
    "notifier": notifier.NotifierModule,
    "netlink": netlink.NetlinkModule,
    "rcu": rcu.RcuModule,
    "data": data.DataModule,
    "completion": completion.CompletionModule,
    "fifo": fifo.FifoModule,
    "set": lset.SetModule,
    "socket": socket.SocketModule,
    "thread": thread.ThreadModule,
    "lunatik": lunatik.LunatikModule,
    "lunatik.runner": lunatik.LunatikModule,
    "crypto": crypto.CryptoModule,
}


# The GIL hands over every 5 ms by default: a notifier waking the daemon thread could wait that
# long. Kernel threads are woken at once; 0.2 ms keeps the host's event path near that.
SWITCH_INTERVAL_S = 0.0002


class Kernel:
    def __init__(
        self,
        root: str | Path | None = None,  # None: the scripts shipped with the package
        *,
        talk: bool = False,
        sources: dict[str, bytes] | None = None,
        out: TextIO | None = None,
        err: TextIO | None = None,
        error_style: str | None = None,
        clock: WallClock | None = None,
    ) -> None:
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        self.root = Path(root if root is not None else kernel_root()).resolve()
        self.talk = talk
        self.modules: dict[str, ModuleFactory] = dict(CURRENT_API)
        if talk:
            from . import talk as talk_api

            self.modules.update(talk_api.MODULES)
        self.constants = CONSTANTS
        # How failed calls read (errstyle) and linux.time()'s clock; by default from the environment.
        self.error_style = error_style or errstyle.from_environment()
        if self.error_style not in errstyle.STYLES:
            raise ValueError(f"error style {self.error_style!r}: expected one of {errstyle.STYLES}")
        self.clock = clock or WallClock.from_environment()
        # Modules given as Lua source (the generated failover.conf).
        self.sources = dict(sources or {})
        self.env = rcu.RcuTable(256, allow_strings=talk)
        self.published: dict[str, rcu.RcuTable] = {}  # talk-era rcu.publish registry
        self.linkwatch = LinkWatch()
        self.errors: list[str] = []
        self._out = out or sys.stdout
        self._err = err or sys.stderr
        self._print_lock = threading.Lock()
        self._lock = threading.RLock()
        self.runtimes: list[Runtime] = []
        self.scripts: dict[str, Runtime] = {}
        self.threads: dict[str, thread.KThread] = {}

    # -- what scripts see -------------------------------------------------------------------

    def script_path(self, script: str) -> Path:
        path = (self.root / f"{script}.lua").resolve()
        if self.root not in path.parents:
            raise ScriptError(f"{script}: outside the script root {self.root}")
        return path

    def print(self, text: bytes) -> None:
        with self._print_lock:
            self._out.write(text.decode(errors="replace") + "\n")
            self._out.flush()

    def report(self, script: str, where: str, message: str) -> None:
        """A script raised after loading (callback, thread): log it as dmesg would, remember it."""
        line = f"{script}: error in {where}: {message}"
        with self._print_lock:
            self.errors.append(line)
            self._err.write(line + "\n")
            self._err.flush()

    # -- runtimes ---------------------------------------------------------------------------

    def runtime(self, script: str, context: str = "process") -> Runtime:
        """``lunatik.runtime``: a new state with the script's top level run once."""
        rt = Runtime(self, script, context)
        with self._lock:
            self.runtimes.append(rt)
        try:
            rt.load()
        except BaseException:
            rt.stop()
            raise
        return rt

    def forget(self, rt: Runtime) -> None:
        with self._lock:
            if rt in self.runtimes:
                self.runtimes.remove(rt)

    def run(self, script: str, context: str = "process") -> Runtime:
        """``lunatik run``: a runtime that stays until ``stop``."""
        script = script.removesuffix(".lua")
        with self._lock:
            if script in self.scripts:
                raise LuaError(f"{script} is already running")
        rt = self.runtime(script, context)
        with self._lock:
            self.scripts[script] = rt
        return rt

    def spawn(self, script: str) -> thread.KThread:
        """``lunatik spawn``: ``run``, then a kernel thread on the script's entry function."""
        script = script.removesuffix(".lua")
        rt = self.run(script)
        try:
            kt = thread.start(rt, "/".join(script.split("/")[-2:]))
        except BaseException:
            self.stop(script)
            raise
        with self._lock:
            self.threads[script] = kt
        return kt

    def stop(self, script: str) -> None:
        """``lunatik stop``: the thread first, then the runtime."""
        script = script.removesuffix(".lua")
        with self._lock:
            kt = self.threads.pop(script, None)
            rt = self.scripts.pop(script, None)
        if kt is not None:
            kt.stop()
        if rt is not None:
            rt.stop()

    def list(self) -> list[str]:
        with self._lock:
            return list(self.scripts)

    def shutdown(self) -> None:
        """Stop every script, newest first (the notifier before the daemon it wakes)."""
        for script in reversed(self.list()):
            self.stop(script)
        for kt in list(thread.running(self)):
            kt.stop()
        with self._lock:
            rts = list(self.runtimes)
        for rt in reversed(rts):
            rt.stop()
        self.linkwatch.close()
