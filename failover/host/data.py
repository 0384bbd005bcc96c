"""``require("data")``: a fixed-size byte buffer, the Lunatik way to share strings."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from .bridge import HostObject, argerror, as_bytes, as_int, lua_function

if TYPE_CHECKING:
    from .runtime import Runtime
    from .services import Services

# name -> struct format, native byte order as in the kernel (x86: little-endian)
FIELDS = {
    "byte": "<B", "int8": "<b", "uint8": "<B", "int16": "<h", "uint16": "<H",
    "int32": "<i", "uint32": "<I", "int64": "<q", "uint64": "<Q", "number": "<q",
}


class Data(HostObject):
    lua_class = b"data"
    lua_module = b"data"
    kernel_class = "data"
    irq_safe = True

    def __init__(self, size: int, single: bool = False) -> None:
        self.buf = bytearray(size)
        self.single = single  # data.new(n, "single"): may not leave its runtime

    def _range(self, offset: int, length: int, fname: str) -> slice:
        if offset < 0 or length < 0 or offset + length > len(self.buf):
            raise argerror(2, fname, "out of bounds")
        return slice(offset, offset + length)


class DataModule:
    def __init__(self, runtime: Runtime, services: Services) -> None:
        self.runtime = runtime

    @lua_function
    def new(self, size: Any, mode: Any = None) -> Data:
        n = as_int(size, 1, "new")
        if n < 0:
            raise argerror(1, "new", "out of bounds")
        if mode not in (None, b"shared", b"single"):
            shown = mode.decode(errors="replace") if isinstance(mode, bytes) else "?"
            raise argerror(2, "new", f"invalid option '{shown}'")
        return Data(n, single=mode == b"single")

    @lua_function
    def get(self, d: Data, kind: bytes, offset: Any) -> int:
        fmt = FIELDS[kind.decode()]
        off = as_int(offset, 2, "get" + kind.decode())
        r = d._range(off, struct.calcsize(fmt), "get" + kind.decode())
        return struct.unpack(fmt, d.buf[r])[0]

    @lua_function
    def set(self, d: Data, kind: bytes, offset: Any, value: Any) -> None:
        fmt = FIELDS[kind.decode()]
        name = "set" + kind.decode()
        off = as_int(offset, 2, name)
        r = d._range(off, struct.calcsize(fmt), name)
        bits = struct.calcsize(fmt) * 8
        v = as_int(value, 3, name) & ((1 << bits) - 1)  # truncation, as a C store does
        d.buf[r] = v.to_bytes(bits // 8, "little")

    @lua_function
    def getstring(self, d: Data, offset: Any, length: Any = None) -> bytes:
        off = as_int(offset, 2, "getstring")
        n = len(d.buf) - off if length is None else as_int(length, 3, "getstring")
        return bytes(d.buf[d._range(off, n, "getstring")])

    @lua_function
    def setstring(self, d: Data, offset: Any, s: Any) -> None:
        b = as_bytes(s, 3, "setstring")
        d.buf[d._range(as_int(offset, 2, "setstring"), len(b), "setstring")] = b

    @lua_function
    def length(self, d: Data) -> int:
        return len(d.buf)
