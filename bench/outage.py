"""Benchmark: outage of a 1,000 packet/s UDP flow through the router when the WAN fails.

    .venv/bin/python -m bench.outage [--trials 20] [--rate 1000] [--kind blackout|carrier|both]

Topology: conf/lab.toml's lab (failover/lab/namespaces.py) under a private prefix
(bench/labnet.py): client and three alternate gateways on the router's LAN bridge, router wan0
== isp0 ISP up0 == internet host; each gateway has its own NATed uplink to the internet host.
The router runs `failover run` (host + sidecar) with the lab's config: heartbeats 20 ms x 3,
`wan.probe` = the internet host (beyond the ISP), path check every 5 ms, hold-down dampening
disabled between trials (failover/lab/routerlab.py NO_HOLD; failover is never held). Agents on the
gateways turn forwarding on when told "up".

The flow (bench/udpflow.py, in the client's namespace): --rate datagrams/s to a UDP echo on the
internet host; every echo's kernel receive timestamp (SO_TIMESTAMPNS) is recorded. The outage of a
trial is the longest gap between consecutive echoes in a window that starts 200 ms before the
fault and ends 400 ms after the failover rule appeared (RTM_NEWRULE seen by an rtnetlink
listener in the router); the flow must be echoing through the alternate at the window's end.
Faults, all in the ISP's namespace:
  blackout  `sysctl net.ipv4.ip_forward=0` (carrier stays up: only the path check can see it);
  carrier   `ip link set isp0 down` (wan0 loses carrier: netdev event).
After each trial the fault is cleared and the router must fail back (rule removed); the failback
gap of the flow is printed too (no target). Targets: blackout p95 <= 100 ms, carrier p95 <= 20 ms.
"""

from __future__ import annotations

import argparse
import json
import queue
import subprocess
import sys
import time

from bench.event_to_rule import expect, rtnl_listener
from bench.labnet import BenchLab, running
from bench.stats import percentile, summary
from failover.lab.netns import wait_for

TARGET_MS = {"blackout": 100.0, "carrier": 20.0}


class Flow:
    """bench/udpflow.py in ``netns``: ``rate`` datagrams/s to ``to`` (``host:port``, ``[v6]:port``)."""

    def __init__(self, netns: str, to: str, rate: int) -> None:
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", netns, sys.executable, "-m", "bench.udpflow", "--to", to, "--rate", str(rate)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    @classmethod
    def in_lab(cls, lab: BenchLab, rate: int) -> Flow:
        """The lab's client to the internet host's echo."""
        t = lab.topo
        return cls(lab.ns("client"), f"{t.internet.host}:{t.flow.port}", rate)

    def mark(self) -> None:
        self.proc.stdin.write("mark\n")
        self.proc.stdin.flush()

    def report(self) -> dict:
        self.proc.stdin.write("report\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def healthy(self, rate: int) -> bool:
        self.mark()
        time.sleep(0.3)
        r = self.report()
        return r["echoes"] >= 0.9 * 0.3 * rate

    def close(self) -> None:
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


def diagnose(lab: BenchLab, flow: Flow) -> None:
    print("  diagnosis: daemon", lab.state_or_none(), file=sys.stderr)
    flow.mark(); time.sleep(0.5); print("  flow", flow.report(), file=sys.stderr)
    for role in ("client", "router"):
        out = subprocess.run(["ip", "netns", "exec", lab.ns(role), "ping", "-c1", "-W1", lab.topo.internet.host],
                             capture_output=True, text=True).stdout
        print(f"  ping from {role}:", out.splitlines()[1:2], file=sys.stderr)
    for cmd in (["ip", "-n", lab.ns("router"), "rule"], ["ip", "-n", lab.ns("client"), "route", "get", lab.topo.internet.host],
                ["ip", "netns", "exec", lab.ns("isp"), "sysctl", "net.ipv4.ip_forward"],
                ["ip", "-n", lab.ns("isp"), "link", "show", "isp0"]):
        print("  ", " ".join(cmd[3:]), subprocess.run(cmd, capture_output=True, text=True).stdout.strip(), file=sys.stderr)


def run_kind(lab: BenchLab, flow: Flow, events: queue.Queue, kind: str, trials: int, rate: int) -> tuple[list, list, list]:
    inject, clear = {
        "blackout": (lambda: lab.isp_forwarding(False), lambda: lab.isp_forwarding(True)),
        "carrier": (lambda: lab.isp_carrier(False), lambda: lab.isp_carrier(True)),
    }[kind]
    outages, failbacks, fault_rule = [], [], []
    for i in range(trials):
        wait_for(lab.steady, timeout=60, interval=0.05, what="WAN up and failover off")
        try:
            wait_for(lambda: flow.healthy(rate), timeout=15, interval=0, what="the flow echoing via the ISP")
        except TimeoutError:
            diagnose(lab, flow)
            raise
        while not events.empty():
            events.get()
        flow.mark()
        time.sleep(0.2)
        t_fault = time.time_ns()
        inject()
        t_rule = expect(events, "rule", timeout=10)
        time.sleep(0.4)
        r = flow.report()
        if r["last_ns"] is None or r["last_ns"] < t_rule:
            raise RuntimeError(f"{kind} trial {i}: the flow did not resume through the alternate: {r}")
        outages.append(r["gap_ms"])
        fault_rule.append((t_rule - t_fault) / 1e6)
        if r["sender_pause_ms"] > 5:
            print(f"  note: trial {i}: sender paused {r['sender_pause_ms']:.1f} ms", file=sys.stderr)
        flow.mark()
        clear()
        expect(events, "unrule", timeout=60)
        time.sleep(0.4)
        failbacks.append(flow.report()["gap_ms"])
    return outages, failbacks, fault_rule


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--rate", type=int, default=1000, help="flow datagrams per second")
    ap.add_argument("--kind", choices=["blackout", "carrier", "both"], default="both")
    args = ap.parse_args()
    kinds = ["blackout", "carrier"] if args.kind == "both" else [args.kind]
    missed = False
    with running() as lab:
        events: queue.Queue = queue.Queue()
        lab.closes(rtnl_listener(lab.ns("router"), events))
        flow = lab.closes(Flow.in_lab(lab, args.rate))
        with open("/proc/loadavg") as f:
            load = f.read().split()[:3]
        print(f"outage: {args.rate} packet/s UDP echo client -> internet host through the router, "
              f"{args.trials} trials per fault; `failover run`, heartbeats 20 ms x 3, path check 5 ms "
              f"(load average at start {' '.join(load)})")
        for kind in kinds:
            outages, failbacks, fault_rule = run_kind(lab, flow, events, kind, args.trials, args.rate)
            p95 = percentile(outages, 95)
            ok = p95 <= TARGET_MS[kind]
            missed |= not ok
            print(f"  {kind:8} outage        : {summary(outages)}  target p95 <= {TARGET_MS[kind]:.0f} ms "
                  f"{'MET' if ok else 'MISSED'}")
            print(f"  {kind:8} fault -> rule : {summary(fault_rule)}")
            print(f"  {kind:8} failback gap  : {summary(failbacks)}  (no target)")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
