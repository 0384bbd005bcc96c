"""A small rtnetlink codec and a synchronous session: what Lunatik's lib/netlink is, in Python.

Lunatik's ``netlink.rt`` is itself a few hundred lines of Lua packing structs onto a socket;
the host mirrors it rather than going through pyroute2's general machinery, whose parsers
cost about a millisecond per link dump, a fifth of the event-to-rule budget (bench/event_to_rule).
Only the fields Lunatik's records carry are decoded. Errors are ``OSError`` with the kernel's
errno, which the bridge turns into the bare name a script sees.
"""

from __future__ import annotations

import itertools
import os
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass

# message types
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_SETLINK = 16, 17, 18, 19
RTM_GETADDR = 22
RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE = 24, 25, 26
RTM_NEWRULE, RTM_DELRULE, RTM_GETRULE = 32, 33, 34
NLMSG_ERROR, NLMSG_DONE = 2, 3
# flags
NLM_F_REQUEST, NLM_F_ACK = 0x1, 0x4
NLM_F_EXCL, NLM_F_CREATE, NLM_F_DUMP = 0x200, 0x400, 0x300
# attributes
IFLA_IFNAME, IFLA_MTU = 3, 4
IFA_ADDRESS, IFA_LABEL = 1, 3
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_TABLE = 1, 4, 5, 6, 15
FRA_PRIORITY, FRA_FWMARK, FRA_TABLE, FRA_PROTOCOL = 6, 10, 15, 21
IFF_UP = 0x1

NLMSGHDR = struct.Struct("=IHHII")
IFINFOMSG = struct.Struct("=BxHiII")
IFADDRMSG = struct.Struct("=BBBBI")
RTMSG = struct.Struct("=BBBBBBBBI")   # also fib_rule_hdr: same layout, other field names
RTATTR = struct.Struct("=HH")
U32 = struct.Struct("=I")


def _align(n: int) -> int:
    return (n + 3) & ~3


def attr(kind: int, value: bytes | int) -> bytes:
    data = U32.pack(value) if isinstance(value, int) else value
    return RTATTR.pack(RTATTR.size + len(data), kind) + data + b"\0" * (_align(len(data)) - len(data))


def attrs(data: bytes, offset: int, type_mask: int = 0x3FFF) -> dict[int, bytes]:
    """Attributes by type; ``type_mask`` drops the nested/byte-order flags (0xFFFF keeps them)."""
    out: dict[int, bytes] = {}
    while offset + RTATTR.size <= len(data):
        length, kind = RTATTR.unpack_from(data, offset)
        if length < RTATTR.size:
            break
        out[kind & type_mask] = data[offset + RTATTR.size : offset + length]
        offset += _align(length)
    return out


def _u32(a: dict[int, bytes], kind: int) -> int | None:
    v = a.get(kind)
    return U32.unpack(v[:4])[0] if v and len(v) >= 4 else None


# -- records, with Lunatik's field names ------------------------------------------------------


@dataclass(frozen=True)
class LinkRecord:
    family: int
    ltype: int
    ifindex: int
    flags: int
    change: int
    name: bytes
    mtu: int | None


def decode_link(payload: bytes) -> LinkRecord:
    family, ltype, index, flags, change = IFINFOMSG.unpack_from(payload)
    a = attrs(payload, IFINFOMSG.size)
    return LinkRecord(family, ltype, index, flags, change, a.get(IFLA_IFNAME, b"").rstrip(b"\0"), _u32(a, IFLA_MTU))


def decode_rule(payload: bytes) -> dict[str, int | None]:
    family, _dst, _src, _tos, table, _r1, _r2, action, flags = RTMSG.unpack_from(payload)
    a = attrs(payload, RTMSG.size)
    return {
        "family": family, "action": action, "flags": flags, "table": _u32(a, FRA_TABLE) or table,
        "priority": _u32(a, FRA_PRIORITY) or 0, "fwmark": _u32(a, FRA_FWMARK),
    }


def decode_route(payload: bytes) -> dict[str, int | bytes | None]:
    family, dst_len, src_len, tos, table, protocol, scope, rtype, flags = RTMSG.unpack_from(payload)
    a = attrs(payload, RTMSG.size)
    return {
        "family": family, "dst_len": dst_len, "src_len": src_len, "tos": tos,
        "table": _u32(a, RTA_TABLE) or table, "protocol": protocol, "scope": scope, "rtype": rtype,
        "flags": flags, "dst": a.get(RTA_DST), "gateway": a.get(RTA_GATEWAY), "oif": _u32(a, RTA_OIF),
        "priority": _u32(a, RTA_PRIORITY),
    }


def decode_addr(payload: bytes) -> dict[str, int | bytes | None]:
    family, prefix_len, _flags, scope, index = IFADDRMSG.unpack_from(payload)
    a = attrs(payload, IFADDRMSG.size)
    return {
        "family": family, "prefix_len": prefix_len, "scope": scope, "ifindex": index,
        "address": a.get(IFA_ADDRESS), "label": a.get(IFA_LABEL, b"").rstrip(b"\0"),
    }


