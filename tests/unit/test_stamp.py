"""STAMP codec, unauthenticated mode: byte layouts from the RFC 8762 field tables, NTP time,
fuzzing. (Authenticated mode, the same codec object with a key: test_stamp_auth.py.)"""

from __future__ import annotations

import struct

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from failover.core.stamp import (
    NTP_UNIX_OFFSET_S,
    PACKET_SIZE,
    UNSYNCHRONIZED,
    ErrorEstimate,
    ReflectorPacket,
    SenderPacket,
    StampError,
    ntp_to_unix_ns,
    unix_ns_to_ntp,
)
from failover.core.stamp import UNAUTHENTICATED as CODEC

NS = 1_000_000_000
U32 = 2**32 - 1
U64 = 2**64 - 1
# 2024-01-01T00:00:00Z, plus 123456789 ns
SOME_TIME_NS = 1_704_067_200 * NS + 123_456_789


# -- NTP timestamps ---------------------------------------------------------


def test_unix_epoch_is_ntp_2208988800() -> None:
    assert unix_ns_to_ntp(0) == NTP_UNIX_OFFSET_S << 32
    assert NTP_UNIX_OFFSET_S == 2_208_988_800
    assert ntp_to_unix_ns(NTP_UNIX_OFFSET_S << 32) == 0


