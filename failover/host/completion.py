"""``require("completion")``: wake a kernel thread from a callback (``complete``/``wait``)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .bridge import HostObject, argerror, lua_function

if TYPE_CHECKING:
    from .runtime import Runtime
    from .services import Services


class Completion(HostObject):
    """Counts ``complete`` calls; each ``wait`` consumes one, as ``struct completion`` does."""

    lua_class = b"completion"
    lua_module = b"completion"
    kernel_class = "completion"
    irq_safe = True

    def __init__(self) -> None:
        self._done = threading.Semaphore(0)

    def complete(self) -> None:
        self._done.release()

    def wait(self, ms: int | None) -> bool:
        # Like wait_for_completion_interruptible_timeout, a thread stop does not end the wait:
        # callers bound it.
        return self._done.acquire(timeout=None if ms is None else ms / 1000)


class CompletionModule:
    def __init__(self, runtime: Runtime, services: Services) -> None:
        self.runtime = runtime

    @lua_function
    def new(self) -> Completion:
        return Completion()

    @lua_function
    def complete(self, c: Completion) -> None:
        c.complete()

    @lua_function
    def wait(self, c: Completion, ms: Any = None) -> tuple:
        if ms is not None and (isinstance(ms, bool) or not isinstance(ms, int) or ms < 0):
            raise argerror(1, "wait", "integer expected")
        self.runtime.check_context("process")  # luacompletion_wait: lunatik_checkruntime(NONE)
        if c.wait(ms):
            return (True,)
        return (None, b"timeout")
