"""A million hostile datagrams at the sidecar's receive path (the prober's socket), on loopback.

The prober runs in-process (its own event loop in a thread) and probes a live reflector
(127.0.0.2, another thread) and a dead address (127.0.0.3). Three flooder processes send
random, truncated, oversized and forged-reply datagrams at the prober's socket, from an
unknown address and from both gateways' own addresses (spoofed: forged replies with plausible
sequence numbers). Nothing is lost: every datagram is a counted reply, counted garbage, counted
as ignored by a session (forged/stale replies), or dropped by the kernel (/proc/net/udp). And the
sessions stay right: no forged reply is ever taken for a real one (the dead gateway is never up,
the live one's RTT stays sane) and afterwards the live gateway is up, the dead one down.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from failover.core.heartbeat import HeartbeatConfig, Status
from failover.lab.netns import wait_for
from failover.net.prober import Prober, Target
from failover.lab.routerlab import REPO

from failover.agent import StampReflector

from ..unit.test_api import free_udp_port
from .conftest import udp_drops

pytestmark = pytest.mark.slow

LIVE, DEAD = "127.0.0.2", "127.0.0.3"
TOTAL = 1_000_000
SOURCES = ["127.0.0.9", LIVE, DEAD]
RATE = 20_000  # per flooder


@contextlib.contextmanager
def reflector_thread(address: str, port: int):
    loop = asyncio.new_event_loop()
    r = StampReflector(address, port)
    ready = threading.Event()

    def run():
        asyncio.set_event_loop(loop)
        loop.call_soon(lambda: (r.start(), ready.set()))
        loop.run_forever()
        r.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert ready.wait(5)
    try:
        yield r
    finally:
        loop.call_soon_threadsafe(loop.stop)
        t.join(5)


@contextlib.contextmanager
def prober_thread(prober: Prober):
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def run():
        asyncio.set_event_loop(loop)
        loop.run_until_complete(prober.start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(prober.close())

    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert ready.wait(5)
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        t.join(5)


def test_a_million_hostile_datagrams_at_the_prober(tmp_path):
    port = free_udp_port()
    changes = []
    prober = Prober([Target("live", LIVE, port), Target("dead", DEAD, port)],
                    HeartbeatConfig(interval_ms=20, detect_multiplier=3, recover_count=10),
                    on_change=lambda target, change, stats: changes.append((time.monotonic(), target.name, change.new)))
    flooders = []
    with reflector_thread(LIVE, port) as reflector, prober_thread(prober) as loop:
        wait_for(lambda: prober.snapshot(LIVE).status == Status.UP and prober.snapshot(DEAD).status == Status.DOWN,
                 timeout=5, what="live up, dead down")
        my_port = prober._socks[socket.AF_INET].getsockname()[1]
        base_garbage = prober.counters.garbage  # 0: nothing but replies so far
        t0 = time.monotonic()
        code = "from tests.fuzz.conftest import blast_main; blast_main()"
        try:
            for seed, source in enumerate(SOURCES):
                log = open(tmp_path / f"flood{seed}.log", "wb")
                flooders.append(subprocess.Popen(
                    [sys.executable, "-c", code, "127.0.0.1", str(my_port), str(TOTAL // len(SOURCES) + 1),
                     str(100 + seed), "44", str(RATE), source], stdout=log, cwd=REPO, start_new_session=True))
            for f in flooders:
                assert f.wait(90) == 0
        finally:
            for f in flooders:
                if f.poll() is None:
                    f.kill()
                    f.wait()
        flood_s = time.monotonic() - t0
        results = [json.loads((tmp_path / f"flood{seed}.log").read_text()) for seed in range(len(SOURCES))]
        garbage_sent = sum(r["sent"] for r in results)

        # Recovery: the live gateway is (back) up, the dead one still down.
        wait_for(lambda: prober.snapshot(LIVE).status == Status.UP, timeout=10, what="live up after the flood")
        # Then stop probing (the socket stays open) so that the count can be exact.
        loop.call_soon_threadsafe(prober._task.cancel)
        sessions = prober.sessions

        def accounted() -> tuple[int, int, int]:
            """(datagrams the prober's socket got, the kernel's drops, datagrams sent to it)."""
            drops = udp_drops(Path("/proc/net/udp").read_text(), my_port)
            got = prober.counters.garbage + drops + sum(x.ignored + x.received for x in sessions.values())
            return got, drops, garbage_sent + reflector.reflected

        wait_for(lambda: (lambda a: a[0] >= a[2])(accounted()), timeout=30, interval=0.1,
                 what="the prober to account for every datagram")
        time.sleep(0.2)
        seen, drops, expected = accounted()
        live, dead = prober.snapshot(LIVE), prober.snapshot(DEAD)
        print(f"\nprober flood: {garbage_sent} datagrams from {len(SOURCES)} processes in {flood_s:.1f} s; "
              f"garbage={prober.counters.garbage - base_garbage} ignored(live/dead)="
              f"{sessions[LIVE].ignored}/{sessions[DEAD].ignored} kernel drops={drops}; "
              f"live: {live.status.value} rtt={live.rtt_ms:.3f} ms loss={live.loss:.3f}; "
              f"status changes during the flood: {[(n, s.value) for _, n, s in changes if _ > t0]}")

    # Exact: a datagram that was not garbage or ignored would have been taken as a reply, and
    # the only replies are the reflector's (ignored counts only forged ones: the reflector is on
    # the same host, its replies are never late).
    assert seen == expected
    assert sessions[DEAD].received == 0 and dead.status == Status.DOWN
    assert all(name != "dead" or new != Status.UP for _, name, new in changes)
    assert sessions[LIVE].received <= sessions[LIVE].sent
    assert live.rtt_ms is not None and 0 < live.rtt_ms < 50
    # The parser saw most of the flood, not only the kernel's drop counter.
    assert drops < garbage_sent * 3 // 4
