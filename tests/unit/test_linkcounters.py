"""The WAN device's receive counters by family, decoded from an RTM_NEWLINK payload as the kernel
sends it (IFLA_STATS64, and IFLA_INET6_STATS nested in IFLA_AF_SPEC)."""

from __future__ import annotations

import socket
import struct

from failover.host import rtnl
from failover.net.linkcounters import (
    IFLA_AF_SPEC, IFLA_INET6_STATS, IFLA_STATS64, IPSTATS_MIB_INMCASTPKTS, IPSTATS_MIB_INPKTS, decode_link_counters,
)


def payload(rx: int, multicast: int, rx6: int | None = None, mcast6: int = 0) -> bytes:
    stats64 = struct.pack("=9Q", rx, 0, 0, 0, 0, 0, 0, 0, multicast) + bytes(8 * 15)
    body = rtnl.IFINFOMSG.pack(socket.AF_UNSPEC, 1, 7, 0x11043, 0) + rtnl.attr(IFLA_STATS64, stats64)
    if rx6 is not None:
        mib = [0] * 38
        mib[0], mib[IPSTATS_MIB_INPKTS], mib[IPSTATS_MIB_INMCASTPKTS] = 37, rx6, mcast6
        inet = rtnl.attr(1, struct.pack("=I", 0))  # IFLA_INET6_FLAGS first, as the kernel sends it
        inet += rtnl.attr(IFLA_INET6_STATS, struct.pack(f"={len(mib)}Q", *mib))
        af_spec = rtnl.attr(socket.AF_INET, rtnl.attr(1, bytes(4))) + rtnl.attr(socket.AF_INET6, inet)
        body += rtnl.attr(IFLA_AF_SPEC, af_spec)
    return body


def test_each_family_has_its_own_receive_counter():
    c = decode_link_counters(payload(rx=1000, multicast=40, rx6=300, mcast6=25))
    assert (c.ifindex, c.rx_unicast) == (7, 960)
    assert (c.rx_unicast6, c.rx_unicast4) == (275, 685)
    assert (c.rx_unicast_of("ipv6"), c.rx_unicast_of("ipv4")) == (275, 685)


def test_ipv6_traffic_does_not_move_the_ipv4_counter():
    before = decode_link_counters(payload(rx=1000, multicast=0, rx6=300))
    after = decode_link_counters(payload(rx=1050, multicast=0, rx6=350))  # 50 IPv6 packets only
    assert after.rx_unicast4 == before.rx_unicast4 and after.rx_unicast6 == before.rx_unicast6 + 50


def test_without_ipv6_on_the_device_everything_is_ipv4():
    c = decode_link_counters(payload(rx=500, multicast=20))
    assert (c.rx_unicast4, c.rx_unicast6) == (480, 0)
