"""The agent's STAMP Session-Reflector, on real UDP sockets over loopback.

The sender side here is written with plain sockets and ``struct`` from RFC 8762's layout, not
with the project's codec, so a codec mistake cannot hide a reflector mistake.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time

import pytest

from failover.agent import StampReflector


NTP_OFFSET = 2_208_988_800
# RFC 8762 §4.3.1, unauthenticated reflector packet.
REFLECTOR = struct.Struct("!IQH2xQIQH2xB3x")


def ntp_now() -> int:
    ns = time.time_ns()
    s, frac = divmod(ns, 1_000_000_000)
    return ((s + NTP_OFFSET) << 32) | (frac << 32) // 1_000_000_000


def ntp_seconds(ntp: int) -> float:
    return (ntp >> 32) - NTP_OFFSET + (ntp & 0xFFFFFFFF) / 2**32


def sender_packet(seq: int, ts: int, size: int = 44) -> bytes:
    return struct.pack("!IQH", seq, ts, 0x0001) + bytes(size - 14)


async def exchange(reflector: StampReflector, payloads: list[bytes], ttl: int = 64, wait: float = 0.5):
    """Send each payload from a fresh client socket; return the replies received."""
    loop = asyncio.get_running_loop()
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
    client.setblocking(False)
    client.bind(("127.0.0.1", 0))
    replies: list[tuple[bytes, float]] = []
    try:
        for p in payloads:
            client.sendto(p, reflector.bound)
        deadline = loop.time() + wait
        while loop.time() < deadline:
            try:
                data = client.recv(65535)
                replies.append((data, time.time()))
            except BlockingIOError:
                await asyncio.sleep(0.005)
    finally:
        client.close()
    return replies


def run_with_reflector(body, lab_delay_ms: float = 0.0):
    async def main():
        r = StampReflector("127.0.0.1", 0, lab_delay_ms)
        r.start()
        try:
            return await body(r)
        finally:
            r.close()

    return asyncio.run(main())


def test_reply_copies_sequence_and_sender_fields_and_ttl():
    t1 = ntp_now()

    async def body(r):
        return await exchange(r, [sender_packet(4242, t1)], ttl=17)

    (reply, _), = run_with_reflector(body)
    seq, t3, _err, t2, s_seq, s_ts, s_err, ttl = REFLECTOR.unpack_from(reply)
    assert (seq, s_seq, s_ts, s_err, ttl) == (4242, 4242, t1, 0x0001, 17)
    assert t2 <= t3  # received before sent
    assert abs(ntp_seconds(t2) - ntp_seconds(t1)) < 0.5


@pytest.mark.parametrize("size", [44, 45, 128, 1400])
def test_reply_has_the_request_size(size):
    async def body(r):
        return await exchange(r, [sender_packet(1, ntp_now(), size)])

    (reply, _), = run_with_reflector(body)
    assert len(reply) == size
    assert reply[44:] == bytes(size - 44)


def test_garbage_is_counted_ignored_and_service_continues():
    garbage = [b"", b"x", bytes(43), b"\xff" * 20]

    async def body(r):
        replies = await exchange(r, [*garbage, sender_packet(7, ntp_now())])
        return r, replies

    r, replies = run_with_reflector(body)
    assert r.garbage == len(garbage)
    assert r.reflected == 1
    assert [REFLECTOR.unpack_from(d)[4] for d, _ in replies] == [7]


def test_lab_delay_holds_reply_and_counts_as_path_time():
    t1 = ntp_now()

    async def body(r):
        return await exchange(r, [sender_packet(1, t1)], wait=0.5)

    ((reply, got),) = run_with_reflector(body, lab_delay_ms=60)
    _seq, t3, _e, t2, *_ = REFLECTOR.unpack_from(reply)
    # Emulated distance is path time: RTT = (T4 - T1) - (T3 - T2) includes it; the reflector's
    # own turnaround (T3 - T2: how late its loop ran) does not.
    rtt = (got - ntp_seconds(t1)) - (ntp_seconds(t3) - ntp_seconds(t2))
    assert rtt >= 0.060
    assert ntp_seconds(t3) >= ntp_seconds(t2)


def test_a_busy_reflector_does_not_look_farther_away():
    # The lab emulates distance with a hold: under load (its loop late to read the request, or
    # late to fire the hold's timer) that lateness is the reflector's turnaround, not distance.
    # A lab run once ranked a 3 ms gateway behind an 8 ms one this way (16.6 ms against 8.9 ms).
    async def body(r):
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        client.bind(("127.0.0.1", 0))
        try:
            t1 = ntp_now()
            client.sendto(sender_packet(1, t1), r.bound)
            time.sleep(0.1)               # the reflector's loop is busy for 100 ms
            client.setblocking(False)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 1.0
            while loop.time() < deadline:
                try:
                    return t1, client.recv(65535)
                except BlockingIOError:
                    await asyncio.sleep(0.002)
            raise AssertionError("no reply")
        finally:
            client.close()

    t1, reply = run_with_reflector(body, lab_delay_ms=20)
    _seq, t3, _e, t2, *_ = REFLECTOR.unpack_from(reply)
    # "Arrived" 20 ms after it was sent (by the kernel's receive time), not 100 + 20 ms: the
    # bounds leave 80 ms for this process to be preempted between T1 and the send.
    assert 0.020 <= ntp_seconds(t2) - ntp_seconds(t1) < 0.100
    # ... and the busy time is turnaround (T3 - T2), which the sender subtracts.
    assert ntp_seconds(t3) - ntp_seconds(t2) >= 0.070


@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
def test_start_names_the_bound_address_and_port(address, caplog):
    # An IPv6 socket's name has four fields: the log line once broke on them (a logging error).
    async def main():
        r = StampReflector(address, 0, 2.0)
        r.start()
        try:
            return r.bound
        finally:
            r.close()

    with caplog.at_level("INFO", logger="failover.agent"):
        host, port = asyncio.run(main())
    assert host == address and port > 0
    assert f"STAMP reflector on {address}:{port} (lab delay 2 ms)" in caplog.messages
