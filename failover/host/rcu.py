"""``require("rcu")``: hash tables shared between runtimes (``rcutable.py``), and ``rcu.map``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .bridge import LuaError, argerror, lua_function
from .rcutable import RcuTable

if TYPE_CHECKING:
    from .runtime import Runtime
    from .services import Services

BUCKET_BYTES = 8  # one struct hlist_head per bucket
KVMALLOC_MAX = 2**31 - 1  # kvmalloc refuses anything larger (INT_MAX)


class RcuModule:
    def __init__(self, runtime: Runtime, services: Services) -> None:
        self.runtime = runtime
        self.strings = services.profile.rcu_strings

    @lua_function
    def table(self, size: Any = None) -> RcuTable:
        n = 256 if size is None else size
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise argerror(1, "table", "integer expected" if not isinstance(n, int) else "out of bounds")
        t = RcuTable(n, allow_strings=self.strings)
        if t.buckets * BUCKET_BYTES > KVMALLOC_MAX:
            raise LuaError("not enough memory")  # the kernel's bucket array could not be allocated
        return t

    @lua_function
    def get(self, t: RcuTable, key: Any) -> Any:
        return t.get(key)

    @lua_function
    def set(self, t: RcuTable, key: Any, value: Any) -> None:
        t.set(key, value)

    @lua_function
    def entries(self, t: RcuTable) -> Any:
        # A snapshot, so rcu.map's callback may write to the table it walks. Returned as
        # values (n, k1, v1, k2, v2...), not in a table: lupa's table_from can hand back a stale
        # wrapper for an object whose address an object freed earlier had (seen with data values).
        pairs = t.items()
        return (len(pairs), *(x for pair in pairs for x in pair))
