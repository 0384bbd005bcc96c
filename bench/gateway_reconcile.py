"""Benchmark: a flow through a gateway that restarts, or that cannot be told, during failover.

    .venv/bin/python -m bench.gateway_reconcile [--trials 10] [--rate 200] [--kind restart|untold|both]

Topology: conf/lab.toml's lab under a private prefix (bench/labnet.py): client, router, three
alternate gateways (alt1 3 ms, alt2 8 ms, alt3 15 ms away), each NATing its own uplink to the
internet host; the router runs `failover run` with the lab's config (heartbeats 20 ms x 3,
recovery after 10 replies, election hold 2 s). The flow (bench/udpflow.py) sends --rate
datagrams/s from the client to a UDP echo on the internet host and records every echo's kernel
receive timestamp (SO_TIMESTAMPNS). Each trial starts with the WAN up and ends failed back.

restart  WAN carrier lost, alt1 elected and told up, alt2's and alt3's agents stopped (as in the
         report: alt1 is the only gateway left). alt1 power-cycles: its agent is killed (-9) and
         its forwarding goes back to the boot default, off; the flow dies. Once the sidecar sees
         alt1's heartbeat down, the agent is started again. Measured: its heartbeat back up (the
         sidecar's verdict, from its event log) -> the flow's first echo again (kernel
         timestamp). Target <= 1 s. Also printed: agent started -> first echo (includes the
         agent's own start-up and the heartbeat's 10-reply recovery).
untold   alt1's control port silently drops TCP (nftables in alt1's namespace) while its STAMP
         reflector answers; then the WAN carrier is lost. Measured: wan0's carrier loss (its
         RTM_NEWLINK, seen by an rtnetlink listener in the router) -> the flow's first echo
         through alt2 (kernel timestamp). Target <= 3 s. The drop is then
         removed; printed: until alt1 is reachable again and elected again.
"""

from __future__ import annotations

import argparse
import queue
import signal
import subprocess
import sys
import time

import httpx

from bench.event_to_rule import expect, rtnl_listener
from bench.labnet import BenchLab, running
from bench.netutil import loadavg
from bench.outage import Flow
from bench.stats import percentile, summary
from failover.lab.netns import wait_for
from failover.lab.sidecarlab import NetnsHttp

RESTART_TARGET_MS = 1000.0
UNTOLD_TARGET_MS = 3000.0


class Reconcile:
    def __init__(self, lab: BenchLab, flow: Flow, http: NetnsHttp, rate: int) -> None:
        self.lab, self.flow, self.http, self.rate = lab, flow, http, rate
        self.alt = {g.name: g.address for g in lab.topo.gateway}
        wait_for(self._api_up, timeout=30, interval=0.1, what="the sidecar's REST API")

    def _api_up(self) -> bool:
        try:
            return self.http.get("/api/v1/gateways").status_code == 200
        except httpx.HTTPError:
            return False

    def gateway(self, name: str) -> dict:
        return next(g for g in self.http.get("/api/v1/gateways").json() if g["name"] == name)

    def elected(self) -> str | None:
        s = self.lab.state_or_none()
        return s and s["elected"]

    def forwarding(self, name: str) -> str:
        return self.lab.net.read_sysctl(name, "net.ipv4.ip_forward")

    def flowing(self) -> bool:
        return self.flow.healthy(self.rate)

    def steady(self) -> None:
        wait_for(self.lab.steady, timeout=60, interval=0.05, what="WAN up and failover off")
        wait_for(self.flowing, timeout=15, interval=0, what="the flow echoing via the ISP")

    def fail_over(self) -> None:
        self.lab.isp_carrier(False)
        wait_for(lambda: self.lab.state_or_none()["failover"] == "on", timeout=5, interval=0.01, what="failover")

    def fail_back(self) -> None:
        self.lab.isp_carrier(True)
        wait_for(lambda: self.lab.state_or_none()["rule"] == "absent", timeout=60, interval=0.05, what="failback")

    def mark(self) -> None:
        """Start the flow's window 200 ms before a fault: the outage is then the longest gap
        between two echoes in it (without echoes before the fault it would not be seen)."""
        self.flow.mark()
        time.sleep(0.2)

    def resumed(self, after_ns: int) -> int:
        """The end of the flow's outage that began at ``after_ns``: its first echo again (kernel
        timestamp), once it has been echoing for 200 ms since."""
        def back() -> int | None:
            r = self.flow.report()
            if r["gap_ms"] is None or r["gap_ms"] < 100:
                return None
            t_back = r["gap_start_ns"] + int(r["gap_ms"] * 1e6)
            # echoes in flight at the fault may land a little after it
            if r["gap_start_ns"] <= after_ns + 50_000_000 and t_back > after_ns and r["last_ns"] - t_back >= 200_000_000:
                return t_back
            return None

        try:
            return wait_for(back, timeout=15, interval=0.05, what="the flow echoing again")
        except TimeoutError:
            raise RuntimeError(f"the flow did not come back after the fault: {self.flow.report()}") from None

    def heartbeat_back_ns(self, name: str, after_s: float) -> int:
        """When the sidecar saw ``name``'s heartbeat go from down to up (unix ns), after ``after_s``."""
        for e in reversed(self.http.get("/api/v1/log").json()):
            if (e["kind"] == "gateway" and e.get("name") == name and e.get("status") == "up"
                    and e.get("previous") == "down" and e["ts"] >= after_s):
                return int(e["ts"] * 1e9)
        raise RuntimeError(f"no down -> up event for {name} in the sidecar's log")

    # -- restart ---------------------------------------------------------------------------------

    def restart_trial(self) -> tuple[float, float]:
        self.steady()
        self.fail_over()
        wait_for(lambda: self.elected() == self.alt["alt1"] and self.forwarding("alt1") == "1", timeout=5,
                 what="alt1 elected and told up")
        wait_for(self.flowing, timeout=5, interval=0, what="the flow through alt1")
        self.mark()
        self.lab.stop_agent("alt1", signal.SIGKILL)
        self.lab.net.sysctl("alt1", "net.ipv4.ip_forward", 0)
        wait_for(lambda: self.gateway("alt1")["status"] == "down", timeout=5, what="alt1's heartbeat lost")
        t_start = time.time_ns()
        self.lab.start_agent("alt1")
        wait_for(lambda: self.gateway("alt1")["status"] == "up", timeout=10, what="alt1's heartbeat back")
        wait_for(lambda: self.forwarding("alt1") == "1", timeout=10, what="alt1 told up again")
        t_back = self.resumed(t_start)
        t_hb = self.heartbeat_back_ns("alt1", t_start / 1e9)
        self.fail_back()
        return (t_back - t_hb) / 1e6, (t_back - t_start) / 1e6

    # -- untold ----------------------------------------------------------------------------------

    def block_control(self, on: bool) -> None:
        ns = self.lab.ns("alt1")
        if on:
            rules = ("table inet benchctl {\n chain input {\n  type filter hook input priority 0; policy accept;\n"
                     "  tcp dport 7070 drop\n }\n}\n")
            subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=rules, text=True, check=True,
                           capture_output=True)
        else:
            subprocess.run(["ip", "netns", "exec", ns, "nft", "delete", "table", "inet", "benchctl"], check=True,
                           capture_output=True)

    def left_untold(self, since_s: float) -> bool:
        """Did the election leave alt1 because it could not be told (the sidecar's log)?"""
        return any(e["kind"] == "election" and e["ts"] >= since_s and "cannot be told: moved at once to alt2"
                   in e["message"] for e in self.http.get("/api/v1/log").json())

    def untold_trial(self, events: queue.Queue) -> tuple[float, float, float] | None:
        self.steady()
        wait_for(lambda: self.elected() == self.alt["alt1"] and self.gateway("alt1")["usable"], timeout=30,
                 what="alt1 elected and usable")
        while not events.empty():
            events.get()
        self.block_control(True)
        t_block = time.time()
        self.mark()
        self.fail_over()
        t_fault = expect(events, "link", timeout=5, when=lambda running: not running)
        t_rule = expect(events, "rule", timeout=5)
        wait_for(lambda: self.elected() == self.alt["alt2"] and self.forwarding("alt2") == "1", timeout=10,
                 what="the election on alt2, told up")
        if not self.left_untold(t_block):
            # On a loaded machine alt2 can beat alt1's score for the election's hold just then:
            # the election moved for another reason, and this trial measures nothing.
            self.block_control(False)
            self.fail_back()
            return None
        t_back = self.resumed(t_fault)
        if self.forwarding("alt1") != "0":
            raise RuntimeError("alt1 forwards although it was never told up")
        self.block_control(False)
        t_clear = time.monotonic()
        wait_for(lambda: self.elected() == self.alt["alt1"] and self.forwarding("alt1") == "1", timeout=20,
                 what="the election back on alt1, told up")
        returned = time.monotonic() - t_clear
        self.fail_back()
        return (t_back - t_fault) / 1e6, (t_back - t_rule) / 1e6, returned