def test_half_second_is_fraction_2_pow_31() -> None:
    assert unix_ns_to_ntp(NS // 2) == (NTP_UNIX_OFFSET_S << 32) | (1 << 31)
    assert ntp_to_unix_ns((NTP_UNIX_OFFSET_S << 32) | (1 << 31)) == NS // 2


def test_fraction_is_truncated_not_rounded() -> None:
    # 1 ns = 4.294967296 units of 2**-32 s: truncation gives 4, rounding would too,
    # but 999_999_999 ns = 4294967291.7 units: truncation gives ...291.
    assert unix_ns_to_ntp(1) & U32 == 4
    assert unix_ns_to_ntp(999_999_999) & U32 == 4_294_967_291


def test_era_1_after_2036() -> None:
    # 2036-02-07T06:28:16Z is NTP second 2**32, which wraps to 0 in era 1.
    era_start_ns = (2**32 - NTP_UNIX_OFFSET_S) * NS
    assert unix_ns_to_ntp(era_start_ns) == 0
    assert ntp_to_unix_ns(0) == era_start_ns
    assert ntp_to_unix_ns(unix_ns_to_ntp(era_start_ns + 5 * NS)) == era_start_ns + 5 * NS


@pytest.mark.parametrize("ns", [-(NTP_UNIX_OFFSET_S - 2**31 + 1) * NS, 2**64 * NS])
def test_out_of_range_time_is_rejected(ns: int) -> None:
    with pytest.raises(StampError, match="outside the NTP range"):
        unix_ns_to_ntp(ns)


@given(st.integers(min_value=(2**31 - NTP_UNIX_OFFSET_S) * NS, max_value=(2**32 + 2**31 - NTP_UNIX_OFFSET_S) * NS - 1))
def test_ns_round_trip_is_exact(ns: int) -> None:
    assert ntp_to_unix_ns(unix_ns_to_ntp(ns)) == ns


@given(st.integers(min_value=0, max_value=U64))
@example(0x7FFF_FFFF_FFFF_FFFF)  # the last fraction of era 1: rounding must not leave the range
@example(0x0000_0001_FFFF_FFFF)  # a fraction that rounds up to a whole second
def test_ntp_round_trip_within_one_ns(ntp: int) -> None:
    back = unix_ns_to_ntp(ntp_to_unix_ns(ntp))
    # one nanosecond is 4.29 fraction units; the seconds may carry when rounding up
    assert abs(((back - ntp + 2**63) % 2**64) - 2**63) <= 5


# -- Error Estimate (RFC 4656 §4.1.2) ---------------------------------------


def test_error_estimate_bits() -> None:
    ee = ErrorEstimate(synchronized=True, ptp_format=False, scale=0x15, multiplier=0xAB)
    assert ee.encode() == 0b1_0_010101_10101011
    assert ErrorEstimate.decode(0b1_0_010101_10101011) == ee
    assert ErrorEstimate.decode(0x4000).ptp_format is True
    assert ErrorEstimate.decode(0x4000).synchronized is False


def test_unsynchronized_default_is_sane() -> None:
    assert UNSYNCHRONIZED.synchronized is False
    assert UNSYNCHRONIZED.ptp_format is False  # NTP format
    assert UNSYNCHRONIZED.multiplier != 0  # zero would mean "ignore the timestamp"
    assert UNSYNCHRONIZED.seconds == 1.0
    assert UNSYNCHRONIZED.encode() == 0x2001
    assert ErrorEstimate() == UNSYNCHRONIZED


def test_zero_multiplier_decodes_but_has_no_value() -> None:
    assert ErrorEstimate.decode(0x0500).seconds is None


@pytest.mark.parametrize("kwargs", [{"scale": 64}, {"scale": -1}, {"multiplier": 256}])
def test_error_estimate_range(kwargs: dict[str, int]) -> None:
    with pytest.raises(StampError):
        ErrorEstimate(**kwargs)


@pytest.mark.parametrize("value", [-1, 0x10000])
def test_error_estimate_decode_range(value: int) -> None:
    with pytest.raises(StampError, match="16-bit"):
        ErrorEstimate.decode(value)


@given(st.integers(0, 0xFFFF))
def test_error_estimate_round_trip(value: int) -> None:
    assert ErrorEstimate.decode(value).encode() == value


# -- Session-Sender packet (RFC 8762 §4.2.1) ---------------------------------


def sender_bytes(seq: int, ts: int, ee: int) -> bytes:
    """Hand-built from the RFC field table, offset by offset."""
    b = bytearray(44)
    b[0:4] = seq.to_bytes(4, "big")  # 0: Sequence Number
    b[4:12] = ts.to_bytes(8, "big")  # 4: Timestamp
    b[12:14] = ee.to_bytes(2, "big")  # 12: Error Estimate
    # 14..43: MBZ (30 octets)
    return bytes(b)


def test_sender_layout() -> None:
    ts = unix_ns_to_ntp(SOME_TIME_NS)
    pkt = SenderPacket(sequence=0x01020304, timestamp=ts, error_estimate=ErrorEstimate(True, False, 3, 7))
    wire = CODEC.encode_sender(pkt)
    assert len(wire) == PACKET_SIZE == 44
    assert wire == sender_bytes(0x01020304, ts, 0x8307)
    assert wire[14:] == bytes(30)
    assert CODEC.decode_sender(wire) == pkt


def test_sender_padding_and_decode_of_longer_packets() -> None:
    pkt = SenderPacket(sequence=9, timestamp=1)
    wire = CODEC.encode_sender(pkt, size=128)
    assert len(wire) == 128 and wire[:44] == CODEC.encode_sender(pkt) and wire[44:] == bytes(84)
    assert CODEC.decode_sender(wire) == pkt


def test_sender_mbz_ignored_on_receipt() -> None:
    # RFC 8972 puts an SSID in the first MBZ octets; a decoder must not choke on it.
    wire = bytearray(CODEC.encode_sender(SenderPacket(sequence=1, timestamp=2)))
    wire[14:16] = b"\xbe\xef"
    assert CODEC.decode_sender(bytes(wire)) == SenderPacket(sequence=1, timestamp=2)


def test_sender_size_below_minimum() -> None:
    with pytest.raises(StampError, match="below the STAMP minimum"):
        CODEC.encode_sender(SenderPacket(sequence=1, timestamp=2), size=43)


@pytest.mark.parametrize("kwargs", [{"sequence": -1}, {"sequence": 2**32}, {"timestamp": 2**64}])
def test_sender_field_ranges(kwargs: dict[str, int]) -> None:
    fields = {"sequence": 0, "timestamp": 0} | kwargs
    with pytest.raises(StampError):
        SenderPacket(**fields)


@pytest.mark.parametrize("length", [0, 1, 43])
def test_truncated_packets(length: int) -> None:
    with pytest.raises(StampError, match=f"truncated STAMP sender packet: {length} bytes"):
        CODEC.decode_sender(bytes(length))
    with pytest.raises(StampError, match="truncated STAMP reflector packet"):
        CODEC.decode_reflector(bytes(length))


# -- Session-Reflector packet (RFC 8762 §4.3.1) ------------------------------


def reflector_bytes(
    seq: int, ts: int, ee: int, rx: int, s_seq: int, s_ts: int, s_ee: int, ttl: int
) -> bytes:
    b = bytearray(44)
    b[0:4] = seq.to_bytes(4, "big")  # 0: Sequence Number
    b[4:12] = ts.to_bytes(8, "big")  # 4: Timestamp
    b[12:14] = ee.to_bytes(2, "big")  # 12: Error Estimate
    # 14..15: MBZ
    b[16:24] = rx.to_bytes(8, "big")  # 16: Receive Timestamp
    b[24:28] = s_seq.to_bytes(4, "big")  # 24: Session-Sender Sequence Number
    b[28:36] = s_ts.to_bytes(8, "big")  # 28: Session-Sender Timestamp
    b[36:38] = s_ee.to_bytes(2, "big")  # 36: Session-Sender Error Estimate
    # 38..39: MBZ
    b[40] = ttl  # 40: Ses-Sender TTL
    # 41..43: MBZ
    return bytes(b)


def test_reflector_layout() -> None:
    pkt = ReflectorPacket(
        sequence=0xA1A2A3A4,
        timestamp=0x1112131415161718,
        error_estimate=ErrorEstimate(True, False, 1, 2),
        receive_timestamp=0x2122232425262728,
        sender_sequence=0xB1B2B3B4,
        sender_timestamp=0x3132333435363738,
        sender_error_estimate=ErrorEstimate(False, True, 4, 5),
        sender_ttl=63,
    )
    wire = CODEC.encode_reflector(pkt)
    assert wire == reflector_bytes(
        0xA1A2A3A4, 0x1112131415161718, 0x8102, 0x2122232425262728,
        0xB1B2B3B4, 0x3132333435363738, 0x4405, 63,
    )
    assert wire[14:16] == wire[38:40] == b"\0\0" and wire[41:44] == b"\0\0\0"
    assert CODEC.decode_reflector(wire) == pkt
    assert len(CODEC.encode_reflector(pkt, size=100)) == 100


def test_reflector_ttl_range() -> None:
    with pytest.raises(StampError, match="TTL"):
        ReflectorPacket(0, 0, UNSYNCHRONIZED, 0, 0, 0, UNSYNCHRONIZED, 256)


# -- reflect() ---------------------------------------------------------------


def test_reflect_stateless_copies_sender_fields() -> None:
    t1 = unix_ns_to_ntp(SOME_TIME_NS)
    request = CODEC.encode_sender(SenderPacket(sequence=77, timestamp=t1, error_estimate=ErrorEstimate(True, False, 10, 3)))
    t2, t3 = unix_ns_to_ntp(SOME_TIME_NS + 500_000), unix_ns_to_ntp(SOME_TIME_NS + 600_000)
    reply = CODEC.reflect(request, t2_ntp=t2, t3_ntp=t3, ttl=64)
    assert reply == reflector_bytes(77, t3, UNSYNCHRONIZED.encode(), t2, 77, t1, 0x8A03, 64)


def test_reflect_stateful_sequence_and_symmetric_size() -> None:
    request = CODEC.encode_sender(SenderPacket(sequence=5, timestamp=6), size=200)
    reply = CODEC.reflect(request, sequence=1234, t2_ntp=1, t3_ntp=2, ttl=255)
    assert len(reply) == 200 and reply[44:] == bytes(156)
    decoded = CODEC.decode_reflector(reply)
    assert (decoded.sequence, decoded.sender_sequence, decoded.sender_ttl) == (1234, 5, 255)


def test_reflect_rejects_garbage() -> None:
    with pytest.raises(StampError, match="truncated"):
        CODEC.reflect(b"hello", t2_ntp=1, t3_ntp=2, ttl=64)


def test_reflect_zeroes_request_extras() -> None:
    # Whatever the sender put past octet 44 (TLVs we do not implement) is not echoed.
    request = CODEC.encode_sender(SenderPacket(sequence=5, timestamp=6)) + b"\xff" * 20
    assert CODEC.reflect(request, t2_ntp=1, t3_ntp=2, ttl=1)[44:] == bytes(20)


# -- fuzzing: decoders raise StampError or nothing ---------------------------


@given(st.binary(max_size=120))
def test_decoders_never_raise_anything_but_stamp_error(data: bytes) -> None:
    for decode, encode in ((CODEC.decode_sender, CODEC.encode_sender),
                           (CODEC.decode_reflector, CODEC.encode_reflector)):
        try:
            pkt = decode(data)
        except StampError:
            assert len(data) < PACKET_SIZE
        else:
            # re-encoding gives the same fields, with MBZ zeroed
            assert decode(encode(pkt, len(data))) == pkt
    try:
        reply = CODEC.reflect(data, t2_ntp=1, t3_ntp=2, ttl=3)
    except StampError:
        assert len(data) < PACKET_SIZE
    else:
        assert len(reply) == len(data)


@given(
    st.integers(0, U32), st.integers(0, U64), st.integers(0, 0xFFFF),
    st.integers(0, U64), st.integers(0, U32), st.integers(0, U64), st.integers(0, 0xFFFF),
    st.integers(0, 255),
)
def test_reflector_round_trip(seq, ts, ee, rx, s_seq, s_ts, s_ee, ttl) -> None:  # type: ignore[no-untyped-def]
    wire = reflector_bytes(seq, ts, ee, rx, s_seq, s_ts, s_ee, ttl)
    pkt = CODEC.decode_reflector(wire)
    assert CODEC.encode_reflector(pkt) == wire
    assert struct.unpack("!I", wire[:4])[0] == pkt.sequence
