"""The lab's steady demo flow: UDP echo from the client to the internet host (one per family:
the socket's family is its address's).

``send`` paces probes at a fixed rate, counts echoes and measures outages (the longest run of
time with no echo, the one still going on included), and writes its counters to a JSON file
once a second for the dashboard.
Its numbers show on the dashboard what a failover costs a real flow.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import struct
import time
from dataclasses import asdict, dataclass
from pathlib import Path

PROBE = struct.Struct("!QQ")  # sequence, send time (ns)


@dataclass
class FlowStats:
    sent: int = 0
    received: int = 0
    last_echo: float | None = None      # unix seconds
    outage_ms: float = 0.0              # current gap since the last echo, once it exceeds 3 intervals
    longest_outage_ms: float = 0.0      # the ongoing outage included: a dead flow is an outage
    rtt_ms: float | None = None

    @property
    def loss(self) -> float:
        return 0.0 if self.sent == 0 else max(0.0, 1 - self.received / self.sent)

    def gap(self, gap_ms: float, interval_ms: float) -> None:
        """The time since the last echo (or since the flow started), at any moment: beyond three
        intervals it is an outage, counted while it lasts, not only once an echo ends it."""
        self.outage_ms = gap_ms if gap_ms > 3 * interval_ms else 0.0
        self.longest_outage_ms = max(self.longest_outage_ms, self.outage_ms)


def _family(address: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET


def echo(port: int, bind: str = "0.0.0.0") -> None:
    """Return every datagram to its sender (the internet host's side)."""
    with socket.socket(_family(bind), socket.SOCK_DGRAM) as s:
        s.bind((bind, port))
        while True:
            data, peer = s.recvfrom(2048)
            s.sendto(data, peer)


def send(target: str, port: int, rate_pps: int, stats_file: Path | None = None) -> None:
    interval = 1.0 / rate_pps
    stats = FlowStats()
    last_rx = time.monotonic()
    s = socket.socket(_family(target), socket.SOCK_DGRAM)
    s.setblocking(False)
    next_send = next_write = time.monotonic()
    seq = 0
    while True:
        now = time.monotonic()
        if now >= next_send:
            try:
                s.sendto(PROBE.pack(seq, time.time_ns()), (target, port))
            except OSError:
                pass  # no route while the WAN is down and before failover: counted as lost
            seq += 1
            stats.sent += 1
            next_send += interval
        while True:
            try:
                data = s.recv(64)
            except BlockingIOError:
                break
            except OSError:
                break
            if len(data) == PROBE.size:
                _, t_sent = PROBE.unpack(data)
                stats.received += 1
                stats.rtt_ms = (time.time_ns() - t_sent) / 1e6
                stats.gap((time.monotonic() - last_rx) * 1000, interval * 1000)
                last_rx = time.monotonic()
                stats.last_echo = time.time()
        stats.gap((time.monotonic() - last_rx) * 1000, interval * 1000)
        if stats_file and now >= next_write:
            _write(stats_file, stats)
            next_write = now + 1.0
        time.sleep(max(0.0, min(next_send, next_write) - time.monotonic(), 0.0005))


def _write(path: Path, stats: FlowStats) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({**asdict(stats), "loss": stats.loss}))
    os.replace(tmp, path)
