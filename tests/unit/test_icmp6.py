"""ICMPv6 echo codec (IPv6 targets): our replies matched by identifier and sequence, ICMPv6 errors
quoting our requests as loss, everything else ignored. A raw ICMPv6 socket reads the message
without the IPv6 header, and the kernel keeps the checksum (RFC 3542)."""

from __future__ import annotations

import ipaddress
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from failover.core.icmp import (
    DEST_UNREACHABLE6,
    ECHO_REPLY6,
    ECHO_REQUEST6,
    TIME_EXCEEDED6,
    EchoError,
    EchoReply,
    IcmpError,
    encode_echo_request,
    encode_echo_request6,
    parse,
    parse6,
)

OURS = 0x4A01
TARGET = "2001:db8:53::1"
ROUTER = "2001:db8:ff::1"


def ipv6(src: str, dst: str, payload: bytes, next_header: int = 58) -> bytes:
    return (struct.pack("!IHBB", 6 << 28, len(payload), next_header, 64)
            + ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed + payload)


def as_reply(request: bytes) -> bytes:
    return bytes([ECHO_REPLY6]) + request[1:]


def error(kind: int, code: int, quoted: bytes) -> bytes:
    return struct.pack("!BBHI", kind, code, 0, 0) + quoted


def test_request_is_an_icmpv6_echo_request():
    req = encode_echo_request6(OURS, 0x1_0002, 123_456_789)
    assert req[0] == ECHO_REQUEST6 and req[1] == 0
    assert struct.unpack_from("!HHH", req, 2) == (0, OURS, 2)  # checksum left to the kernel; low 16 bits


def test_reply_matched_with_full_sequence_and_t1():
    req = encode_echo_request6(OURS, 0x1_0002, 123_456_789)
    assert parse6(as_reply(req), OURS, TARGET) == EchoReply(TARGET, OURS, 2, 0x1_0002, 123_456_789)


def test_reply_without_our_payload_keeps_the_header_sequence():
    req = encode_echo_request6(OURS, 7, 1)[:8] + b"xx"
    assert parse6(as_reply(req), OURS, TARGET) == EchoReply(TARGET, OURS, 7, None, None)


@pytest.mark.parametrize("message", [
    pytest.param(as_reply(encode_echo_request6(OURS + 1, 1, 1)), id="another identifier"),
    pytest.param(encode_echo_request6(OURS, 1, 1), id="an echo request to us"),
    pytest.param(b"\x00" + encode_echo_request(OURS, 1, 1)[1:], id="ICMPv4 echo reply (type 0)"),
    pytest.param(bytes([135, 0, 0, 0]) + bytes(20), id="neighbour solicitation"),
    pytest.param(b"\x81\x00", id="truncated"),
])
def test_other_traffic_is_ignored(message):
    assert parse6(message, OURS, TARGET) is None


@pytest.mark.parametrize("kind,code,reason", [
    (DEST_UNREACHABLE6, 0, "no route to destination"),
    (DEST_UNREACHABLE6, 1, "communication administratively prohibited"),
    (DEST_UNREACHABLE6, 3, "address unreachable"),
    (TIME_EXCEEDED6, 0, "hop limit exceeded in transit"),
])
def test_errors_quoting_our_request_are_loss_for_that_probe(kind, code, reason):
    req = encode_echo_request6(OURS, 0x2_0005, 9)
    got = parse6(error(kind, code, ipv6("2001:db8:1::2", TARGET, req)), OURS, ROUTER)
    assert got == EchoError(ROUTER, TARGET, OURS, 5, kind, code, v6=True)
    assert got.reason == f"{reason} (ICMPv6 from {ROUTER})"


@pytest.mark.parametrize("quoted", [
    pytest.param(ipv6("2001:db8:1::2", TARGET, encode_echo_request6(OURS + 1, 5, 9)), id="another identifier"),
    pytest.param(ipv6("2001:db8:1::2", TARGET, b"\x11" * 16, next_header=17), id="UDP"),
    pytest.param(ipv6("2001:db8:1::2", TARGET, as_reply(encode_echo_request6(OURS, 5, 9))), id="a reply quoted"),
    pytest.param(ipv6("2001:db8:1::2", TARGET, b"")[:30], id="truncated header"),
])
def test_errors_about_other_packets_are_ignored(quoted):
    assert parse6(error(DEST_UNREACHABLE6, 3, quoted), OURS, ROUTER) is None


@pytest.mark.parametrize("ident,seq", [(-1, 0), (0x1_0000, 0), (0, -1), (0, 1 << 32)])
def test_out_of_range_fields_are_refused(ident, seq):
    with pytest.raises(IcmpError):
        encode_echo_request6(ident, seq, 0)


@given(st.binary(max_size=200))
def test_any_bytes_parse_without_raising(data):
    parse6(data, OURS, TARGET)


@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF_FFFF), st.integers(-(1 << 63), (1 << 63) - 1))
def test_round_trip(ident, seq, t1):
    got = parse6(as_reply(encode_echo_request6(ident, seq, t1)), ident, TARGET)
    assert got == EchoReply(TARGET, ident, seq & 0xFFFF, seq, t1)


def test_icmpv4_parse_does_not_take_icmpv6():
    # The two families never share a parser: an ICMPv6 echo reply read as ICMP is nothing.
    assert parse(as_reply(encode_echo_request6(OURS, 1, 1)), OURS, ip_header=False) is None
