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
"""

from __future__ import annotations

import secrets
import socket
import struct
from dataclasses import dataclass

from ..core.icmp import DEST_UNREACHABLE, ECHO_REPLY, TIME_EXCEEDED
from .prober import RCVBUF, SO_TIMESTAMPNS

__all__ = ["IcmpSocket", "open_icmp"]

# <linux/icmp.h>: a raw ICMP socket's filter (a set bit drops that ICMP type).
SOL_RAW = 255
ICMP_FILTER = 1
_PASS = (1 << ECHO_REPLY) | (1 << DEST_UNREACHABLE) | (1 << TIME_EXCEEDED)


@dataclass(frozen=True, slots=True)
class IcmpSocket:
    sock: socket.socket
    #: The identifier our echo requests carry (and replies must).
    identifier: int
    #: Whether what it reads starts with the IPv4 header (raw) or not (ping socket).
    ip_header: bool


def _options(sock: socket.socket, device: str | None) -> None:
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
    if device is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
    sock.setblocking(False)


def open_icmp(device: str | None = None) -> IcmpSocket:
    """A non-blocking ICMP socket (raw if allowed, else a ping socket) bound to ``device``."""
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    except PermissionError:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
        try:
            _options(sock, device)
            sock.bind(("0.0.0.0", 0))
        except BaseException:
            sock.close()
            raise
        return IcmpSocket(sock, sock.getsockname()[1], ip_header=False)
    try:
        sock.setsockopt(SOL_RAW, ICMP_FILTER, struct.pack("=I", ~_PASS & 0xFFFF_FFFF))
        _options(sock, device)
    except BaseException:
        sock.close()
        raise
    # Our own identifier: other programs' pings (and other path checks) use theirs.
    return IcmpSocket(sock, secrets.randbits(16), ip_header=True)


def rebind(icmp: IcmpSocket, device: str) -> None:
    icmp.sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
