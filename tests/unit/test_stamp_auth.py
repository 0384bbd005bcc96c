"""STAMP authenticated mode (RFC 8762 §4.2.2, §4.3.2, §4.4): codec against the RFC's byte
layout (offsets written out here by hand), then the reflector and the prober on loopback."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import socket
import time

import pytest

from failover.core import stamp
from failover.agent import StampReflector
from failover.core.heartbeat import HeartbeatConfig
from failover.net.prober import Datagram, Prober, Target

from .test_agent_reflector import ntp_now

KEY = b"stamp-shared-key-0123456789"
CODEC = stamp.StampCodec(KEY)


def mac16(data: bytes, key: bytes = KEY) -> bytes:
    return hmac.new(key, data[:96], hashlib.sha256).digest()[:16]


def sender_bytes(seq: int, ts: int, err: int) -> bytes:
    """RFC 8762 §4.2.2, octet by octet."""
    b = bytearray(112)
    b[0:4] = seq.to_bytes(4, "big")
    # 4..16: MBZ (12 octets)
    b[16:24] = ts.to_bytes(8, "big")
    b[24:26] = err.to_bytes(2, "big")
    # 26..96: MBZ (70 octets)
    b[96:112] = mac16(bytes(b))
    return bytes(b)


def reflector_bytes(seq, ts, err, rx, s_seq, s_ts, s_err, ttl) -> bytes:
    """RFC 8762 §4.3.2, octet by octet."""
    b = bytearray(112)
    b[0:4] = seq.to_bytes(4, "big")
    b[16:24] = ts.to_bytes(8, "big")          # after MBZ (12)
    b[24:26] = err.to_bytes(2, "big")         # then MBZ (6)
    b[32:40] = rx.to_bytes(8, "big")          # Receive Timestamp, then MBZ (8)
    b[48:52] = s_seq.to_bytes(4, "big")       # Session-Sender Sequence Number, then MBZ (12)
    b[64:72] = s_ts.to_bytes(8, "big")        # Session-Sender Timestamp
    b[72:74] = s_err.to_bytes(2, "big")       # Session-Sender Error Estimate, then MBZ (6)
    b[80] = ttl                               # Ses-Sender TTL, then MBZ (15)
    b[96:112] = mac16(bytes(b))
    return bytes(b)


def test_sender_packet_layout():
    p = stamp.SenderPacket(0x01020304, 0x1112131415161718, stamp.ErrorEstimate.decode(0x8123))
    data = CODEC.encode_sender(p)
    assert data == sender_bytes(0x01020304, 0x1112131415161718, 0x8123)
    assert len(data) == stamp.AUTH_PACKET_SIZE == 112
    assert CODEC.decode_sender(data) == p


def test_reflector_packet_layout():
    e1, e2 = stamp.ErrorEstimate.decode(0x0101), stamp.ErrorEstimate.decode(0xC0FF)
    p = stamp.ReflectorPacket(7, 0xA0A1A2A3A4A5A6A7, e1, 0xB0B1B2B3B4B5B6B7, 9, 0xC0C1C2C3C4C5C6C7, e2, 63)
    data = CODEC.encode_reflector(p)
    assert data == reflector_bytes(7, 0xA0A1A2A3A4A5A6A7, 0x0101, 0xB0B1B2B3B4B5B6B7, 9,
                                   0xC0C1C2C3C4C5C6C7, 0xC0FF, 63)
    assert CODEC.decode_reflector(data) == p


def test_hmac_is_sha256_truncated_to_16_octets_over_the_first_96():
    covered = bytes(range(96))
    assert stamp.auth_hmac(KEY, covered) == hmac.new(KEY, covered, "sha256").digest()[:16]
    with pytest.raises(stamp.StampError):
        stamp.auth_hmac(KEY, covered + b"x")


@pytest.mark.parametrize("octet", [0, 5, 17, 25, 60, 95, 96, 111])
def test_any_changed_covered_or_hmac_octet_fails_verification(octet):
    data = bytearray(sender_bytes(1, 2, 3))
    data[octet] ^= 0x01
    with pytest.raises(stamp.StampAuthError):
        CODEC.decode_sender(bytes(data))


def test_wrong_key_truncated_and_unauthenticated_packets_are_refused():
    good = sender_bytes(1, 2, 3)
    with pytest.raises(stamp.StampAuthError):
        stamp.StampCodec(b"another-key-0123456789").decode_sender(good)
    with pytest.raises(stamp.StampError, match="truncated"):
        CODEC.decode_sender(good[:111])
    unauth = stamp.UNAUTHENTICATED.encode_sender(stamp.SenderPacket(1, 2), 112)
    with pytest.raises(stamp.StampAuthError):
        CODEC.decode_sender(unauth)
    with pytest.raises(stamp.StampError):
        CODEC.encode_sender(stamp.SenderPacket(1, 2), size=111)


def test_padding_after_the_hmac_is_not_covered_and_kept_in_size():
    p = stamp.SenderPacket(5, 6)
    data = CODEC.encode_sender(p, size=200)
    assert len(data) == 200 and data[112:] == bytes(88)
    assert CODEC.decode_sender(data[:112] + b"\xff" * 88) == p


def test_reflect_in_authenticated_mode_answers_with_the_request_size_and_its_own_hmac():
    req = CODEC.encode_sender(stamp.SenderPacket(42, 0x0102030405060708), size=128)
    reply = CODEC.reflect(req, t2_ntp=10, t3_ntp=11, ttl=64)
    assert len(reply) == 128
    assert reply[:112] == reflector_bytes(42, 11, stamp.UNSYNCHRONIZED.encode(), 10, 42,
                                          0x0102030405060708, stamp.UNSYNCHRONIZED.encode(), 64)
    with pytest.raises(stamp.StampAuthError):
        stamp.StampCodec(b"another-key-0123456789").reflect(req, t2_ntp=1, t3_ntp=2, ttl=1)


def test_read_key_file(tmp_path):
    from failover.keys import read_key_file

    f = tmp_path / "k"
    f.write_bytes(b"  " + KEY + b"\n")
    assert read_key_file(str(f), "heartbeat.key_file") == KEY
    f.write_text("short\n")
    with pytest.raises(ValueError, match="heartbeat.key_file: .* at least 16"):
        read_key_file(str(f), "heartbeat.key_file")
    with pytest.raises(ValueError, match="cannot read"):
        read_key_file(str(tmp_path / "missing"), "heartbeat.key_file")


@pytest.mark.parametrize("codec", [stamp.UNAUTHENTICATED, CODEC], ids=["unauthenticated", "authenticated"])
def test_one_codec_object_serves_either_mode(codec):
    """Callers hold a codec and never branch on the key: the same calls, the mode's layout."""
    req = codec.encode_sender(stamp.SenderPacket(7, 0x0102030405060708))
    assert len(req) == codec.packet_size == (112 if codec.key else 44)
    reply = codec.decode_reflector(codec.reflect(req, t2_ntp=10, t3_ntp=11, ttl=64))
    assert (reply.sequence, reply.sender_sequence, reply.sender_timestamp, reply.receive_timestamp,
            reply.timestamp, reply.sender_ttl) == (7, 7, 0x0102030405060708, 10, 11, 64)


