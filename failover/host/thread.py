"""``require("thread")``: kernel threads that run a runtime's entry function.

A thread body holds its runtime's lock for its whole run, as a Lunatik kthread does; a stop
request sets ``stopping``, which ``thread.shouldstop()`` reads and ``linux.schedule`` waits on.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import TYPE_CHECKING, Any

import lupa.lua55 as lua55

from .bridge import HostObject, LuaError, argerror, lua_function

from .runtime import Runtime

if TYPE_CHECKING:
    from .services import Services

_local = threading.local()
_running: weakref.WeakSet[KThread] = weakref.WeakSet()


def current() -> KThread | None:
    return getattr(_local, "kthread", None)


def running(services: Services) -> list[KThread]:
    """The live threads of one host (its runtimes share ``services``), stopped runtimes' included."""
    return [kt for kt in list(_running) if kt.alive and kt.runtime.services is services]


class KThread(HostObject):
    lua_class = b"thread"
    lua_module = b"thread"
    kernel_class = "thread"

    def __init__(self, runtime: Runtime | None, name: str) -> None:
        self.runtime = runtime
        self.name = name
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _main(self) -> None:
        _local.kthread = self
        assert self.runtime is not None
        self.runtime.call(f"thread {self.name}", self.runtime.entry)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._main, name=f"lunatik:{self.name}", daemon=True)
        _running.add(self)
        self._thread.start()

    def stop(self) -> None:
        """``kthread_stop``: ask, then wait for the body to return."""
        self.stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def task(self) -> dict[bytes, Any]:
        ident = self._thread.native_id if self._thread else 0
        return {b"cpu": 0, b"command": self.name.encode(), b"pid": ident or 0, b"tgid": os.getpid()}


def start(runtime: Runtime, name: str) -> KThread:
    if runtime.context != "process":
        raise LuaError("IRQ runtime cannot spawn threads")
    if runtime.entry is None or lua55.lua_type(runtime.entry) != "function":
        raise LuaError(f"{runtime.script}: the script returned no thread body")
    kt = KThread(runtime, name)
    kt.start()
    return kt


class ThreadModule:
    def __init__(self, runtime: Runtime, services: Services) -> None:
        self.runtime = runtime
        self.at_load = services.profile.threads_at_load

    @lua_function
    def run(self, rt: Any, name: Any) -> KThread:
        if self.runtime.loading and not self.at_load:
            raise LuaError("not allowed during module load")
        if not isinstance(rt, Runtime):
            raise LuaError("bad argument #1 to 'run' (runtime expected)")
        if rt.irq:
            raise argerror(1, "run", "IRQ runtime cannot spawn threads")
        if not isinstance(name, bytes):
            raise LuaError("bad argument #2 to 'run' (string expected)")
        self.runtime.admit(KThread)
        return start(rt, name.decode(errors="replace"))

    @lua_function
    def shouldstop(self) -> bool:
        kt = current()
        return kt is not None and kt.stopping.is_set()

    @lua_function
    def current(self) -> KThread:
        self.runtime.admit(KThread)
        kt = current()
        if kt is not None:
            return kt
        # Not a kthread: a handle on the calling task with no runtime, as in the kernel.
        return KThread(None, threading.current_thread().name)

    @lua_function
    def stop(self, kt: Any) -> None:
        kt.stop()

    @lua_function
    def task(self, kt: Any) -> Any:
        return self.runtime.lua.table_from(kt.task())
