"""The prober's verdicts survive a busy event loop: a stall may delay a verdict, never suppress it.

A real Prober on loopback probes every 5 ms (the path check's pace) while a hog blocks its loop
for 12 ms out of every 15 (every tick comes late, as under an HTTP flood on a shared loop). A
gateway that answers (the agent's reflector, in its own thread) stays up; one that never answers
is found down.
"""

from __future__ import annotations

import asyncio
import time

from failover.core.heartbeat import HeartbeatConfig, Status
from failover.net.prober import Prober, Target

from .test_api import free_udp_port, reflector_thread

LIVE, DEAD = "127.0.0.2", "127.0.0.3"


async def _probe_while_hogged(port: int, seconds: float) -> tuple[Prober, list]:
    changes = []
    prober = Prober([Target("live", LIVE, port), Target("dead", DEAD, port)],
                    HeartbeatConfig(interval_ms=5, detect_multiplier=3, recover_count=3),
                    on_change=lambda t, c, _s: changes.append((t.name, c.new, time.monotonic())))
    await prober.start()
    try:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            time.sleep(0.012)  # the loop is busy: no tick, no read
            await asyncio.sleep(0.003)
    finally:
        await prober.close()
    return prober, changes


def test_verdicts_come_while_the_loop_keeps_stalling():
    port = free_udp_port()
    with reflector_thread(LIVE, port):
        prober, changes = asyncio.run(_probe_while_hogged(port, 2.0))
    assert prober.counters.stalls > 20, "the hog did not stall the prober: the test proves nothing"
    final = {name: new for name, new, _ in changes}
    assert final.get("dead") is Status.DOWN, f"a silent gateway was never found down: {changes}"
    assert final.get("live") is Status.UP and not [c for c in changes if c[0] == "live" and c[1] is Status.DOWN], \
        f"the answering gateway was called down: {changes}"
