"""The prober probes IPv6 targets (a gateway's address6) over UDP/IPv6, each target its own
session, beside IPv4 ones: real sockets on loopback, the agent's reflector answering on ::1."""

from __future__ import annotations

import asyncio
import time

import pytest

from failover.core.heartbeat import HeartbeatConfig, Status
from failover.net.prober import Prober, Target

from .test_api import free_udp_port, reflector_thread

V4, V6 = "127.0.0.2", "::1"
#: Nothing answers here (documentation prefix): its session must go down on its own.
DEAD6 = "2001:db8::dead"


async def _probe(targets: list[Target], seconds: float) -> tuple[Prober, list]:
    changes = []
    prober = Prober(targets, HeartbeatConfig(interval_ms=10, detect_multiplier=3, recover_count=3),
                    on_change=lambda t, c, _s: changes.append((t.address, c.new)))
    await prober.start()
    try:
        await asyncio.sleep(seconds)
    finally:
        await prober.close()
    return prober, changes


def test_ipv6_targets_have_sessions_of_their_own():
    port = free_udp_port()
    with reflector_thread(V4, port), reflector_thread(V6, port):
        prober, changes = asyncio.run(_probe(
            [Target("gw", V4, port), Target("gw6", V6, port), Target("dead6", DEAD6, port)], 0.6))
    v6 = prober.snapshot(V6)
    assert v6.status is Status.UP and v6.received > 10 and v6.rtt_ms is not None, v6
    assert prober.snapshot(V4).status is Status.UP
    dead = prober.snapshot(DEAD6)
    assert dead.status is Status.DOWN and dead.received == 0, dead
    assert (V6, Status.UP) in changes and (DEAD6, Status.DOWN) in changes


def test_an_ipv6_reply_counts_for_its_own_session_only():
    """Only the IPv6 reflector runs: the IPv4 session of the same gateway stays silent."""
    port = free_udp_port()
    with reflector_thread(V6, port):
        prober, _ = asyncio.run(_probe([Target("gw", V4, port), Target("gw6", V6, port)], 0.4))
    assert prober.snapshot(V6).status is Status.UP
    assert prober.snapshot(V4).status is Status.DOWN and prober.snapshot(V4).received == 0


def test_retarget_to_ipv6_opens_the_ipv6_socket():
    port = free_udp_port()

    async def run() -> Prober:
        prober = Prober([Target("gw", V4, port)], HeartbeatConfig(interval_ms=10, detect_multiplier=3,
                                                                     recover_count=3))
        await prober.start()
        try:
            await asyncio.sleep(0.05)
            prober.retarget([Target("gw", V4, port), Target("gw6", V6, port)])
            deadline = time.monotonic() + 2
            while prober.snapshot(V6).status is not Status.UP and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
        finally:
            await prober.close()
        return prober

    with reflector_thread(V6, port):
        assert asyncio.run(run()).snapshot(V6).status is Status.UP


def test_a_target_address_must_be_canonical():
    with pytest.raises(ValueError, match="canonical"):
        Target("gw6", "fd00:0010::0011")
