"""An rcu table: a hash table shared between runtimes, with the kernel's value rules.

Values are booleans, integers or (non-single) Lunatik objects; strings, tables and functions are
refused with the kernel's "unsupported type", so a script that runs here stores nothing the
kernel would reject. The talk-era API (Lunatik 3) also stored strings: ``allow_strings``.
``lunatik._ENV`` is one, and ``require("rcu")`` makes more (``rcu.py``).
"""

from __future__ import annotations

import threading
from typing import Any

from .bridge import SINGLE_ERROR, HostObject, LuaError, argerror

MAX_KEY = 255


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
