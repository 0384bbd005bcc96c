"""ICMP echo codec: our replies matched by identifier and sequence, errors quoting our requests as
loss, everything else ignored."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from failover.core.icmp import (
    DEST_UNREACHABLE,
    ECHO_REPLY,
    ECHO_REQUEST,
    TIME_EXCEEDED,
    EchoError,
    EchoReply,
    IcmpError,
    checksum,
    encode_echo_request,
    parse,
)

OURS = 0x4A01


def ipv4(src: str, dst: str, payload: bytes, proto: int = 1, options: bytes = b"") -> bytes:
    ihl = (20 + len(options)) // 4
    header = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 20 + len(options) + len(payload), 0, 0, 64, proto, 0,
                         bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
    header += options
    csum = checksum(header)
    return header[:10] + struct.pack("!H", csum) + header[12:] + payload


def icmp(kind: int, code: int, rest: bytes) -> bytes:
    body = struct.pack("!BBH", kind, code, 0) + rest
    return body[:2] + struct.pack("!H", checksum(body)) + body[4:]


def as_reply(request: bytes) -> bytes:
    """What a host answers to ``request``: the same message, type 0, checksum redone."""
    return icmp(ECHO_REPLY, 0, request[4:])


def test_request_is_a_valid_echo_request():
    req = encode_echo_request(OURS, 0x1_0002, 123_456_789)
    assert req[0] == ECHO_REQUEST and checksum(req) == 0
    assert struct.unpack_from("!HH", req, 4) == (OURS, 2)  # the low 16 bits in the header


def test_reply_matched_with_full_sequence_and_t1():
    req = encode_echo_request(OURS, 0x1_0002, 123_456_789)
    got = parse(ipv4("192.0.2.53", "198.51.100.2", as_reply(req)), OURS)
    assert got == EchoReply("192.0.2.53", OURS, 2, 0x1_0002, 123_456_789)


def test_reply_without_our_payload_keeps_the_header_sequence():
    # A target that truncates or rewrites the payload: matched by identifier and sequence only.
    got = parse(ipv4("192.0.2.53", "198.51.100.2", icmp(ECHO_REPLY, 0, struct.pack("!HH", OURS, 7) + b"x" * 16)),
                OURS)
    assert got == EchoReply("192.0.2.53", OURS, 7, None, None)


def test_reply_without_ip_header_as_a_ping_socket_reads_it():
    req = encode_echo_request(OURS, 9, 5)
    assert parse(as_reply(req), OURS, ip_header=False) == EchoReply("", OURS, 9, 9, 5)


@pytest.mark.parametrize("packet", [
    # another program's echo reply (other identifier)
    ipv4("192.0.2.53", "198.51.100.2", as_reply(encode_echo_request(OURS + 1, 3, 0))),
    # an echo request sent to us
    ipv4("192.0.2.53", "198.51.100.2", encode_echo_request(OURS, 3, 0)),
    # a corrupted reply (checksum no longer holds)
    ipv4("192.0.2.53", "198.51.100.2", as_reply(encode_echo_request(OURS, 3, 0))[:-1] + b"\xff"),
    # not ICMP at all
    ipv4("192.0.2.53", "198.51.100.2", as_reply(encode_echo_request(OURS, 3, 0)), proto=17),
    # truncated headers
    b"", b"\x45", ipv4("192.0.2.53", "198.51.100.2", b"\x00\x00"),
    # IPv6 version nibble
    b"\x60" + bytes(60),
    # a redirect (type 5) quoting our request: not an error that means loss, ignored
    ipv4("192.0.2.1", "198.51.100.2", icmp(5, 1, b"\xc0\x00\x02\x01"
                                              + ipv4("198.51.100.2", "192.0.2.53", encode_echo_request(OURS, 3, 0)))),
])
def test_other_traffic_is_ignored(packet):
    assert parse(packet, OURS) is None


def quoted_request(target: str, ident: int, seq: int, proto: int = 1) -> bytes:
    # RFC 792: the original IP header and the first 64 bits of its data.
    original = ipv4("198.51.100.2", target, encode_echo_request(ident, seq, 42), proto=proto)
    return original[:28]


@pytest.mark.parametrize("kind,code,reason", [
    (DEST_UNREACHABLE, 1, "host unreachable (ICMP from 203.0.113.254)"),
    (DEST_UNREACHABLE, 0, "network unreachable (ICMP from 203.0.113.254)"),
    (DEST_UNREACHABLE, 13, "communication administratively prohibited (ICMP from 203.0.113.254)"),
    (DEST_UNREACHABLE, 15, "destination unreachable (code 15) (ICMP from 203.0.113.254)"),
    (TIME_EXCEEDED, 0, "TTL exceeded in transit (ICMP from 203.0.113.254)"),
])
def test_errors_quoting_our_request_are_loss_for_that_probe(kind, code, reason):
    err = icmp(kind, code, bytes(4) + quoted_request("192.0.2.53", OURS, 0x1234))
    got = parse(ipv4("203.0.113.254", "198.51.100.2", err), OURS)
    assert got == EchoError("203.0.113.254", "192.0.2.53", OURS, 0x1234, kind, code)
    assert not isinstance(got, EchoReply)  # never a reply
    assert got.reason == reason


@pytest.mark.parametrize("quoted", [
    quoted_request("192.0.2.53", OURS + 1, 1),      # someone else's ping
    quoted_request("192.0.2.53", OURS, 1, proto=17),  # a UDP datagram (e.g. a STAMP probe)
    quoted_request("192.0.2.53", OURS, 1)[:24],      # quote too short to hold the echo header
])
def test_errors_about_other_packets_are_ignored(quoted):
    err = icmp(DEST_UNREACHABLE, 1, bytes(4) + quoted)
    assert parse(ipv4("203.0.113.254", "198.51.100.2", err), OURS) is None


def test_ip_options_are_skipped():
    req = encode_echo_request(OURS, 4, 8)
    packet = ipv4("192.0.2.53", "198.51.100.2", as_reply(req), options=b"\x01\x01\x01\x00")
    assert parse(packet, OURS) == EchoReply("192.0.2.53", OURS, 4, 4, 8)


@pytest.mark.parametrize("ident,seq", [(-1, 0), (0x10000, 0), (0, -1), (0, 1 << 32)])
def test_out_of_range_fields_are_refused(ident, seq):
    with pytest.raises(IcmpError):
        encode_echo_request(ident, seq, 0)


@given(st.binary(max_size=200))
def test_any_bytes_parse_without_raising(data):
    assert parse(data, OURS) is None or isinstance(parse(data, OURS), (EchoReply, EchoError))
    parse(data, OURS, ip_header=False)


@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF_FFFF), st.integers(-(2**63), 2**63 - 1))
def test_round_trip(ident, seq, t1):
    got = parse(as_reply(encode_echo_request(ident, seq, t1)), ident, ip_header=False)
    assert got == EchoReply("", ident, seq & 0xFFFF, seq, t1)
