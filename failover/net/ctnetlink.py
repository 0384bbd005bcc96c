"""ctnetlink requests the kernel executes whole: delete every conntrack entry carrying a mark.

Why: the clean-up after a transition must remove up to 10^5 entries in milliseconds. A dump
decoded in Python and one delete request per entry costs ~1 ms of Python per entry (the issue
measured 68 s for 50,000); one ``IPCTNL_MSG_CT_DELETE`` without a tuple but with ``CTA_MARK`` and
``CTA_MARK_MASK`` makes the kernel walk its table and delete the entries whose
``mark & mask == mark`` itself, in the calling thread's network namespace only, with the GIL
released for the whole syscall. The request's family picks IPv4 or IPv6 entries (each family
fails over on its own); AF_UNSPEC takes both.

Kernel support: the mark filter of that request ("netfilter: conntrack: Flush connections with a
given mark") arrived in the 4.19/4.20 cycle. An older kernel ignores ``CTA_MARK`` there and
**flushes the whole table**, so :func:`delete_by_mark` refuses kernels older than
:data:`MIN_KERNEL` (5.0, on the safe side of that change) and any mark or mask of 0, which would
match every entry. The kernel must also have ``CONFIG_NF_CONNTRACK_MARK`` (every distribution
kernel does); without it nftables cannot set a ct mark, so the rules that set the marks
(:mod:`failover.net.flowmarks`) fail to load and the mark path is never taken.
"""

from __future__ import annotations

import errno
import os
import platform
import re
import socket
import struct
from pathlib import Path

__all__ = ["MIN_KERNEL", "CtnetlinkError", "count", "delete_by_mark", "kernel_supports_mark_delete"]

NETLINK_NETFILTER = 12
NFNL_SUBSYS_CTNETLINK = 1
IPCTNL_MSG_CT_DELETE = 2
NLM_F_REQUEST, NLM_F_ACK = 0x1, 0x4
NLMSG_ERROR = 2
CTA_MARK, CTA_MARK_MASK = 8, 21

MIN_KERNEL = (5, 0)
COUNT_PATH = Path("/proc/sys/net/netfilter/nf_conntrack_count")
# The kernel walks the whole table inside the request; bound the wait anyway, so a clean-up
# thread can never hang the sidecar's shutdown.
TIMEOUT_S = 10.0

_NLMSGHDR = struct.Struct("=IHHII")
_NFGENMSG = struct.Struct("=BBH")
_U32_ATTR = struct.Struct("=HHI")


class CtnetlinkError(OSError):
    pass


def _release_tuple(release: str) -> tuple[int, int]:
    m = re.match(r"(\d+)\.(\d+)", release)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def kernel_supports_mark_delete(release: str | None = None) -> bool:
    """Whether this kernel honours CTA_MARK in a tuple-less delete (older ones flush everything)."""
    return _release_tuple(release or platform.release()) >= MIN_KERNEL


def delete_request(mark: int, mask: int, seq: int = 1, family: int = socket.AF_UNSPEC) -> bytes:
    """The one netlink message: delete every entry of ``family`` (AF_INET, AF_INET6; AF_UNSPEC:
    both) with ``ct mark & mask == mark``."""
    if not (0 < mask <= 0xFFFFFFFF and 0 < mark <= 0xFFFFFFFF and mark & mask == mark):
        raise ValueError(f"mark {mark:#x}/{mask:#x}: both non-zero and mark within mask, "
                         "or the request would match every entry (a flush)")
    if family not in (socket.AF_UNSPEC, socket.AF_INET, socket.AF_INET6):
        raise ValueError(f"family {family}: AF_INET, AF_INET6 or AF_UNSPEC")
    # ctattr values are big-endian. nfgenmsg version 1: the kernel honours the family of a
    # tuple-less delete (at version 0 it deletes every family's entries, for old tools' sake).
    attrs = _U32_ATTR.pack(8, CTA_MARK, socket.htonl(mark)) + _U32_ATTR.pack(8, CTA_MARK_MASK, socket.htonl(mask))
    body = _NFGENMSG.pack(family, 1, 0) + attrs
    kind = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE
    return _NLMSGHDR.pack(_NLMSGHDR.size + len(body), kind, NLM_F_REQUEST | NLM_F_ACK, seq, 0) + body


def parse_ack(data: bytes, seq: int = 1) -> int:
    """The errno of the kernel's answer to request ``seq`` (0: done)."""
    off = 0
    while off + _NLMSGHDR.size <= len(data):
        length, kind, _flags, got_seq, _pid = _NLMSGHDR.unpack_from(data, off)
        if length < _NLMSGHDR.size:
            break
        if kind == NLMSG_ERROR and got_seq == seq and off + _NLMSGHDR.size + 4 <= len(data):
            return -struct.unpack_from("=i", data, off + _NLMSGHDR.size)[0]
        off += (length + 3) & ~3
    raise CtnetlinkError(errno.EPROTO, "no acknowledgement from ctnetlink")


def delete_by_mark(mark: int, mask: int, release: str | None = None, family: int = socket.AF_UNSPEC) -> None:
    """Delete every conntrack entry of this network namespace of ``family`` (AF_UNSPEC: any)
    with ``mark & mask == mark``.

    One request; the kernel does the walk. Never a flush: refused on kernels that would ignore
    the mark, and for a mark or mask of 0. ENOENT (nothing carried the mark) is success.
    """
    request = delete_request(mark, mask, family=family)
    if not kernel_supports_mark_delete(release):
        raise CtnetlinkError(errno.EOPNOTSUPP, f"kernel {release or platform.release()} may ignore the mark "
                             f"in a delete and flush the table; need >= {MIN_KERNEL[0]}.{MIN_KERNEL[1]}")
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER) as s:
        s.settimeout(TIMEOUT_S)
        s.bind((0, 0))
        s.send(request)
        code = parse_ack(s.recv(65536))
    if code not in (0, errno.ENOENT):
        raise CtnetlinkError(code, f"ctnetlink delete by mark {mark:#x}/{mask:#x}: {os.strerror(code)}")


def count(path: Path = COUNT_PATH) -> int | None:
    """Entries in this namespace's table now (what ``conntrack -C`` prints); None if unreadable."""
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        return None
