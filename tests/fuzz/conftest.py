"""Hostile-input tests: floods of malformed datagrams, abusive TCP clients, API fuzzing.

``blast`` is the datagram flooder; the namespace tests run it in other namespaces as
``python -c "from tests.fuzz.conftest import blast_main; blast_main()" TARGET PORT COUNT SEED
[STAMP_SIZE [RATE [SOURCE]]]``
(several at once), so the system under test is hit by other processes over real veths.
"""

from __future__ import annotations

import json
import random
import socket
import struct
import sys
import time

import pytest

from failover.lab.routerlab import RouterTopology

#: Largest IPv4 UDP payload.
MAX_UDP = 65507


def payloads(seed: int, n: int = 4096, stamp_size: int = 44) -> tuple[list[bytes], int]:
    """A pool of hostile datagrams and how many of them are shorter than ``stamp_size``
    (malformed for any STAMP parser: truncated). Kinds: random short, truncated STAMP, random of
    plausible size, STAMP-shaped with random fields, oversized (up to the UDP maximum), empty."""
    rng = random.Random(seed)
    pool, short = [], 0
    for i in range(n):
        kind = rng.random()
        if kind < 0.30:      # random, shorter than a test packet
            p = rng.randbytes(rng.randrange(0, stamp_size))
        elif kind < 0.45:    # a real-looking packet cut short
            head = struct.pack("!IQH", rng.getrandbits(32), rng.getrandbits(64), rng.getrandbits(16))
            p = (head + rng.randbytes(stamp_size))[: rng.randrange(1, stamp_size)]
        elif kind < 0.75:    # random bytes of a plausible size
            p = rng.randbytes(rng.randrange(stamp_size, 1473))
        elif kind < 0.88:    # a reflector reply with a plausible sender sequence, forged timestamps
            p = struct.pack("!IQH2xQIQH2xB3x", rng.getrandbits(32), rng.getrandbits(64), rng.getrandbits(16),
                            rng.getrandbits(64), rng.randrange(0, 4096), rng.getrandbits(64),
                            rng.getrandbits(16), rng.getrandbits(8)) + bytes(max(0, stamp_size - 44))
        elif kind < 0.97:    # STAMP-shaped, every field random (huge timestamps, odd error estimates)
            p = struct.pack("!IQH", rng.getrandbits(32), rng.getrandbits(64), rng.getrandbits(16)) \
                + rng.randbytes(stamp_size - 14 + rng.randrange(0, 64))
        elif kind < 0.995:   # oversized: jumbo to the UDP maximum
            p = rng.randbytes(rng.randrange(1473, MAX_UDP + 1))
        else:
            p = b""
        short += len(p) < stamp_size
        pool.append(p)
    return pool, short


def blast(target: str, port: int, count: int, seed: int, stamp_size: int = 44, rate: float = 0,
          source: str = "0.0.0.0") -> dict:
    """Send ``count`` datagrams from the pool, cycling, at most ``rate`` per second (0: as fast
    as possible); returns what was sent, by kind."""
    pool, _ = payloads(seed, stamp_size=stamp_size)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # replies: not read, dropped
    sock.bind((source, 0))
    dest = (target, port)
    sent = short = errors = 0
    n = len(pool)
    t0 = time.monotonic()
    sendto = sock.sendto
    for i in range(count):
        if rate and i & 0xFF == 0:
            ahead = t0 + i / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        p = pool[i % n]
        try:
            sendto(p, dest)
        except OSError:  # ENOBUFS under the flood: not sent, not counted
            errors += 1
            continue
        sent += 1
        short += len(p) < stamp_size
    return {"sent": sent, "short": short, "errors": errors, "seconds": time.monotonic() - t0}


def blast_main() -> None:
    target, port, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    stamp_size = int(sys.argv[5]) if len(sys.argv) > 5 else 44
    rate = float(sys.argv[6]) if len(sys.argv) > 6 else 0
    source = sys.argv[7] if len(sys.argv) > 7 else "0.0.0.0"
    print(json.dumps(blast(target, port, count, seed, stamp_size, rate, source)), flush=True)


def udp_drops(proc_net_udp: str, port: int) -> int:
    """The kernel's per-socket drop counter (last column of /proc/net/udp) for a local port."""
    total = 0
    for line in proc_net_udp.splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port:
            total += int(fields[-1])
    return total


@pytest.fixture
def topo1(tmp_path):
    """Router and one gateway namespace (no agent started: each test starts its own)."""
    t = RouterTopology.build(tmp_path, n_gateways=1, agents=False)
    try:
        yield t
    finally:
        t.cleanup()
