"""Benchmark: the path check with several targets — blackout outage with ICMP targets, with STAMP
beside ICMP, and no false failover while targets misbehave.

    .venv/bin/python -m bench.path_targets [--scenario icmp|mixed|faults|half-drop|all]
                                           [--trials 20] [--rate 1000] [--minutes 5]

Topology: bench/outage.py's lab (conf/lab.toml under a private prefix: client, router, ISP,
internet host 203.0.113.1 with a STAMP reflector, three alternate gateways with agents, and the
lab's two hosts that only answer ICMP echo, each in its own network behind the ISP: 192.0.2.53 and
198.18.0.53). The router runs `failover run` with heartbeats 20 ms x 3 and, instead of `wan.probe`:

  icmp       three icmp targets at 100 ms (the internet host's kernel answers echo too),
             reliability 2: ISP blackout (`ip_forward=0` in the ISP), outage of a --rate packet/s
             UDP flow measured as bench/outage.py does (kernel receive timestamps of the echoes,
             rule seen by an rtnetlink listener). Target p95 <= 400 ms over the trials.
  mixed      the internet host's STAMP reflector at 5 ms plus the two icmp hosts at 100 ms,
             reliability 2: the same blackout. Target p95 <= 120 ms (the confirmation burst, not
             the 100 ms ICMP interval, sets the pace).
  faults     the mixed targets; 198.18.0.53 silenced (the ISP drops what is sent to it) and
             192.0.2.53 dropping 30 % of echo requests (nftables numgen in its input) for
             --minutes: failover rules added (RTM_NEWRULE at priority 1000) must be 0.
  half-drop  the mixed targets; 192.0.2.53 dropping 50 % of echo requests for --minutes: 0 rules.
"""

from __future__ import annotations

import argparse
import queue
import subprocess
import sys
import time

from bench.event_to_rule import rtnl_listener
from bench.labnet import BenchLab, running
from bench.outage import Flow, run_kind
from bench.stats import percentile, summary
from failover.config import Config, Wan
from failover.lab.netns import wait_for
from failover.lab.targets import ICMP1, ICMP2, wan_targets

TARGET_MS = {"icmp": 400.0, "mixed": 120.0}


class TargetsLab(BenchLab):
    """The bench lab (its two echo-only hosts behind the ISP included) with the router probing targets."""

    def __init__(self, internet_kind: str) -> None:
        super().__init__()
        self.internet_kind = internet_kind

    def router_model(self) -> Config:
        cfg = super().router_model()
        assert cfg.wan.probe == self.topo.internet.host, "the bench lab's router config no longer sets wan.probe"
        wan = Wan.model_validate({"interface": cfg.wan.interface,
                                  **wan_targets(self.topo.internet.host, self.internet_kind)})
        return cfg.model_copy(update={"wan": wan})

    def start(self) -> None:
        super().start()
        # The daemon assumes the path up until the path check's first verdict: trials start once
        # every target has a verdict of its own (up), or the first one measures the start-up.
        wait_for(lambda: self.targets().count('"status":"up"') == 3, timeout=30, interval=0.1,
                 what="every target up")

    def targets(self) -> str:
        """``GET /api/v1/targets`` from inside the router (no proxy in the bench lab)."""
        get = "import urllib.request as u; print(u.urlopen('http://127.0.0.1:8080/api/v1/targets').read().decode())"
        return subprocess.run(["ip", "netns", "exec", self.ns("router"), sys.executable, "-c", get],
                              capture_output=True, text=True).stdout.strip()

    def silence(self, address: str) -> None:
        self.net.nft("isp", "add table ip silence\nadd chain ip silence drops { type filter hook forward priority 0; }\n"
                            f"add rule ip silence drops ip daddr {address} drop\n")

    def echo_loss(self, role: str, percent: int) -> None:
        self.net.nft(role, "add table ip lossy\nadd chain ip lossy inbound { type filter hook input priority 0; }\n"
                           f"add rule ip lossy inbound icmp type echo-request numgen random mod 100 < {percent} drop\n")


def load() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def blackout(scenario: str, trials: int, rate: int) -> bool:
    with running(TargetsLab("icmp" if scenario == "icmp" else "stamp")) as lab:
        events: queue.Queue = queue.Queue()
        lab.closes(rtnl_listener(lab.ns("router"), events))
        flow = lab.closes(Flow.in_lab(lab, rate))
        what = ("3 icmp targets at 100 ms" if scenario == "icmp"
                else "stamp target at 5 ms + 2 icmp targets at 100 ms")
        print(f"path_targets {scenario}: ISP blackout, {what}, reliability 2; {rate} packet/s UDP flow, "
              f"{trials} trials (load average at start {load()})")
        outages, failbacks, fault_rule = run_kind(lab, flow, events, "blackout", trials, rate)
        p95 = percentile(outages, 95)
        ok = p95 <= TARGET_MS[scenario]
        print(f"  outage        : {summary(outages)}  target p95 <= {TARGET_MS[scenario]:.0f} ms "
              f"{'MET' if ok else 'MISSED'}")
        print(f"  fault -> rule : {summary(fault_rule)}")
        print(f"  failback gap  : {summary(failbacks)}  (no target)")
    return ok and not lab.router_errors_seen


def misbehaving(scenario: str, minutes: float) -> bool:
    with running(TargetsLab("stamp")) as lab:
        events: queue.Queue = queue.Queue()
        lab.closes(rtnl_listener(lab.ns("router"), events))
        if scenario == "faults":
            what = f"{ICMP2} silenced, {ICMP1} dropping 30 % of echo requests"
            lab.echo_loss("icmp1", 30)
            lab.silence(ICMP2)
        else:
            what = f"{ICMP1} dropping 50 % of echo requests"
            lab.echo_loss("icmp1", 50)
        print(f"path_targets {scenario}: stamp target at 5 ms + 2 icmp targets at 100 ms, reliability 2; "
              f"{what}; {minutes:g} min (load average at start {load()})")
        time.sleep(minutes * 60)
        rules = 0
        while not events.empty():
            rules += events.get()[0] == "rule"
        ok = rules == 0
        print(f"  failover rules added: {rules}  target 0 {'MET' if ok else 'MISSED'}")
        print(f"  targets at the end: {lab.targets()}")
    return ok and not lab.router_errors_seen


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", choices=["icmp", "mixed", "faults", "half-drop", "all"], default="all")
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--rate", type=int, default=1000, help="flow datagrams per second")
    ap.add_argument("--minutes", type=float, default=5.0, help="length of the faults and half-drop runs")
    args = ap.parse_args()
    scenarios = ["icmp", "mixed", "faults", "half-drop"] if args.scenario == "all" else [args.scenario]
    ok = True
    for s in scenarios:
        ok &= blackout(s, args.trials, args.rate) if s in TARGET_MS else misbehaving(s, args.minutes)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
