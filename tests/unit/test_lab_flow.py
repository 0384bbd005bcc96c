"""The lab's demo flow counts a dead flow as the outage it is, while it lasts.

`failover lab status` once said "longest outage 0 ms" while the flow had been dead for 15 s:
the longest outage was only updated when an echo ended a gap. Here the real sender and echo
(`failover lab flow` / `failover lab echo`) run on loopback; the echo is stopped and the
sender's own stats file must report the ongoing outage.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

from failover.lab.flow import FlowStats
from failover.lab.netns import wait_for


def test_gap_counts_the_ongoing_outage() -> None:
    s = FlowStats()
    s.gap(40.0, 20.0)              # within three intervals: no outage
    assert (s.outage_ms, s.longest_outage_ms) == (0.0, 0.0)
    s.gap(15_000.0, 20.0)          # no echo for 15 s, none yet to end it
    assert (s.outage_ms, s.longest_outage_ms) == (15_000.0, 15_000.0)
    s.gap(0.0, 20.0)               # echoes again: the record stays
    assert (s.outage_ms, s.longest_outage_ms) == (0.0, 15_000.0)


def read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def test_a_dead_flow_reports_its_outage_while_it_lasts(tmp_path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cli = [sys.executable, "-m", "failover.cli", "lab"]
    stats = tmp_path / "flow.json"
    echo = subprocess.Popen([*cli, "echo", "--port", str(port), "--bind", "127.0.0.1"])
    sender = subprocess.Popen([*cli, "flow", "--to", f"127.0.0.1:{port}", "--rate", "50", "--stats", str(stats)])
    try:
        wait_for(lambda: read(stats).get("received", 0) >= 20, timeout=10, what="the flow echoing")
        echo.kill()
        echo.wait()
        # The stats file is rewritten once a second: the outage shows at the next write or so.
        s = wait_for(lambda: (r := read(stats)).get("outage_ms", 0) >= 1000 and r, timeout=5,
                     what="an outage of at least 1 s reported")
        assert s["longest_outage_ms"] >= s["outage_ms"], s
    finally:
        for p in (sender, echo):
            p.kill()
            p.wait()
