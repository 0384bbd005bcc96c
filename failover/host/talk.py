"""The talk-era (Lunatik 3.x, Netdev 0x17) API, so the talk's own script runs unmodified: what the
talk profile's modules add to the current ones (``registry.py``).

``fib.newrule/delrule`` called the kernel's ``fib_nl_newrule`` directly, without taking RTNL,
so unlike ``netlink.rt`` they were safe inside a netdevice callback: no guard here.
``rcu.publish/subscribe`` share a table by name; ``notifier.netdev/notify`` and ``n:delete()`` are
Lua only (``lua/modules/talk/``). Strings in rcu tables and a thread started from a script's top
level are the profile's (``Profile.rcu_strings``, ``Profile.threads_at_load``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import rtnl
from .bridge import LuaError, argerror, as_int, lua_function
from .rcu import RcuModule
from .rcutable import RcuTable

if TYPE_CHECKING:
    from .runtime import Runtime
    from .services import Services

RTPROT_KERNEL = 2


class FibModule:
    def __init__(self, runtime: Runtime, services: Services) -> None:
        self.runtime = runtime

    def _rule(self, verb: str, table: Any, priority: Any) -> None:
        t, p = as_int(table, 1, f"{verb}rule"), as_int(priority, 2, f"{verb}rule")
        session = rtnl.Session()
        try:
            # u8 header table only (ids above 255 were truncated), proto kernel, no selectors.
            fields = dict(family=2, table=t & 0xFF, action=1, priority=p, protocol=RTPROT_KERNEL)
            (session.add_rule if verb == "add" else session.del_rule)(**fields)
        except OSError:
            raise LuaError(f"failed on {'newrule' if verb == 'add' else 'delrule'}") from None
        finally:
            session.close()

    @lua_function
    def newrule(self, table: Any, priority: Any) -> None:
        self._rule("add", table, priority)

    @lua_function
    def delrule(self, table: Any, priority: Any) -> None:
        self._rule("del", table, priority)


class PublishingRcuModule(RcuModule):
    """``rcu`` with Lunatik 3's registry of tables by name, shared by the host's runtimes."""

    def __init__(self, runtime: Runtime, services: Services) -> None:
        super().__init__(runtime, services)
        self.published = services.published

    @lua_function
    def publish(self, name: Any, t: Any) -> None:
        if not isinstance(name, bytes) or not isinstance(t, RcuTable):
            raise LuaError("bad argument to 'publish' (name and rcu table expected)")
        self.published[name] = t

    @lua_function
    def subscribe(self, name: Any) -> RcuTable | None:
        if not isinstance(name, bytes):
            raise argerror(1, "subscribe", "string expected")
        return self.published.get(name)