def verdict(values: list[float], target: float) -> str:
    p = percentile(values, 100)
    return f"target max <= {target:.0f} ms {'MET' if p <= target else 'MISSED'}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--rate", type=int, default=200, help="flow datagrams per second")
    ap.add_argument("--kind", choices=["restart", "untold", "both"], default="both")
    args = ap.parse_args()
    missed = False
    with running() as lab:
        events: queue.Queue = queue.Queue()
        lab.closes(rtnl_listener(lab.ns("router"), events))
        http = lab.closes(NetnsHttp(lab.ns("router")))
        flow = lab.closes(Flow.in_lab(lab, args.rate))
        b = Reconcile(lab, flow, http, args.rate)
        print(f"gateway_reconcile: {args.rate} packet/s UDP echo client -> internet host, {args.trials} trials "
              f"per case; `failover run`, heartbeats 20 ms x 3, recovery 10 replies (load average {loadavg()})")
        if args.kind in ("untold", "both"):
            fault, rule, back, invalid = [], [], [], 0
            while len(fault) < args.trials:
                trial = b.untold_trial(events)
                if trial is None:
                    invalid += 1
                    if invalid > args.trials:
                        raise RuntimeError("the election keeps leaving alt1 for its score: machine overloaded?")
                    continue
                f, r, s = trial
                fault.append(f), rule.append(r), back.append(s)
            if invalid:
                print(f"  note: {invalid} trials repeated: the election had left alt1 on its score before it "
                      "was found untold")
            missed |= max(fault) > UNTOLD_TARGET_MS
            print(f"  untold  carrier lost -> flow via alt2 : {summary(fault)}  {verdict(fault, UNTOLD_TARGET_MS)}")
            print(f"  untold  failover rule -> flow via alt2: {summary(rule)}")
            print(f"  untold  drop removed -> alt1 elected and up again: {summary(back, 's')}")
        if args.kind in ("restart", "both"):
            for name in ("alt2", "alt3"):
                lab.stop_agent(name)
            hb, start = [], []
            for _ in range(args.trials):
                h, s = b.restart_trial()
                hb.append(h), start.append(s)
            missed |= max(hb) > RESTART_TARGET_MS
            print(f"  restart heartbeat back -> flow back   : {summary(hb)}  {verdict(hb, RESTART_TARGET_MS)}")
            print(f"  restart agent started -> flow back    : {summary(start)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
