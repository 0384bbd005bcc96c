"""An ICMP socket for the path check's echo probes, bound to the WAN device, with kernel receive
timestamps.

A router runs as root: a raw ICMP socket works in every network namespace, while the unprivileged
"ping" socket (SOCK_DGRAM, IPPROTO_ICMP) is refused in a new namespace
(``net.ipv4.ping_group_range = 1 0``). The raw socket is used when it can be opened, the ping
socket otherwise. A raw socket sees every ICMP message the host receives (its IPv4 header
included); the kernel filter (``ICMP_FILTER``) keeps only echo replies and the two errors that can
quote our requests, and :func:`failover.core.icmp.parse` keeps only those about our identifier.
A ping socket gets its own echo replies only, and the kernel puts the socket's port in the
identifier field.

IPv6 targets get an ICMPv6 socket the same way (raw, else ping), filtered with ``ICMP6_FILTER``
to echo replies and the two errors that can quote our requests; neither kind of ICMPv6 socket
reads the IPv6 header (:func:`failover.core.icmp.parse6`).
"""

from __future__ import annotations

import secrets
import socket
import struct
from dataclasses import dataclass

from ..core.icmp import (
    DEST_UNREACHABLE,
    DEST_UNREACHABLE6,
    ECHO_REPLY,
    ECHO_REPLY6,
    TIME_EXCEEDED,
    TIME_EXCEEDED6,
    encode_echo_request,
    encode_echo_request6,
)
from .prober import RCVBUF, SO_TIMESTAMPNS

__all__ = ["IcmpSocket", "open_icmp"]

# <linux/icmp.h>: a raw ICMP socket's filter (a set bit drops that ICMP type).
SOL_RAW = 255
ICMP_FILTER = 1
_PASS = (1 << ECHO_REPLY) | (1 << DEST_UNREACHABLE) | (1 << TIME_EXCEEDED)
# <linux/icmpv6.h>: struct icmp6_filter, 256 bits, a set bit drops that ICMPv6 type.
ICMP6_FILTER = 1
_PASS6 = (ECHO_REPLY6, DEST_UNREACHABLE6, TIME_EXCEEDED6)


def _icmp6_filter() -> bytes:
    words = [0xFFFF_FFFF] * 8
    for kind in _PASS6:
        words[kind >> 5] &= ~(1 << (kind & 31)) & 0xFFFF_FFFF
    return struct.pack("=8I", *words)


@dataclass(frozen=True, slots=True)
class IcmpSocket:
    sock: socket.socket
    #: The identifier our echo requests carry (and replies must).
    identifier: int
    #: Whether what it reads starts with the IPv4 header (raw IPv4) or not (ping socket, ICMPv6).
    ip_header: bool
    v6: bool = False

    def echo_request(self, sequence: int, t1_ns: int) -> bytes:
        """Our echo request (ICMPv6 on an ICMPv6 socket)."""
        encode = encode_echo_request6 if self.v6 else encode_echo_request
        return encode(self.identifier, sequence, t1_ns)


def _options(sock: socket.socket, device: str | None) -> None:
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
    if device is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
    sock.setblocking(False)


def open_icmp(device: str | None = None, *, v6: bool = False) -> IcmpSocket:
    """A non-blocking ICMP socket (ICMPv6 with ``v6``; raw if allowed, else a ping socket) bound
    to ``device``."""
    family, proto = (socket.AF_INET6, socket.IPPROTO_ICMPV6) if v6 else (socket.AF_INET, socket.IPPROTO_ICMP)
    try:
        sock = socket.socket(family, socket.SOCK_RAW, proto)
    except PermissionError:
        sock = socket.socket(family, socket.SOCK_DGRAM, proto)
        try:
            _options(sock, device)
            sock.bind(("::", 0) if v6 else ("0.0.0.0", 0))
        except BaseException:
            sock.close()
            raise
        return IcmpSocket(sock, sock.getsockname()[1], ip_header=False, v6=v6)
    try:
        if v6:
            sock.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER, _icmp6_filter())
        else:
            sock.setsockopt(SOL_RAW, ICMP_FILTER, struct.pack("=I", ~_PASS & 0xFFFF_FFFF))
        _options(sock, device)
    except BaseException:
        sock.close()
        raise
    # Our own identifier: other programs' pings (and other path checks) use theirs.
    return IcmpSocket(sock, secrets.randbits(16), ip_header=not v6, v6=v6)
