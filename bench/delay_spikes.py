"""Benchmark: delay spikes on the WAN path (late, not lost) cause no failover; a silent blackout
right after is still caught as fast.

    .venv/bin/python -m bench.delay_spikes [--minutes 5] [--rate 1000] [--trials 20]

Topology and system under test as bench.outage (conf/lab.toml's lab under a private prefix,
`failover run` on the router, path check every 5 ms to the internet host beyond the ISP;
bench/labnet.py), except that the internet host's STAMP reflector is bench/spike_reflector.py:
every 3 s it holds every reply for 150-400 ms (uniform), then releases them all in order. No
probe is lost; for up to 400 ms none is answered, six times the 60 ms blackout detect time.

Meanwhile the client sends a --rate datagram/s UDP flow through the router and the WAN to the
internet host's echo (bench/udpflow.py), whose echoes come back through wan0.

Figures:
  failovers during --minutes of spikes: RTM_NEWRULE of the failover rule seen by an rtnetlink
    listener in the router, and "WAN path down" verdicts in the router's log. Target 0.
  the flow over the same time: echoes/sent and its longest gap (no target; the spikes hold only
    the reflector's replies, not the flow).
  then --trials silent blackouts (ISP stops forwarding), the spikes still running: the flow's
    outage as bench.outage measures it. Target p95 <= 100 ms.
"""

from __future__ import annotations

import argparse
import queue
import re
import sys
import time

from bench.event_to_rule import rtnl_listener
from bench.labnet import BenchLab, running
from failover.lab.topology import DEFAULT_LAB, load
from bench.netutil import loadavg, parse_metrics
from bench.outage import TARGET_MS, Flow, run_kind
from bench.stats import percentile, summary
from failover.lab.netns import wait_for
from failover.lab.sidecarlab import NetnsHttp

SPIKE = re.compile(r"spike \d+ held (\d+) ms, (\d+) replies")


def spikes(lab: BenchLab) -> list[tuple[int, int]]:
    return [(int(m[1]), int(m[2])) for m in SPIKE.finditer(lab.log("reflector-internet"))]


def path_downs(lab: BenchLab) -> int:
    return lab.log("router").count("WAN path down")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5)
    ap.add_argument("--rate", type=int, default=1000, help="flow datagrams per second")
    ap.add_argument("--trials", type=int, default=20, help="silent blackouts after the spikes")
    args = ap.parse_args()
    failed = False
    reflector = ["bench.spike_reflector", "--listen", load(DEFAULT_LAB).internet.host, "--seed", "14"]
    with running(internet_reflector=reflector) as lab:
        events: queue.Queue = queue.Queue()
        lab.closes(rtnl_listener(lab.ns("router"), events))
        flow = lab.closes(Flow.in_lab(lab, args.rate))
        http = lab.closes(NetnsHttp(lab.ns("router")))
        print(f"delay_spikes: path target holds its replies 150-400 ms every 3 s, {args.rate} packet/s UDP "
              f"flow client -> internet host through the WAN; `failover run`, path check 5 ms "
              f"(load average {loadavg()})")
        wait_for(lab.steady, timeout=60, interval=0.05, what="WAN up and failover off")
        wait_for(lambda: flow.healthy(args.rate), timeout=15, interval=0, what="the flow echoing via the ISP")
        while not events.empty():
            events.get()
        spikes0, downs0 = len(spikes(lab)), path_downs(lab)
        changes0 = int(lab.state_or_none()["changes"])
        metrics0 = parse_metrics(http.get("/metrics").text)
        flow.mark()
        time.sleep(args.minutes * 60)
        r = flow.report()
        metrics = parse_metrics(http.get("/metrics").text)
        late = metrics.get("failover_wan_probe_late_replies_total", 0) - metrics0.get(
            "failover_wan_probe_late_replies_total", 0)
        held = spikes(lab)[spikes0:]
        rules = sum(1 for kind, _t, _ in list(events.queue) if kind == "rule")
        downs = path_downs(lab) - downs0
        changes = int(lab.state_or_none()["changes"]) - changes0
        ok = rules == 0 and downs == 0
        failed |= not ok
        if held:
            print(f"  spikes                 : {len(held)} in {args.minutes:g} min, held "
                  f"{summary([float(h) for h, _ in held])}, {sum(n for _, n in held)} replies held")
        else:
            failed = True
            print("  spikes                 : none seen: the reflector did not spike, nothing was measured")
        print(f"  failovers during spikes: {rules} failover rules added, {downs} path-down verdicts, "
              f"{changes} daemon rule changes  target 0 {'MET' if ok else 'MISSED'}")
        print(f"  path check             : {late:.0f} late replies (after the 60 ms detect time), loss over its "
              f"last 30 s {100 * metrics.get('failover_wan_probe_loss_ratio', 0):.1f} %, RTT now "
              f"{1000 * metrics.get('failover_wan_probe_rtt_seconds', 0):.1f} ms")
        print(f"  flow during spikes     : {r['echoes']}/{r['sent']} echoed "
              f"({100 * r['echoes'] / max(1, r['sent']):.2f} %), longest gap {r['gap_ms']:.1f} ms  (no target)")
        if args.trials:
            outages, failbacks, fault_rule = run_kind(lab, flow, events, "blackout", args.trials, args.rate)
            p95 = percentile(outages, 95)
            ok = p95 <= TARGET_MS["blackout"]
            failed |= not ok
            print(f"  blackout outage after  : {summary(outages)}  target p95 <= {TARGET_MS['blackout']:.0f} ms "
                  f"{'MET' if ok else 'MISSED'}")
            print(f"  blackout fault -> rule : {summary(fault_rule)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
