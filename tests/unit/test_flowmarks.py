"""The delete-by-mark request and the marking rules, as bytes and text (the kernel side is in
tests/topotests/flows_at_scale/test_flows_at_scale.py)."""

import errno
import socket
import struct

import pytest

from failover.net import ctnetlink
from failover.net import flowmarks


def test_delete_request_is_one_ctnetlink_delete_with_mark_and_mask_only():
    msg = ctnetlink.delete_request(0x40000000, 0x40000000, seq=7)
    length, kind, flags, seq, _ = struct.unpack_from("=IHHII", msg)
    assert (length, kind, flags, seq) == (len(msg), 0x0102, 0x1 | 0x4, 7)
    family, version, _ = struct.unpack_from("=BBH", msg, 16)
    # version 1: the kernel honours the family; AF_UNSPEC unless one is asked for
    assert (family, version) == (socket.AF_UNSPEC, 1)
    assert struct.unpack_from("=BB", ctnetlink.delete_request(0x40000000, 0x40000000, family=socket.AF_INET6), 16) \
        == (socket.AF_INET6, 1)
    with pytest.raises(ValueError):
        ctnetlink.delete_request(0x40000000, 0x40000000, family=socket.AF_PACKET)
    attrs = [struct.unpack_from("=HHI", msg, off) for off in range(20, len(msg), 8)]
    # No tuple: the kernel walks its table; the values are big-endian.
    assert attrs == [(8, 8, socket.htonl(0x40000000)), (8, 21, socket.htonl(0x40000000))]


@pytest.mark.parametrize("mark,mask", [(0, 0xFFFFFFFF), (0x1, 0), (0, 0), (0x3, 0x1), (1 << 32, 1 << 32)])
def test_a_mark_that_would_match_everything_or_nothing_sane_is_refused(mark, mask):
    with pytest.raises(ValueError, match="flush"):
        ctnetlink.delete_request(mark, mask)


def test_kernels_that_would_ignore_the_mark_and_flush_are_refused():
    assert ctnetlink.kernel_supports_mark_delete("6.18.44-fc")
    assert ctnetlink.kernel_supports_mark_delete("5.0.0")
    assert not ctnetlink.kernel_supports_mark_delete("4.19.0-27-amd64")
    assert not ctnetlink.kernel_supports_mark_delete("garbage")
    with pytest.raises(ctnetlink.CtnetlinkError):
        ctnetlink.delete_by_mark(0x40000000, 0x40000000, release="4.14.0")


def test_the_ack_is_read_by_sequence():
    def err(seq, code):
        return struct.pack("=IHHII", 36, 2, 0, seq, 0) + struct.pack("=i", -code) + bytes(16)
    assert ctnetlink.parse_ack(err(1, 0)) == 0
    assert ctnetlink.parse_ack(err(9, errno.EPERM) + err(1, errno.ENOENT)) == errno.ENOENT
    with pytest.raises(ctnetlink.CtnetlinkError):
        ctnetlink.parse_ack(b"\x00" * 8)


def test_rules_mark_the_wan_nat_and_the_hairpin_through_an_alternate():
    text = flowmarks.ruleset("wan0", "lan0")
    assert "delete table inet failover_flows" in text  # reloading replaces, never duplicates
    assert "delete table ip failover_flows" in text    # and the IPv4-only table of old goes
    assert "table inet failover_flows {\n\tchain" in text  # both families marked
    assert 'oifname "wan0" ct status snat ct mark set ct mark | 0x40000000' in text
    assert 'iifname "lan0" oifname "lan0" ct status & (snat | dnat) == 0 ct mark set ct mark | 0x20000000' in text
    assert flowmarks.WAN_MARK & flowmarks.ALTERNATE_MARK == 0
    with pytest.raises(ValueError):
        flowmarks.ruleset('wan0" accept', "lan0")
