"""A network device read by name over rtnetlink: its ifindex, flags and receive counters.

One ``RTM_GETLINK`` request with ``IFLA_IFNAME`` (no dump), answered with the device's
``IFLA_STATS64`` and, inside ``IFLA_AF_SPEC``, its IPv6 statistics (``IFLA_INET6_STATS``: the
device's own Ip6InReceives and Ip6InMcastPkts, as /proc/net/dev_snmp6 shows them). The kernel keeps
no per-device IPv4 counters, so IPv4's share is what the device received that IPv6 did not: each
family's path check then sees its own family's return traffic, and an IPv6-only blackout is not
hidden by IPv4 flows that still come in (nor the reverse). By name, every time: a WAN device that is deleted and created again (PPPoE
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
IFLA_AF_SPEC = 26
IFLA_INET6_STATS = 3
#: IFLA_INET6_STATS is an array of __u64 indexed by IPSTATS_MIB_* (element 0: their number).
IPSTATS_MIB_INPKTS, IPSTATS_MIB_INMCASTPKTS = 1, 23
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
    #: IPv6 packets received on the device (Ip6InReceives), and those multicast (Ip6InMcastPkts);
    #: 0 without IPv6 on it.
    rx6_packets: int = 0
    rx6_multicast: int = 0

    @property
    def rx_unicast(self) -> int:
        """Received packets that were not multicast: what answers the router's own traffic."""
        return max(0, self.rx_packets - self.multicast)

    @property
    def rx_unicast6(self) -> int:
        """Received IPv6 packets that were not multicast."""
        return max(0, self.rx6_packets - self.rx6_multicast)

    @property
    def rx_unicast4(self) -> int:
        """Received unicast packets that were not IPv6: IPv4's (and ARP's) share."""
        return max(0, self.rx_unicast - self.rx_unicast6)

    def rx_unicast_of(self, family: str) -> int:
        """The receive counter of ``family`` ("ipv4" or "ipv6")."""
        return self.rx_unicast6 if family == "ipv6" else self.rx_unicast4


def decode_link_counters(payload: bytes) -> LinkCounters:
    """An ``RTM_NEWLINK`` payload's index, flags and IFLA_STATS64 (zeros when absent)."""
    _family, _type, index, flags, _change = rtnl.IFINFOMSG.unpack_from(payload)
    attrs = rtnl.attrs(payload, rtnl.IFINFOMSG.size)
    stats = attrs.get(IFLA_STATS64, b"")
    rx_packets = multicast = 0
    if len(stats) >= _STATS64_HEAD.size:
        head = _STATS64_HEAD.unpack_from(stats)
        rx_packets, multicast = head[0], head[8]
    inet6 = rtnl.attrs(rtnl.attrs(attrs.get(IFLA_AF_SPEC, b""), 0).get(socket.AF_INET6, b""), 0)
    stats6 = inet6.get(IFLA_INET6_STATS, b"")
    rx6 = mcast6 = 0
    if len(stats6) >= 8 * (IPSTATS_MIB_INMCASTPKTS + 1):
        rx6 = struct.unpack_from("=Q", stats6, 8 * IPSTATS_MIB_INPKTS)[0]
        mcast6 = struct.unpack_from("=Q", stats6, 8 * IPSTATS_MIB_INMCASTPKTS)[0]
    return LinkCounters(index, flags, rx_packets, multicast, rx6, mcast6)


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
