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

A second scenario does the same with three path-check targets (stamp, icmp, icmp; reliability 2):
a silenced target (a confirmation burst, a target fault, no failover), then an ISP blackout; the
targets' verdicts and faults must replay word for word too, and "what if reliability were 3"
fails over at the fault.

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
from failover.lab.routerlab import INTERNET, REPO, gateway_address
from failover.lab.targets import ICMP1, wan_targets

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
    """Gateway verdicts, path and target verdicts, elections and pins: what the measuring core
    decides."""
    out = []
    for e in entries:
        if (e["kind"] == "gateway" and "status" in e) or e["kind"] == "election" or \
                (e["kind"] == "wan" and e.get("source") in ("path-check", "target")):
            out.append((e["kind"], e["message"]))
    return out


def failovers(entries: list[dict]) -> list[tuple[bool, float]]:
    return [(e["active"], e["ts"]) for e in entries if e["kind"] == "failover" and "active" in e]


def test_a_recorded_run_replays_to_the_live_decisions(hb):
    topo = hb.topo
    gw1, gw2 = gateway_address(1), gateway_address(2)
    journal = topo.tmp / "journal" / "decisions.jsonl"
    config = hb.write_config(journal={"path": str(journal)})
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
        # The log's failover lines come from the daemon's state, polled every 100 ms: the last
        # one is waited for, then the whole log read.
        wait_for(lambda: [on for on, _ in failovers(hb.http.get("/api/v1/log").json())] == [True, False, True, False],
                 what="the live log's last failback")
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


# -- several targets: the quorum, a target fault, the confirmation burst --------------------------


def test_a_run_with_several_targets_replays_to_the_live_decisions(net):
    """Three targets (stamp, icmp, icmp), reliability 2, `failover host` + `failover sidecar`: one
    ICMP target silenced (a confirmation burst, a target fault, no failover) and back, then an ISP
    blackout (failover) and back (failback). The replay must make the same target verdicts,
    faults and path verdicts, word for word, and the same failovers as the kernel's rules."""
    hb, topo = net.hb, net.hb.topo
    journal = topo.tmp / "decisions.jsonl"
    config = hb.write_config(probe=False, wan=wan_targets(INTERNET, reliability=2), journal={"path": str(journal)})
    watch = RuleWatch(topo.nets.ns("router")).start()
    try:
        topo.start_host(config)
        hb.start_sidecar()
        wait_for(lambda: all(t["status"] == "up" for t in net.targets().values()), timeout=15,
                 what="every target up")
        net.silence(ICMP1)
        wait_for(lambda: net.targets()[ICMP1]["status"] == "down", timeout=5, what="the silenced target down")
        time.sleep(0.5)
        net.unsilence()
        wait_for(lambda: net.targets()[ICMP1]["status"] == "up", timeout=5, what="the target back")
        hb.isp_forwarding(False)
        wait_for(topo.has_failover_rule, what="failover on the ISP blackout")
        time.sleep(0.3)
        hb.isp_forwarding(True)
        wait_for(lambda: not topo.has_failover_rule(), timeout=15, what="failback")
        time.sleep(0.3)
        live = hb.http.get("/api/v1/log").json()
        watch.sync()
        observed = [(e.added, e.at_ns / 1e9) for e in watch.events]
        hb.nets.stop(hb.sidecar)
        hb.sidecar = None
    finally:
        watch.close()

    replayed = replay(journal)
    assert sidecar_decisions(replayed) == sidecar_decisions(live)
    assert any(e.get("fault") for e in live), live  # the scenario made a target fault
    ons_offs = failovers(replayed)
    assert [on for on, _ in ons_offs] == [on for on, _ in observed] == [True, False], (ons_offs, observed)
    for (_, t_replay), (_, t_kernel) in zip(ons_offs, observed):
        assert abs(t_replay - t_kernel) * 1000 <= TOLERANCE_MS, (ons_offs, observed)
    # What if the path needed all three targets: the silenced one alone would have failed over.
    what_if = topo.tmp / "what-if.toml"
    what_if.write_text(config.read_text().replace("reliability = 2", "reliability = 3"))
    first_on, first_at = failovers(replay(journal, "--config", str(what_if)))[0]
    assert first_on and first_at < observed[0][1] - 0.5, (first_at, observed)
