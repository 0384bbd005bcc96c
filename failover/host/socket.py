"""``require("socket")``: kernel sockets, emulated with real sockets of this namespace.

Blocking behaviour, ``MSG_DONTWAIT``, ``SO_RCVTIMEO``/``SO_SNDTIMEO`` and errors come from the
kernel itself (the options are passed through unchanged), so a receive that times out raises
``"EAGAIN"`` here exactly as it does in a Lunatik thread.
"""

from __future__ import annotations

import socket as pysocket
import struct
from typing import TYPE_CHECKING, Any

from .bridge import HostObject, LuaError, argerror, as_int, lua_function

if TYPE_CHECKING:
    from .runtime import Runtime
    from .services import Services

O_NONBLOCK = pysocket.SOCK_NONBLOCK
FAMILIES = (pysocket.AF_INET, pysocket.AF_UNIX, pysocket.AF_NETLINK, pysocket.AF_PACKET)


def ntoa(ip: int) -> str:
    return pysocket.inet_ntoa(struct.pack(">I", ip & 0xFFFFFFFF))


def aton(text: str) -> int:
    return struct.unpack(">I", pysocket.inet_aton(text))[0]


class Socket(HostObject):
    lua_class = b"socket"
    lua_module = b"socket"
    kernel_class = "socket"

    def __init__(self, sock: pysocket.socket) -> None:
        self.sock = sock

    def release(self) -> None:
        try:
            self.sock.shutdown(pysocket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def address(self, addr: Any, port: Any, n: int, fname: str) -> Any:
        if self.sock.family == pysocket.AF_INET:
            return (ntoa(as_int(addr, n, fname)), as_int(port if port is not None else 0, n + 1, fname))
        if self.sock.family == pysocket.AF_UNIX:
            if not isinstance(addr, bytes):
                raise argerror(n, fname, "string expected")
            return addr
        if self.sock.family == pysocket.AF_PACKET:
            # (ethernet protocol, host order; ifindex), as Lunatik's sockaddr_ll
            proto = as_int(addr if addr is not None else 0, n, fname) & 0xFFFF
            index = as_int(port if port is not None else 0, n + 1, fname)
            try:
                return (pysocket.if_indextoname(index), proto)
            except OSError:
                raise LuaError("ENODEV") from None
        if self.sock.family == pysocket.AF_NETLINK:
            # (nl_pid, nl_groups), both optional: 0 is the kernel, no multicast groups
            pid = 0 if addr is None else as_int(addr, n, fname)
            groups = 0 if port is None else as_int(port, n + 1, fname)
            return (pid & 0xFFFFFFFF, groups & 0xFFFFFFFF)
        raise LuaError("EAFNOSUPPORT")

    def unpack(self, addr: Any) -> tuple:
        if self.sock.family == pysocket.AF_INET:
            return (aton(addr[0]), addr[1])
        if self.sock.family == pysocket.AF_NETLINK:
            return (addr[0], addr[1])
        return (addr if isinstance(addr, bytes) else (addr or "").encode(),)


class SocketModule:
    def __init__(self, runtime: Runtime, services: Services) -> None:
        self.runtime = runtime

    @lua_function
    def new(self, family: Any, type_: Any, proto: Any = None) -> Socket:
        fam, typ, pro = as_int(family, 1, "new"), as_int(type_, 2, "new"), as_int(proto, 3, "new")
        self.runtime.admit(Socket)
        if fam not in FAMILIES:
            raise LuaError("EAFNOSUPPORT")
        s = pysocket.socket(fam, typ, pro)
        return self.runtime.own(Socket(s))

    @lua_function
    def send(self, s: Socket, msg: Any, addr: Any = None, port: Any = None) -> int:
        if not isinstance(msg, bytes):
            raise argerror(2, "send", "string expected")
        # netlink always names its destination (the kernel, by default), as Lunatik does
        if addr is None and s.sock.family != pysocket.AF_NETLINK:
            return s.sock.send(msg)
        return s.sock.sendto(msg, s.address(addr, port, 3, "send"))

    @lua_function
    def receive(self, s: Socket, length: Any, flags: Any = None, from_: Any = None) -> Any:
        n, f = as_int(length, 2, "receive"), as_int(flags or 0, 3, "receive")
        if n < 0:
            raise argerror(2, "receive", "out of bounds")
        if from_:
            data, addr = s.sock.recvfrom(n, f)
            return (data, *s.unpack(addr))
        return s.sock.recv(n, f)

    @lua_function
    def bind(self, s: Socket, addr: Any, port: Any = None) -> None:
        s.sock.bind(s.address(addr, port, 2, "bind"))

    @lua_function
    def listen(self, s: Socket, backlog: Any = None) -> None:
        s.sock.listen(pysocket.SOMAXCONN if backlog is None else as_int(backlog, 2, "listen"))

    @lua_function
    def connect(self, s: Socket, addr: Any, port: Any = None, flags: Any = None) -> None:
        if s.sock.family == pysocket.AF_UNIX:
            flags, port = port, None
        target = s.address(addr, port, 2, "connect")
        nonblock = bool(as_int(flags or 0, 4, "connect") & O_NONBLOCK)
        if nonblock:
            # The flags apply to this call only, as kernel_connect's do.
            s.sock.setblocking(False)
        try:
            s.sock.connect(target)
        finally:
            if nonblock:
                s.sock.setblocking(True)

    @lua_function
    def accept(self, s: Socket, flags: Any = None) -> Socket:
        nonblock = bool(as_int(flags or 0, 2, "accept") & O_NONBLOCK)
        if nonblock:
            s.sock.setblocking(False)
        try:
            conn, _ = s.sock.accept()
        finally:
            if nonblock:
                s.sock.setblocking(True)
        conn.setblocking(True)
        return self.runtime.own(Socket(conn))

    @lua_function
    def setsockopt(self, s: Socket, level: Any, name: Any, value: Any) -> None:
        if not isinstance(value, bytes):
            value = as_int(value, 4, "setsockopt")
        s.sock.setsockopt(as_int(level, 2, "setsockopt"), as_int(name, 3, "setsockopt"), value)

    @lua_function
    def getsockname(self, s: Socket) -> tuple:
        return s.unpack(s.sock.getsockname())

    @lua_function
    def getpeername(self, s: Socket) -> tuple:
        return s.unpack(s.sock.getpeername())

    @lua_function
    def close(self, s: Socket) -> None:
        s.release()

    @lua_function
    def aton(self, text: Any) -> int:
        try:
            return aton(text.decode())
        except (OSError, AttributeError, UnicodeDecodeError):
            raise argerror(1, "aton", "invalid address") from None

    @lua_function
    def ntoa(self, ip: Any) -> str:
        return ntoa(as_int(ip, 1, "ntoa"))
