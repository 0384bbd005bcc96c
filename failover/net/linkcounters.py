"""A network device read by name over rtnetlink: its ifindex, flags and receive counters.

One ``RTM_GETLINK`` request with ``IFLA_IFNAME`` (no dump), answered with the device's
``IFLA_STATS64``. By name, every time: a WAN device that is deleted and created again (PPPoE
reconnect, a USB modem re-enumerating) comes back under the same name with a new ifindex, and a
reader that cached the index would be reading a device that no longer exists.
"""

from __future__ import annotations

import errno
import socket
import struct
from dataclasses import dataclass

from ..host import rtnl

__all__ = ["LinkCounters", "LinkReader"]

IFLA_STATS64 = 23
#: struct rtnl_link_stats64 starts rx_packets, tx_packets, rx_bytes, tx_bytes, rx_errors,
#: tx_errors, rx_dropped, tx_dropped, multicast (all __u64).
_STATS64_HEAD = struct.Struct("=9Q")
_TIMEOUT_S = 0.5


@dataclass(frozen=True, slots=True)
class LinkCounters:
    ifindex: int
    flags: int
    rx_packets: int
    #: Received multicast (and, on most drivers, broadcast) packets; 0 where a driver keeps none.
    multicast: int

    @property
    def rx_unicast(self) -> int:
        """Received packets that were not multicast: what answers the router's own traffic."""
        return max(0, self.rx_packets - self.multicast)


def decode_link_counters(payload: bytes) -> LinkCounters:
    """An ``RTM_NEWLINK`` payload's index, flags and IFLA_STATS64 (zeros when absent)."""
    _family, _type, index, flags, _change = rtnl.IFINFOMSG.unpack_from(payload)
    stats = rtnl.attrs(payload, rtnl.IFINFOMSG.size).get(IFLA_STATS64, b"")
    rx_packets = multicast = 0
    if len(stats) >= _STATS64_HEAD.size:
        head = _STATS64_HEAD.unpack_from(stats)
        rx_packets, multicast = head[0], head[8]
    return LinkCounters(index, flags, rx_packets, multicast)


class LinkReader:
    """Reads one device by name; ``read()`` is None while no device has that name."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._body = (rtnl.IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)
                      + rtnl.attr(rtnl.IFLA_IFNAME, name.encode() + b"\0"))
        self._session = rtnl.Session()
        # Bounded: the kernel answers at once, but the caller is an event loop's timer.
        self._session.sock.settimeout(_TIMEOUT_S)

    def read(self) -> LinkCounters | None:
        try:
            replies = self._session.request(rtnl.RTM_GETLINK, rtnl.NLM_F_ACK, self._body)
        except OSError as e:
            if e.errno == errno.ENODEV:
                return None
            raise
        for kind, payload in replies:
            if kind == rtnl.RTM_NEWLINK:
                return decode_link_counters(payload)
        return None

    def close(self) -> None:
        self._session.close()
