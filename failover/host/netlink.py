"""``require("netlink")``: ``netlink.rt.rule/route/link/addr`` sessions (host/rtnl.py) and
``netlink.genl()`` generic netlink sessions.

Records and options follow Lunatik's lib/netlink/rt/*.lua and lib/netlink/genl.lua: addresses
are raw network-order bytes, errors are bare errno names. Every ``netlink.rt`` call made from a
netdevice notifier callback raises, because on a real Lunatik kernel it deadlocks the machine
(RTNL is already held there).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import notifier, rtnl
from .bridge import HostObject, LuaError, argerror, as_bytes, as_int, lua_function
from .constants import RTNETLINK

if TYPE_CHECKING:
    from .runtime import Runtime
    from .services import Services

AF_INET = socket.AF_INET
KINDS = (b"rule", b"route", b"link", b"addr")


class Session(HostObject):
    """One rtnetlink socket, as each Lunatik ``netlink.rt.*()`` object opens its own."""

    lua_class = b"netlink.rt"
    lua_module = b"netlink"
    kernel_class = "socket"  # Lunatik's netlink.rt objects are Lua classes over a socket

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.rtnl: rtnl.Session | None = rtnl.Session()

    def release(self) -> None:
        if self.rtnl is not None:
            self.rtnl.close()
            self.rtnl = None


NETLINK_GENERIC = 16  # not in Python's socket module


class GenlSession(HostObject):
    """One NETLINK_GENERIC socket, as Lunatik's ``netlink.genl()``."""

    lua_class = b"netlink.genl"
    lua_module = b"netlink"
    kernel_class = "socket"

    def __init__(self) -> None:
        self.nl: rtnl.Session | None = rtnl.Session(NETLINK_GENERIC)

    def release(self) -> None:
        if self.nl is not None:
            self.nl.close()
            self.nl = None


GENLMSGHDR = struct.Struct("=BBH")
GENL_VERSION = 1
CTRL_ID, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME = 0x10, 3, 1, 2


def _field(opts: Any, name: str, default: Any = None) -> Any:
    if opts is None:
        return default
    v = opts[name.encode()]
    return default if v is None else v


def _int(opts: Any, name: str, default: Any = None) -> Any:
    v = _field(opts, name, default)
    if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
        raise LuaError(f"bad field '{name}' (integer expected)")
    return v


def _addr(opts: Any, name: str, family: int) -> bytes | None:
    v = _field(opts, name)
    if v is not None and (not isinstance(v, bytes) or len(v) != (4 if family == AF_INET else 16)):
        raise LuaError(f"bad field '{name}' (raw address bytes expected)")
    return v


def _rule_fields(opts: Any) -> dict[str, Any]:
    return {
        "family": _int(opts, "family", AF_INET),
        "table": _int(opts, "table", RTNETLINK["table"]["MAIN"]),
        "action": _int(opts, "action", RTNETLINK["fr_act"]["TO_TBL"]),
        "priority": _int(opts, "priority"),
        "fwmark": _int(opts, "fwmark"),
        "protocol": _int(opts, "protocol"),
    }


def _route_fields(opts: Any, verb: str) -> dict[str, Any]:
    family = _int(opts, "family", AF_INET)
    fields = {
        "family": family,
        "table": _int(opts, "table", RTNETLINK["table"]["MAIN"]),
        "dst_len": _int(opts, "dst_len", 0),
        "dst": _addr(opts, "dst", family),
        "gateway": _addr(opts, "gateway", family),
        "oif": _int(opts, "oif"),
    }
    if verb == "add":
        fields.update(
            protocol=_int(opts, "protocol", RTNETLINK["rtprot"]["STATIC"]),
            scope=_int(opts, "scope", RTNETLINK["scope"]["UNIVERSE"]),
            rtype=_int(opts, "rtype", RTNETLINK["rtn"]["UNICAST"]),
        )
    else:
        # As Lunatik: scope NOWHERE is the kernel's wildcard, protocol and type 0 match any.
        fields.update(protocol=0, scope=RTNETLINK["scope"]["NOWHERE"], rtype=0)
    return fields