def messages(data: bytes) -> Iterator[tuple[int, int, int, bytes]]:
    """(type, flags, seq, payload) of each message in one datagram."""
    offset = 0
    while offset + NLMSGHDR.size <= len(data):
        length, kind, flags, seq, _pid = NLMSGHDR.unpack_from(data, offset)
        if length < NLMSGHDR.size:
            return
        yield kind, flags, seq, data[offset + NLMSGHDR.size : offset + length]
        offset += _align(length)


# -- requests -----------------------------------------------------------------------------


def rule_body(family: int, table: int, action: int, priority: int | None = None,
              fwmark: int | None = None, protocol: int | None = None) -> bytes:
    head = RTMSG.pack(family, 0, 0, 0, table if table <= 255 else 0, 0, 0, action, 0)
    body = attr(FRA_TABLE, table)
    if priority is not None:
        body += attr(FRA_PRIORITY, priority)
    if fwmark is not None:
        body += attr(FRA_FWMARK, fwmark)
    if protocol is not None:
        body += attr(FRA_PROTOCOL, struct.pack("=B", protocol))
    return head + body


def route_body(family: int, table: int, dst_len: int, protocol: int, scope: int, rtype: int,
               dst: bytes | None = None, gateway: bytes | None = None, oif: int | None = None) -> bytes:
    head = RTMSG.pack(family, dst_len, 0, 0, table if table <= 255 else 0, protocol, scope, rtype, 0)
    body = attr(RTA_TABLE, table)
    if dst is not None:
        body += attr(RTA_DST, dst)
    if gateway is not None:
        body += attr(RTA_GATEWAY, gateway)
    if oif is not None:
        body += attr(RTA_OIF, oif)
    return head + body


class Session:
    """One netlink socket (NETLINK_ROUTE unless told); each request waits for its ack or the end
    of its dump."""

    _seq = itertools.count(1)

    def __init__(self, protocol: int = socket.NETLINK_ROUTE) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, protocol)
        self.sock.bind((0, 0))

    def close(self) -> None:
        self.sock.close()

    def request(self, kind: int, flags: int, body: bytes) -> list[tuple[int, bytes]]:
        seq = next(self._seq) & 0xFFFFFFFF
        self.sock.send(NLMSGHDR.pack(NLMSGHDR.size + len(body), kind, NLM_F_REQUEST | flags, seq, 0) + body)
        replies: list[tuple[int, bytes]] = []
        while True:
            data = self.sock.recv(1 << 16)
            for rkind, _rflags, rseq, payload in messages(data):
                if rseq != seq:
                    continue  # a late reply to an earlier request that raised
                if rkind == NLMSG_DONE:
                    return replies
                if rkind == NLMSG_ERROR:
                    error = struct.unpack_from("=i", payload)[0]
                    if error:
                        raise OSError(-error, os.strerror(-error))
                    return replies
                replies.append((rkind, payload))

    def dump(self, kind: int, family: int = socket.AF_UNSPEC) -> list[bytes]:
        if kind == RTM_GETLINK:
            header = IFINFOMSG.pack(family, 0, 0, 0, 0)
        elif kind == RTM_GETADDR:
            header = IFADDRMSG.pack(family, 0, 0, 0, 0)
        else:
            header = RTMSG.pack(family, 0, 0, 0, 0, 0, 0, 0, 0)
        return [p for _k, p in self.request(kind, NLM_F_DUMP, header)]

    def links(self) -> list[LinkRecord]:
        return [decode_link(p) for p in self.dump(RTM_GETLINK)]

    def rules(self, family: int = socket.AF_UNSPEC) -> list[dict]:
        return [decode_rule(p) for p in self.dump(RTM_GETRULE, family)]

    def routes(self, family: int = socket.AF_UNSPEC) -> list[dict]:
        return [decode_route(p) for p in self.dump(RTM_GETROUTE, family)]

    def addrs(self, family: int = socket.AF_UNSPEC) -> list[dict]:
        return [decode_addr(p) for p in self.dump(RTM_GETADDR, family)]

    def add_rule(self, **fields: int | None) -> None:
        self.request(RTM_NEWRULE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, rule_body(**fields))

    def del_rule(self, **fields: int | None) -> None:
        self.request(RTM_DELRULE, NLM_F_ACK, rule_body(**fields))

    def add_route(self, **fields) -> None:
        self.request(RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, route_body(**fields))

    def del_route(self, **fields) -> None:
        self.request(RTM_DELROUTE, NLM_F_ACK, route_body(**fields))

    def set_link(self, ifindex: int, up: bool) -> None:
        body = IFINFOMSG.pack(socket.AF_UNSPEC, 0, ifindex, IFF_UP if up else 0, IFF_UP)
        self.request(RTM_SETLINK, NLM_F_ACK, body)
