"""The talk-era (Lunatik 3.x, Netdev 0x17) API, so the talk's own script runs unmodified.

``fib.newrule/delrule`` called the kernel's ``fib_nl_newrule`` directly, without taking RTNL,
so unlike ``netlink.rt`` they were safe inside a netdevice callback: no guard here.
``rcu.publish/subscribe``, strings in rcu tables, ``notifier.netdev/notify`` and a top-level
``thread.run`` are switched on by ``Kernel(talk=True)`` in their own modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import rtnl
from .bridge import LuaError, as_int, lua_function

if TYPE_CHECKING:
    from .runtime import Runtime

RTPROT_KERNEL = 2


class FibModule:
    def __init__(self, runtime: Runtime) -> None:
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


MODULES = {"fib": FibModule}
