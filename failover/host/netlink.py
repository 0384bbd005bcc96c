"""``require("netlink")``: ``netlink.rt.rule/route/link/addr`` sessions over pyroute2.

Records and options follow Lunatik's lib/netlink/rt/*.lua: addresses are raw network-order
bytes, errors are bare errno names. Every call made from a netdevice notifier callback raises,
because on a real Lunatik kernel it deadlocks the machine (RTNL is already held there).
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from . import notifier
from .bridge import HostObject, LuaError, argerror, lua_function
from .constants import RTNETLINK, errname

if TYPE_CHECKING:
    from .runtime import Runtime

AF_INET = socket.AF_INET
RT_TABLE_MAIN = RTNETLINK["table"]["MAIN"]
KINDS = (b"rule", b"route", b"link", b"addr")


class Session(HostObject):
    """One rtnetlink socket, as each Lunatik ``netlink.rt.*()`` object opens its own."""

    lua_class = b"netlink.rt"
    lua_module = b"netlink"

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.ipr: IPRoute | None = IPRoute()

    def release(self) -> None:
        if self.ipr is not None:
            self.ipr.close()
            self.ipr = None


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


def _addr(opts: Any, name: str, family: int) -> str | None:
    v = _field(opts, name)
    if v is None:
        return None
    if not isinstance(v, bytes) or len(v) != (4 if family == AF_INET else 16):
        raise LuaError(f"bad field '{name}' (raw address bytes expected)")
    return socket.inet_ntop(family, v)


def _raw(family: int, text: str | None) -> bytes | None:
    return None if text is None else socket.inet_pton(family, text)


def _table(msg: Any) -> int:
    return msg.get_attr("FRA_TABLE") or msg.get_attr("RTA_TABLE") or msg["table"]


class NetlinkModule:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def _ipr(self, s: Session, verb: str) -> IPRoute:
        if notifier.in_callback():
            raise LuaError(
                f"netlink.rt.{s.kind}:{verb} called from a netdevice notifier: RTNL is held there, "
                "this deadlocks a real Lunatik kernel (record the event, act from a thread)"
            )
        if s.ipr is None:
            raise LuaError("closed netlink session")
        return s.ipr

    def _call(self, s: Session, verb: str, fn: Any) -> Any:
        ipr = self._ipr(s, verb)
        try:
            return fn(ipr)
        except NetlinkError as e:
            raise LuaError(errname(e.code)) from None

    @lua_function
    def open(self, kind: bytes) -> Session:
        if kind not in KINDS:
            raise argerror(1, "netlink.rt", "unknown object")
        return self.runtime.own(Session(kind.decode()))

    @lua_function
    def close(self, s: Session) -> None:
        s.release()

    @lua_function
    def list(self, s: Session, family: Any = None) -> Any:
        fam = family or 0
        lua = self.runtime.lua
        records = self._call(s, "list", lambda ipr: getattr(self, f"_list_{s.kind}")(ipr, fam))
        return lua.table_from([lua.table_from(r) for r in records])

    @lua_function
    def add(self, s: Session, opts: Any) -> None:
        self._call(s, "add", lambda ipr: getattr(self, f"_change_{s.kind}")(ipr, "add", opts))

    @lua_function
    def delete(self, s: Session, opts: Any) -> None:
        self._call(s, "del", lambda ipr: getattr(self, f"_change_{s.kind}")(ipr, "del", opts))

    @lua_function
    def set(self, s: Session, opts: Any) -> None:
        if s.kind != "link":
            raise LuaError(f"netlink.rt.{s.kind} has no set")
        index = _int(opts, "ifindex")
        if index is None:
            raise LuaError("bad field 'ifindex' (integer expected)")
        state = "up" if _field(opts, "up") else "down"
        self._call(s, "set", lambda ipr: ipr.link("set", index=index, state=state))

    # -- rule -------------------------------------------------------------------------------

    def _list_rule(self, ipr: IPRoute, family: int) -> list[dict]:
        return [
            {
                b"family": m["family"], b"action": m["action"], b"flags": m["flags"],
                b"table": _table(m), b"priority": m.get_attr("FRA_PRIORITY") or 0,
                b"fwmark": m.get_attr("FRA_FWMARK"),
            }
            for m in ipr.get_rules(family=family or socket.AF_UNSPEC)
        ]

    def _change_rule(self, ipr: IPRoute, verb: str, opts: Any) -> None:
        args: dict[str, Any] = {
            "family": _int(opts, "family", AF_INET),
            "table": _int(opts, "table", RT_TABLE_MAIN),
            "action": _int(opts, "action", RTNETLINK["fr_act"]["TO_TBL"]),
        }
        for name in ("priority", "fwmark", "protocol"):
            v = _int(opts, name)
            if v is not None:
                args[name] = v
        ipr.rule(verb, **args)

    # -- route ------------------------------------------------------------------------------

    def _list_route(self, ipr: IPRoute, family: int) -> list[dict]:
        out = []
        for m in ipr.get_routes(family=family or socket.AF_UNSPEC, table=None):
            fam = m["family"]
            out.append(
                {
                    b"family": fam, b"dst_len": m["dst_len"], b"src_len": m["src_len"], b"tos": m["tos"],
                    b"table": _table(m), b"protocol": m["proto"], b"scope": m["scope"], b"rtype": m["type"],
                    b"flags": m["flags"], b"dst": _raw(fam, m.get_attr("RTA_DST")),
                    b"gateway": _raw(fam, m.get_attr("RTA_GATEWAY")), b"oif": m.get_attr("RTA_OIF"),
                    b"priority": m.get_attr("RTA_PRIORITY"),
                }
            )
        return out

    def _change_route(self, ipr: IPRoute, verb: str, opts: Any) -> None:
        family = _int(opts, "family", AF_INET)
        args: dict[str, Any] = {
            "family": family,
            "dst_len": _int(opts, "dst_len", 0),
            "table": _int(opts, "table", RT_TABLE_MAIN),
        }
        dst, gateway, oif = _addr(opts, "dst", family), _addr(opts, "gateway", family), _int(opts, "oif")
        if dst is not None:
            args["dst"] = dst
        if gateway is not None:
            args["gateway"] = gateway
        if oif is not None:
            args["oif"] = oif
        if verb == "add":
            args.update(
                proto=_int(opts, "protocol", RTNETLINK["rtprot"]["STATIC"]),
                scope=_int(opts, "scope", RTNETLINK["scope"]["UNIVERSE"]),
                type=_int(opts, "rtype", RTNETLINK["rtn"]["UNICAST"]),
            )
        else:
            # As Lunatik: scope NOWHERE is the kernel's wildcard, protocol and type 0 match any.
            args.update(scope=RTNETLINK["scope"]["NOWHERE"], proto=0, type=0)
        ipr.route(verb, **args)

    # -- link and addr ----------------------------------------------------------------------

    def _list_link(self, ipr: IPRoute, family: int) -> list[dict]:
        return [
            {
                b"family": m["family"], b"ltype": m["ifi_type"], b"ifindex": m["index"], b"flags": m["flags"],
                b"change": m["change"], b"name": (m.get_attr("IFLA_IFNAME") or "").encode(),
                b"mtu": m.get_attr("IFLA_MTU"),
            }
            for m in ipr.get_links()
        ]

    def _change_link(self, ipr: IPRoute, verb: str, opts: Any) -> None:
        raise LuaError(f"netlink.rt.link has no {verb}")

    def _list_addr(self, ipr: IPRoute, family: int) -> list[dict]:
        out = []
        for m in ipr.get_addr(family=family or socket.AF_UNSPEC):
            fam = m["family"]
            out.append(
                {
                    b"family": fam, b"prefix_len": m["prefixlen"], b"scope": m["scope"], b"ifindex": m["index"],
                    b"address": _raw(fam, m.get_attr("IFA_ADDRESS")),
                    b"label": (m.get_attr("IFA_LABEL") or "").encode(),
                }
            )
        return out

    def _change_addr(self, ipr: IPRoute, verb: str, opts: Any) -> None:
        raise LuaError(f"netlink.rt.addr has no {verb} (list only, as in Lunatik)")
