"""A paced UDP flow with kernel receive timestamps, driven over stdin (bench.outage's flow).

    ip netns exec NS python -m bench.udpflow --to HOST:PORT --rate 1000

Sends ``--rate`` datagrams per second (sequence, send time) to an echo and records the kernel's
receive timestamp (SO_TIMESTAMPNS, CLOCK_REALTIME) of every echo. Commands on stdin, one per line:
``mark`` starts a window; ``report`` prints one JSON line for the window since the mark:
longest gap between consecutive echoes (ms), echoes received, datagrams sent, and the sender's
own longest pause (a sender stall would otherwise look like an outage), and ``lost``: datagrams
sent since the mark (up to 100 ms before the report: those may still be in flight) whose echo
never came. HOST may be IPv6 (``fd00::1:9000`` or ``[fd00::1]:9000``).
"""

from __future__ import annotations

import argparse
import json
import socket
import struct
import sys
import threading
import time

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
PROBE = struct.Struct("!QQ")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--to", required=True)
    ap.add_argument("--rate", type=int, default=1000)
    args = ap.parse_args()
    host, port = args.to.rsplit(":", 1)
    host = host.strip("[]")
    dest = (host, int(port))
    v6 = ":" in host
    s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.bind(("::" if v6 else "0.0.0.0", 0))
    rx: list[int] = []
    tx: list[int] = []
    echoed: set[int] = set()  # sequence numbers whose echo came back
    interval_ns = 1_000_000_000 // args.rate

    def sender() -> None:
        seq = 0
        nxt = time.monotonic_ns()
        while True:
            now = time.monotonic_ns()
            if now < nxt:
                time.sleep((nxt - now) / 1e9)
                continue
            try:
                s.sendto(PROBE.pack(seq, time.time_ns()), dest)
            except OSError:
                pass  # no route: lost, as it should count
            tx.append(time.time_ns())
            seq += 1
            nxt += interval_ns
            if time.monotonic_ns() - nxt > 50 * interval_ns:
                nxt = time.monotonic_ns()  # never burst to catch up

    def receiver() -> None:
        while True:
            try:
                data, anc, _f, _a = s.recvmsg(64, 64)
            except OSError:
                continue
            t = None
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack("@qq", payload[:16])
                    t = sec * 1_000_000_000 + nsec
            rx.append(t if t is not None else time.time_ns())
            if len(data) >= PROBE.size:
                echoed.add(PROBE.unpack_from(data)[0])

    threading.Thread(target=sender, daemon=True).start()
    threading.Thread(target=receiver, daemon=True).start()
    mark_rx = mark_tx = 0
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "mark":
            mark_rx, mark_tx = len(rx), len(tx)
        elif cmd == "report":
            r, t = rx[mark_rx:], tx[mark_tx:]
            gap = max((b - a for a, b in zip(r, r[1:])), default=None)
            at = None
            if gap is not None:
                i = max(range(len(r) - 1), key=lambda k: r[k + 1] - r[k])
                at = r[i]
            pause = max((b - a for a, b in zip(t, t[1:])), default=0)
            settled = time.time_ns() - 100_000_000
            last = mark_tx + sum(1 for sent in t if sent <= settled)
            lost = sum(1 for seq in range(mark_tx, last) if seq not in echoed)
            print(json.dumps({"gap_ms": None if gap is None else gap / 1e6, "gap_start_ns": at,
                              "echoes": len(r), "sent": len(t), "last_ns": r[-1] if r else None,
                              "sender_pause_ms": pause / 1e6, "lost": lost}), flush=True)
        elif cmd == "quit":
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
