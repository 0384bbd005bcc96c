"""A million hostile datagrams at the agent's STAMP reflector, a real process in a namespace.

Four flooders in the router's namespace send random, truncated, STAMP-shaped and oversized
datagrams over the LAN veth to the agent in gw1. Nothing is lost: every datagram the flooders
sent is either reflected, counted as malformed by the agent (its ``--stats-file``), or counted
as dropped by gw1's kernel on the reflector's socket (/proc/net/udp) when the flood outruns it.
Afterwards the reflector still answers valid probes, every one of them.
"""

from __future__ import annotations

import json
import socket
import struct
import sys
import time

import pytest

from failover.lab.netns import wait_for
from failover.lab.nsocket import socket_in
from failover.lab.routerlab import REPO, gateway_address

from .conftest import udp_drops

pytestmark = [pytest.mark.netns, pytest.mark.slow]

TOTAL = 1_000_000
FLOODERS = 2
#: Datagrams/s per flooder. Unpaced, the flooders outrun one Python reflector ~15:1 and the kernel
#: drops almost everything before the parser sees it; paced near its capacity, most reach it.
RATE = 30_000
GW1 = gateway_address(1)
STAMP_PORT = 862


def stats(t) -> dict:
    try:
        return json.loads((t.tmp / "gw1-stats.json").read_text())["stamp"]
    except (OSError, ValueError, KeyError):
        return {}


def probe_all(t, n: int = 200) -> int:
    """Send n valid STAMP probes from the router; return how many valid replies came back."""
    s = socket_in(t.nets.ns("router"), socket.AF_INET, socket.SOCK_DGRAM)
    with s:
        s.settimeout(1.0)
        got = set()
        for seq in range(n):
            s.sendto(struct.pack("!IQH", seq, 0xE000000000000000 + seq, 1) + bytes(30), (GW1, STAMP_PORT))
            try:
                while True:
                    data = s.recv(2048)
                    (s_seq,) = struct.unpack_from("!I", data, 24)
                    if len(data) == 44:
                        got.add(s_seq)
                    if s_seq == seq:
                        break
            except TimeoutError:
                pass
        return len(got)


def test_a_million_hostile_datagrams_are_counted_and_the_reflector_keeps_answering(topo1):
    t = topo1
    agent = t.start_agent(1, "--stats-file", str(t.tmp / "gw1-stats.json"))
    wait_for(lambda: stats(t), what="the agent's stats file")
    assert probe_all(t, 20) == 20

    t0 = time.monotonic()
    code = "from tests.fuzz.conftest import blast_main; blast_main()"
    flooders = [
        t.nets.spawn("router", [sys.executable, "-c", code, GW1, str(STAMP_PORT), str(TOTAL // FLOODERS), str(seed), "44", str(RATE)],
                     log=t.tmp / f"flood{seed}.log", cwd=REPO)
        for seed in range(FLOODERS)
    ]
    for f in flooders:
        assert f.wait(60) == 0, (t.tmp / "flood0.log").read_text()
    flood_s = time.monotonic() - t0
    results = [json.loads((t.tmp / f"flood{seed}.log").read_text()) for seed in range(FLOODERS)]
    sent = sum(r["sent"] for r in results)
    short = sum(r["short"] for r in results)

    def drained():
        s = stats(t)
        drops = udp_drops(t.nets.exec("gw1", "cat", "/proc/net/udp").stdout, STAMP_PORT)
        return s if s and s["reflected"] + s["malformed"] + drops >= sent else None

    # The agent works through what is queued; its stats file is rewritten twice a second.
    try:
        wait_for(drained, timeout=30, interval=0.2, what="the agent to account for every datagram")
    finally:
        s = stats(t)
        drops = udp_drops(t.nets.exec("gw1", "cat", "/proc/net/udp").stdout, STAMP_PORT)
        print(f"\nflood: {sent} datagrams ({short} short) from {FLOODERS} processes in {flood_s:.1f} s; "
              f"agent: reflected={s.get('reflected')} malformed={s.get('malformed')} kernel drops={drops}; "
              f"drained after {time.monotonic() - t0:.1f} s")
    assert agent.poll() is None, "the agent died"
    assert sent >= TOTAL * 0.99  # ENOBUFS on the flooders' side is not sent
    # Exact accounting: reflected (the probes before: 20) + malformed + dropped == sent.
    assert s["reflected"] - 20 + s["malformed"] + drops == sent
    # Every short datagram that reached the agent was counted as malformed, never reflected.
    assert s["malformed"] > 0 and s["malformed"] <= short
    assert s["malformed"] >= short - drops
    # Most of the flood went through the parser, not just the kernel's drop counter.
    assert s["reflected"] + s["malformed"] >= sent // 4

    # And it still answers every valid probe.
    assert probe_all(t) == 200
    assert agent.poll() is None