# -- the reflector and the prober in authenticated mode ------------------------------------

def test_reflector_in_authenticated_mode():
    async def main():
        r = StampReflector("127.0.0.1", 0, key=KEY)
        r.start()
        c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        c.setblocking(False)
        c.bind(("127.0.0.1", 0))
        try:
            t1 = ntp_now()
            plain = stamp.UNAUTHENTICATED
            for data in (plain.encode_sender(stamp.SenderPacket(1, t1)),        # unauthenticated: refused
                         plain.encode_sender(stamp.SenderPacket(2, t1), 112),   # right size, no HMAC
                         sender_bytes(3, t1, 1)[:100],                   # truncated
                         stamp.StampCodec(b"wrong-key-0123456789").encode_sender(stamp.SenderPacket(4, t1)),
                         sender_bytes(5, t1, 1)):
                c.sendto(data, r.bound)
            replies = []
            deadline = time.monotonic() + 0.5
            while time.monotonic() < deadline:
                try:
                    replies.append(c.recv(2048))
                except BlockingIOError:
                    await asyncio.sleep(0.01)
            return r, replies
        finally:
            c.close()
            r.close()

    r, replies = asyncio.run(main())
    assert len(replies) == 1
    got = CODEC.decode_reflector(replies[0])
    assert got.sender_sequence == 5 and got.sender_timestamp > 0
    assert (r.reflected, r.garbage, r.auth_failures) == (1, 4, 2)  # 2 truncated, 2 bad HMAC


@pytest.mark.parametrize("reflector_key,up", [(KEY, True), (b"other-key-0123456789", False), (None, False)])
def test_prober_in_authenticated_mode_needs_a_reflector_with_the_same_key(reflector_key, up):
    async def main():
        r = StampReflector("127.0.0.1", 0, key=reflector_key)
        r.start()
        p = Prober([Target("t", "127.0.0.1", r.bound[1])],
                   HeartbeatConfig(interval_ms=10, detect_multiplier=3, recover_count=3), stamp_key=KEY)
        await p.start()
        try:
            # Ready when the outcome is known: up, or more refusals than the replies "up" needs.
            def settled() -> bool:
                if up:
                    return p.snapshot("127.0.0.1").status.value == "up"
                refused = r.auth_failures if reflector_key is not None else p.counters.garbage
                return refused > 3
            deadline = time.monotonic() + 5
            while not settled() and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            return p.snapshot("127.0.0.1"), p.counters, r
        finally:
            await p.close()
            r.close()

    snap, counters, r = asyncio.run(main())
    assert (snap.status.value == "up") is up
    if up:
        assert counters.garbage == 0 and 0 < snap.rtt_ms < 50 and r.reflected > 0
    else:  # the reflector refuses every probe: wrong HMAC, or (unauthenticated mode) ...
        assert r.auth_failures > 0 if reflector_key is not None else counters.garbage > 0
        # ... it reflects them as unauthenticated replies, which the prober refuses


def test_prober_feed_counts_forged_replies_and_ignores_them():
    p = Prober([Target("t", "127.0.0.2")], HeartbeatConfig(), stamp_key=KEY)
    forged = reflector_bytes(0, 1, 1, 1, 0, 1, 1, 64)
    forged = forged[:96] + bytes(16)
    p.feed(Datagram(forged, ("127.0.0.2", 862), time.time_ns(), None))
    p.feed(Datagram(b"\x00" * 44, ("127.0.0.2", 862), time.time_ns(), None))
    assert p.counters.garbage == 2 and p.snapshot("127.0.0.2").received == 0
