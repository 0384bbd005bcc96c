"""``require("fifo")``: a byte queue shared between runtimes (Lunatik's kfifo wrapper)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .bridge import HostObject, LuaError, argerror, as_bytes, as_int, lua_function

if TYPE_CHECKING:
    from .runtime import Runtime
    from .services import Services


class Fifo(HostObject):
    """A kfifo: its capacity is the size asked for, rounded up to a power of two."""

    lua_class = b"fifo"
    lua_module = b"fifo"
    kernel_class = "fifo"
    irq_safe = True

    def __init__(self, size: int) -> None:
        self.capacity = 1 << max(size - 1, 0).bit_length() if size > 0 else 0
        self.buf = bytearray()
        self.lock = threading.Lock()
        self.closed = False

    def push(self, data: bytes) -> None:
        with self.lock:
            if len(data) > self.capacity - len(self.buf):
                raise argerror(2, "push", "not enough space")
            self.buf += data

    def pop(self, size: int) -> bytes:
        with self.lock:
            out = bytes(self.buf[:size])
            del self.buf[:size]
            return out

    def release(self) -> None:
        with self.lock:
            self.closed = True
            self.buf.clear()
            self.capacity = 0


class FifoModule:
    def __init__(self, runtime: Runtime, services: Services) -> None:
        self.runtime = runtime

    @lua_function
    def new(self, size: Any) -> Fifo:
        n = as_int(size, 1, "new")
        if n < 2:
            # kfifo_alloc: fewer than two bytes is EINVAL; a negative size_t is too big (ENOMEM)
            raise LuaError(f"failed to allocate kfifo ({-12 if n < 0 else -22})")
        return Fifo(n)

    @lua_function
    def push(self, f: Fifo, data: Any) -> None:
        f.push(as_bytes(data, 2, "push"))

    @lua_function
    def pop(self, f: Fifo, size: Any) -> tuple:
        n = as_int(size, 2, "pop")
        if n < 0:
            raise argerror(2, "pop", "out of bounds")
        out = f.pop(n)
        return out, len(out)

    @lua_function
    def close(self, f: Fifo) -> None:
        f.release()