class NetlinkModule:
    def __init__(self, runtime: Runtime, services: Services) -> None:
        self.runtime = runtime

    def _session(self, s: Session, verb: str) -> rtnl.Session:
        if notifier.in_callback():
            raise LuaError(
                f"netlink.rt.{s.kind}:{verb} called from a netdevice notifier: RTNL is held there, "
                "this deadlocks a real Lunatik kernel (record the event, act from a thread)"
            )
        if s.rtnl is None:
            raise LuaError("closed netlink session")
        return s.rtnl

    def _records(self, rows: list[dict]) -> Any:
        lua = self.runtime.lua
        return lua.table_from([lua.table_from({k.encode(): v for k, v in r.items()}) for r in rows])

    @lua_function
    def open(self, kind: bytes) -> Session:
        if kind not in KINDS:
            raise argerror(1, "netlink.rt", "unknown object")
        self.runtime.admit(Session)
        return self.runtime.own(Session(kind.decode()))

    @lua_function
    def close(self, s: Session) -> None:
        s.release()

    @lua_function
    def list(self, s: Session, family: Any = None) -> Any:
        session = self._session(s, "list")
        fam = family or socket.AF_UNSPEC
        if s.kind == "link":
            rows = [vars(r) for r in session.links()]
        else:
            rows = {"rule": session.rules, "route": session.routes, "addr": session.addrs}[s.kind](fam)
        return self._records(rows)

    def _change(self, s: Session, verb: str, opts: Any) -> None:
        session = self._session(s, verb)
        actions: dict[str, Callable[..., None]] = {
            "rule": session.add_rule if verb == "add" else session.del_rule,
            "route": session.add_route if verb == "add" else session.del_route,
        }
        if s.kind not in actions:
            raise LuaError(f"netlink.rt.{s.kind} has no {verb}")
        fields = _rule_fields(opts) if s.kind == "rule" else _route_fields(opts, verb)
        actions[s.kind](**fields)

    @lua_function
    def add(self, s: Session, opts: Any) -> None:
        self._change(s, "add", opts)

    @lua_function
    def delete(self, s: Session, opts: Any) -> None:
        self._change(s, "del", opts)

    # -- netlink.genl ------------------------------------------------------------------------

    @lua_function
    def genl_open(self) -> GenlSession:
        self.runtime.admit(GenlSession)
        return self.runtime.own(GenlSession())

    def _genl(self, g: GenlSession, family: Any, cmd: Any, flags: int, payload: Any, fname: str) -> Any:
        if g.nl is None:
            raise LuaError("closed netlink session")
        fid, c = as_int(family, 2, fname), as_int(cmd, 3, fname)
        body = GENLMSGHDR.pack(c & 0xFF, GENL_VERSION, 0) + (b"" if payload is None else as_bytes(payload, 5, fname))
        lua = self.runtime.lua
        out = []
        for _kind, reply in g.nl.request(fid, flags, body):
            if len(reply) >= GENLMSGHDR.size:
                fields = rtnl.attrs(reply, GENLMSGHDR.size, type_mask=0xFFFF)
                out.append(lua.table_from({b"cmd": reply[0], b"attrs": lua.table_from(fields)}))
        return lua.table_from(out)

    @lua_function
    def genl_call(self, g: GenlSession, family: Any, cmd: Any, flags: Any = None, payload: Any = None) -> Any:
        extra = 0 if flags is None else as_int(flags, 4, "call")
        return self._genl(g, family, cmd, rtnl.NLM_F_ACK | extra, payload, "call")

    @lua_function
    def genl_dump(self, g: GenlSession, family: Any, cmd: Any, payload: Any = None) -> Any:
        return self._genl(g, family, cmd, rtnl.NLM_F_DUMP, payload, "dump")

    @lua_function
    def genl_family(self, g: GenlSession, name: Any) -> int:
        wanted = as_bytes(name, 2, "family")
        if g.nl is None:
            raise LuaError("closed netlink session")
        body = GENLMSGHDR.pack(CTRL_CMD_GETFAMILY, GENL_VERSION, 0) + rtnl.attr(CTRL_ATTR_FAMILY_NAME, wanted + b"\0")
        for _kind, reply in g.nl.request(CTRL_ID, rtnl.NLM_F_ACK, body):
            fid = rtnl.attrs(reply, GENLMSGHDR.size).get(CTRL_ATTR_FAMILY_ID)
            if fid is not None and len(fid) >= 2:
                return struct.unpack("=H", fid[:2])[0]
        raise LuaError(f"genl family not found: {wanted.decode(errors='replace')}")

    @lua_function
    def set(self, s: Session, opts: Any) -> None:
        session = self._session(s, "set")
        if s.kind != "link":
            raise LuaError(f"netlink.rt.{s.kind} has no set")
        index = _int(opts, "ifindex")
        if index is None:
            raise LuaError("bad field 'ifindex' (integer expected)")
        session.set_link(index, bool(_field(opts, "up")))
