"""``require("rcu")``: hash tables shared between runtimes, with the kernel's value rules.

Values are booleans, integers or (non-single) Lunatik objects; strings, tables and functions are
refused with the kernel's "unsupported type", so a script that runs here stores nothing the
kernel would reject. The talk-era API (Lunatik 3) also stored strings: ``allow_strings``.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .bridge import SINGLE_ERROR, HostObject, LuaError, argerror, lua_function

if TYPE_CHECKING:
    from .runtime import Runtime

MAX_KEY = 255
BUCKET_BYTES = 8  # one struct hlist_head per bucket
KVMALLOC_MAX = 2**31 - 1  # kvmalloc refuses anything larger (INT_MAX)


class RcuTable(HostObject):
    lua_class = b"rcu"
    lua_module = b"rcu"
    kernel_class = "rcu"
    irq_safe = True

    def __init__(self, size: int = 256, *, allow_strings: bool = False) -> None:
        self.buckets = 1 << max(size - 1, 0).bit_length()  # rounded up to a power of two
        self.allow_strings = allow_strings
        self._items: dict[bytes, Any] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(key: Any) -> bytes:
        if isinstance(key, int) and not isinstance(key, bool):
            key = str(key).encode()
        if not isinstance(key, bytes):
            raise argerror(2, "__index", "string expected")
        if len(key) > MAX_KEY:
            raise LuaError("not enough memory")
        return key

    def get(self, key: Any) -> Any:
        return self._items.get(self.key(key))

    def set(self, key: Any, value: Any) -> None:
        k = self.key(key)
        if value is None:
            with self._lock:
                self._items.pop(k, None)
            return
        if isinstance(value, HostObject) and value.single:
            raise argerror(3, "__newindex", SINGLE_ERROR)
        ok = (
            isinstance(value, (bool, int))
            or isinstance(value, HostObject)
            or (self.allow_strings and isinstance(value, bytes))
        )
        if not ok:
            raise argerror(3, "__newindex", "unsupported type")
        with self._lock:
            self._items[k] = value

    def items(self) -> list[tuple[bytes, Any]]:
        with self._lock:
            return list(self._items.items())


class RcuModule:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.talk = runtime.kernel.talk

    @lua_function
    def table(self, size: Any = None) -> RcuTable:
        n = 256 if size is None else size
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise argerror(1, "table", "integer expected" if not isinstance(n, int) else "out of bounds")
        t = RcuTable(n, allow_strings=self.runtime.kernel.talk)
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

    # talk-era registry (Lunatik 3.x), only installed by the talk profile
    @lua_function
    def publish(self, name: Any, t: Any) -> None:
        if not isinstance(name, bytes) or not isinstance(t, RcuTable):
            raise LuaError("bad argument to 'publish' (name and rcu table expected)")
        self.runtime.kernel.published[name.decode()] = t

    @lua_function
    def subscribe(self, name: Any) -> RcuTable | None:
        if not isinstance(name, bytes):
            raise argerror(1, "subscribe", "string expected")
        return self.runtime.kernel.published.get(name.decode())
