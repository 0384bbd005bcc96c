"""``require("notifier")``: ``notifier.netdevice(cb)`` fed by the link watcher.

In the kernel the netdevice chain runs with RTNL held, so an rtnetlink request from a callback
deadlocks the machine. ``in_callback`` lets ``netlink`` refuse such calls here instead.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import lupa.lua55 as lua55

from .bridge import HostObject, LuaError, argerror, lua_function

if TYPE_CHECKING:
    from .runtime import Runtime
    from .services import Services

_local = threading.local()


def in_callback() -> bool:
    return getattr(_local, "depth", 0) > 0


class Notifier(HostObject):
    lua_class = b"notifier"
    lua_module = b"notifier"
    kernel_class = "notifier"
    single = True  # cannot be stored in rcu tables or handed to other runtimes

    def __init__(self, runtime: Runtime, callback: Any) -> None:
        self.runtime = runtime
        self.callback = callback
        self.active = True
        self._unsubscribe: Any = None

    def deliver(self, event: int, name: str) -> None:
        if not self.active:
            return
        _local.depth = getattr(_local, "depth", 0) + 1
        try:
            self.runtime.call("netdevice notifier", self.callback, event, name.encode())
        finally:
            _local.depth -= 1

    def stop(self) -> None:
        # A soft stop, as in the kernel: later events are ignored, the block stays registered
        # until the runtime stops.
        self.active = False

    def release(self) -> None:
        self.active = False
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None


class NotifierModule:
    def __init__(self, runtime: Runtime, services: Services) -> None:
        self.runtime = runtime
        self.linkwatch = services.linkwatch

    @lua_function
    def netdevice(self, callback: Any) -> Notifier:
        if lua55.lua_type(callback) != "function":
            raise argerror(1, "netdevice", "function expected")
        # As luanotifier_new: the object first (class check), then the runtime's context.
        self.runtime.admit(Notifier)
        self.runtime.check_context("process")
        n = Notifier(self.runtime, callback)
        self.runtime.own(n)
        n._unsubscribe = self.linkwatch.subscribe(n.deliver)
        return n

    @lua_function
    def keyboard(self, callback: Any) -> None:
        self._hardirq("keyboard", callback)

    @lua_function
    def vterm(self, callback: Any) -> None:
        self._hardirq("vterm", callback)

    def _hardirq(self, chain: str, callback: Any) -> None:
        """The keyboard and vterm chains need a hardirq runtime (lunatik_checkruntime), and the
        host has neither chain: past the context check they are refused."""
        if lua55.lua_type(callback) != "function":
            raise argerror(1, chain, "function expected")
        self.runtime.check_context("hardirq")
        raise LuaError(f"notifier.{chain}: the {chain} notifier chain exists only in the kernel")

    @lua_function
    def stop(self, n: Notifier) -> None:
        n.stop()
