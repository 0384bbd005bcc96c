"""Decision replay: a recorded run of `failover run` replays to the decisions the live router made.

Two gateways, a path check to the internet host. With `[journal]` on, the router lives through:
gw1's agent stops (its heartbeats go: gw1 down, the election moves to gw2), the WAN's carrier is
lost and comes back (failover, failback after the clean second), the ISP silently stops
forwarding and starts again (path down: failover; path up: failback).

`failover replay JOURNAL` must then print the same decisions:

- the sidecar's (gateway verdicts, path verdicts, elections) word for word, in order, as the live
  event log (`GET /api/v1/log`) has them: their reasons carry the measured figures;
- the daemon's failover on/off in the order an rtnetlink listener saw the rule come and go, each
  at most TOLERANCE_MS before or after (the live daemon acts within a turn of its loop);

and a replay with another config (detect_multiplier 3 → 8) must decide otherwise: the test of
the comparison itself.

Expected routing state (router namespace): rule "1000: from all lookup 100" only while failed
over (twice); table 100's default via gw2 once the election moved.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from failover.lab.netns import wait_for

from failover.lab.sidecarlab import hb_fixture
from failover.lab.rulewatch import RuleWatch
from failover.lab.routerlab import REPO, gateway_address

#: The daemon's failover time against the replay's: its loop turn (10 ms) plus the link read and
#: the notification's delivery to two readers on a machine shared with other tests.
TOLERANCE_MS = 150


@pytest.fixture
def hb(tmp_path):
    yield from hb_fixture(tmp_path, n_gateways=2)


def replay(journal, *extra: str) -> list[dict]:
    proc = subprocess.run([sys.executable, "-m", "failover.cli", "replay", str(journal), "--json", *extra],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def sidecar_decisions(entries: list[dict]) -> list[tuple[str, str]]:
    """Gateway verdicts, path verdicts, elections and pins: what the measuring core decides."""
    out = []
    for e in entries:
        if (e["kind"] == "gateway" and "status" in e) or e["kind"] == "election" or \
                (e["kind"] == "wan" and e.get("source") == "path-check"):
            out.append((e["kind"], e["message"]))
    return out


def failovers(entries: list[dict]) -> list[tuple[bool, float]]:
    return [(e["active"], e["ts"]) for e in entries if e["kind"] == "failover" and "active" in e]


def test_a_recorded_run_replays_to_the_live_decisions(hb):
    topo = hb.topo
    gw1, gw2 = gateway_address(1), gateway_address(2)
    config = hb.write_config()
    journal = topo.tmp / "journal" / "decisions.jsonl"
    config.write_text(config.read_text() + f'[journal]\npath = "{journal}"\n')
    watch = RuleWatch(topo.nets.ns("router")).start()
    try:
        host = topo.start_host(config, command="run")
        hb.sidecar = host
        wait_for(hb._api_ready, timeout=15, what="the sidecar's REST API")
        wait_for(hb.all_up, timeout=10, what="gw1 and gw2 up")
        wait_for(lambda: topo.state()["path"] == "up", what="the path check's first verdict")

        topo.stop_agent(1)  # gw1's heartbeats stop: down, the election moves at once
        wait_for(lambda: hb.state()["elected"]["address"] == gw2, what="gw2 elected")
        topo.set_isp(False)
        wait_for(topo.has_failover_rule, what="failover on carrier loss")
        time.sleep(0.3)
        topo.set_isp(True)
        wait_for(lambda: not topo.has_failover_rule(), timeout=10, what="failback after the clean second")
        time.sleep(0.5)
        hb.isp_forwarding(False)
        wait_for(topo.has_failover_rule, what="failover on the path check's verdict")
        time.sleep(0.3)
        hb.isp_forwarding(True)
        wait_for(lambda: not topo.has_failover_rule(), timeout=30, what="failback after the path came back")
        assert topo.default_via() == gw2
        time.sleep(0.3)
        live = hb.http.get("/api/v1/log").json()
        watch.sync()
        observed = [(e.added, e.at_ns / 1e9) for e in watch.events]
        assert topo.stop_host() == 0
    finally:
        watch.close()

    replayed = replay(journal)
    # The sidecar's decisions, word for word (reasons with RTTs, counts and times), in order.
    assert sidecar_decisions(replayed) == sidecar_decisions(live)
    kinds = [k for k, _ in sidecar_decisions(live)]
    assert kinds.count("election") >= 2 and "gateway" in kinds and "wan" in kinds, live
    # The failovers, as the kernel's rule notifications show them.
    ons_offs = failovers(replayed)
    assert [on for on, _ in ons_offs] == [on for on, _ in observed] == [True, False, True, False], \
        (ons_offs, observed)
    for (_, t_replay), (_, t_kernel) in zip(ons_offs, observed):
        assert abs(t_replay - t_kernel) * 1000 <= TOLERANCE_MS, (ons_offs, observed)
    # ... and as the live event log has them (its failover lines come from the daemon's state).
    assert [on for on, _ in failovers(live)] == [True, False, True, False]

    # The recording config given explicitly is the same replay; another one is not.
    assert replay(journal, "--config", str(config)) == replayed
    other = topo.tmp / "what-if.toml"
    other.write_text(config.read_text().replace("[wan]\n", "[heartbeat]\ndetect_multiplier = 8\n[wan]\n", 1))
    what_if = replay(journal, "--config", str(other))
    assert sidecar_decisions(what_if) != sidecar_decisions(replayed)
