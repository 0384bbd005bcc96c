"""``require("linux")``: clock, sleep, random numbers, interface lookups, errno names."""

from __future__ import annotations

import os
import secrets
import socket
import time
from typing import TYPE_CHECKING, Any

from . import thread
from .bridge import argerror, as_bytes, as_int, lua_function
from .constants import errname

if TYPE_CHECKING:
    from .runtime import Runtime
    from .services import Services

FOREVER_MS = 2**31 - 1


class LinuxModule:
    def __init__(self, runtime: Runtime, services: Services) -> None:
        self.runtime = runtime
        self.clock = services.clock
        self.profile = services.profile

    @lua_function
    def time(self) -> int:
        return self.clock.time_ns()

    @lua_function
    def difftime(self, t2: Any, t1: Any) -> int:
        # The kernel computes it as u64 and pushes it back as a (signed) Lua integer.
        d = (as_int(t2, 1, "difftime") - as_int(t1, 2, "difftime")) & (2**64 - 1)
        return d - 2**64 if d >= 2**63 else d

    @lua_function
    def schedule(self, ms: Any = None, state: Any = None) -> int:
        """Sleep; a stop request wakes a kernel thread early. Returns the milliseconds left."""
        ms = FOREVER_MS if ms is None else as_int(ms, 1, "schedule")
        if ms < 0:
            raise argerror(1, "schedule", "out of bounds")
        self.runtime.check_sleep("schedule")
        start = time.monotonic()
        kt = thread.current()
        if kt is not None:
            kt.stopping.wait(ms / 1000)
        else:
            time.sleep(ms / 1000)
        left = ms - int((time.monotonic() - start) * 1000)
        return max(left, 0)

    @lua_function
    def random(self, m: Any = None, n: Any = None) -> int:
        if m is None:
            return int.from_bytes(secrets.token_bytes(8), "little", signed=True)
        lo, hi = (1, as_int(m, 1, "random")) if n is None else (as_int(m, 1, "random"), as_int(n, 2, "random"))
        if lo > hi:
            raise argerror(1 if n is None else 2, "random", "interval is empty")
        return lo + secrets.randbelow(hi - lo + 1)

    @lua_function
    def ifindex(self, name: Any) -> int:
        try:
            return socket.if_nametoindex(as_bytes(name, 1, "ifindex").decode(errors="replace"))
        except OSError:
            raise argerror(1, "ifindex", "device not found") from None

    @lua_function
    def ifaddr(self, ifindex: Any) -> bytes:
        index = as_int(ifindex, 1, "ifaddr")
        try:
            name = socket.if_indextoname(index)
            mac = open(f"/sys/class/net/{name}/address").read().strip()
        except OSError:
            raise argerror(1, "ifaddr", "device not found") from None
        return bytes.fromhex(mac.replace(":", ""))

    @lua_function
    def errname(self, n: Any) -> str:
        return self.profile.errname(errname(as_int(n, 1, "errname")))

    @lua_function
    def numcpus(self) -> int:
        return os.cpu_count() or 1
