"""The emulated kernel side of Lunatik: the host's runtimes, by script name.

``Kernel`` is what ``lunatik run``/``spawn``/``stop`` talk to: the host's counterpart of
``lunatik.runner`` and of the ``/dev/lunatik`` driver. It chooses the profile's modules
(``registry.py``) once and hands every module the same services (``services.py``).
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import TextIO

from . import registry, thread
from .bridge import LuaError
from .linkwatch import LinkWatch
from .profile import Profile
from .rcutable import RcuTable
from .runtime import Library, Runtime
from .services import ScriptLog, Services
from .wallclock import WallClock

# The GIL hands over every 5 ms by default: a notifier waking a script's thread could wait that
# long. Kernel threads are woken at once; 0.2 ms keeps the host's event path near that.
SWITCH_INTERVAL_S = 0.0002


class Kernel:
    def __init__(
        self,
        root: str | Path,  # where scripts and the modules they require are (/lib/modules/lua)
        *,
        profile: Profile | None = None,  # None: the current API, errors as the environment says
        sources: dict[str, bytes] | None = None,  # modules given as Lua source
        out: TextIO | None = None,
        err: TextIO | None = None,
        clock: WallClock | None = None,  # linux.time()'s; None: as the environment says
    ) -> None:
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        self.profile = profile or Profile.choose()
        self.library = Library(
            Path(root).resolve(),
            registry.modules(self.profile.api),
            dict(sources or {}),
        )
        self.log = ScriptLog(out, err)
        self.services = Services(
            profile=self.profile,
            clock=clock or WallClock.from_environment(),
            log=self.log,
            linkwatch=LinkWatch(),
            env=RcuTable(256, allow_strings=self.profile.rcu_strings),
            runner=self,
        )
        self._lock = threading.RLock()
        self.runtimes: list[Runtime] = []
        self.scripts: dict[str, Runtime] = {}
        self.threads: dict[str, thread.KThread] = {}

    @property
    def sources(self) -> dict[str, bytes]:
        """Modules given as Lua source; a change is seen by runtimes created after it."""
        return self.library.sources

    @property
    def errors(self) -> list[str]:
        """Errors scripts raised after loading, as logged."""
        return self.log.errors

    @property
    def env(self) -> RcuTable:
        return self.services.env

    # -- runtimes ---------------------------------------------------------------------------

    def runtime(self, script: str, context: str = "process") -> Runtime:
        """``lunatik.runtime``: a new state with the script's top level run once."""
        rt = Runtime(script, context, services=self.services, library=self.library, on_stop=self.forget)
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
        """Stop every script, newest first (a notifier before the thread it wakes, when started after it)."""
        for script in reversed(self.list()):
            self.stop(script)
        for kt in thread.running(self.services):
            kt.stop()
        with self._lock:
            rts = list(self.runtimes)
        for rt in reversed(rts):
            rt.stop()
        self.services.linkwatch.close()
