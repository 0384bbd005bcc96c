"""Benchmark: a silent IPv6-only blackout moves the IPv6 flow and leaves the IPv4 flow alone.

    .venv/bin/python -m bench.outage6 [--trials 20] [--rate 1000]

Topology: the router scenario of the topology engine, dual-stack (failover/lab/routerlab.py
``router_topology(flows=True, ipv6=True)``): client, router, ISP, internet host, two alternate
gateways with NATed uplinks of both families; IPv6 ULA everywhere, as the namespace scenarios.
The router runs ``failover run`` (host + sidecar) with heartbeats 20 ms x 3, two path-check
targets beyond the ISP — the internet host's STAMP reflector on IPv4 (203.0.113.1) and on IPv6
(fd00:203:0:113::1), 5 ms each, each judging its own family — and both gateways with their
``address6``; dampening holds nothing between trials (routerlab NO_HOLD).

Two flows from the client (bench/udpflow.py, kernel receive timestamps of every echo): --rate
datagrams/s to the internet host's UDP echo over IPv4, the same over IPv6. Trials alternate:

  ipv4  the ISP drops everything it forwards of IPv4 (nftables ``ip`` forward chain; carrier up,
        IPv6 untouched): the IPv4 flow's outage, the figure IPv6 is held to;
  ipv6  the same for IPv6 (``ip6``): the IPv6 flow's outage, and the IPv4 flow's lost datagrams
        and longest gap over the same window.

The outage of a trial is the longest gap between consecutive echoes of the moved flow in a window
from 200 ms before the fault to 400 ms after its family's failover rule appeared (seen by an
rtnetlink listener in the router; the moved flow must be echoing through the alternate by then).
Targets: IPv6 outage p95 <= the IPv4 outage p95 + 10 ms, and 0 datagrams of the IPv4 flow lost
during the IPv6 blackouts. After each trial the fault is cleared and the router must fail back.
The first trial starts once the sidecar's first path verdicts are in (both targets up: until then
the daemon only assumes both paths up); failover rules seen before it are printed on their own.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.outage import Flow
from bench.stats import percentile, summary
from failover.lab.netns import wait_for
from failover.lab.routerlab import (
    ECHO_PORT,
    INTERNET,
    INTERNET6,
    NO_HOLD,
    RouterTopology,
    gateway_address6,
)
from failover.lab.rulewatch import FibWatch
from failover.lab.sidecarlab import NetnsHttp

MARGIN_MS = 10.0
FAMILY_NFT = {"ipv4": "ip", "ipv6": "ip6"}


class Bench:
    def __init__(self, tmp: Path, rate: int) -> None:
        self.rate = rate
        self.topo = RouterTopology.build(tmp, n_gateways=2, internet=True, flows=True, ipv6=True)
        self.watch: FibWatch | None = None
        self.http: NetnsHttp | None = None
        self.flows: dict[str, Flow] = {}
        try:
            nets = self.topo.nets
            self.http = NetnsHttp(nets.ns("router"))
            # The IPv6 reflector beyond the ISP (the topology's internet-agent serves IPv4).
            nets.spawn("internet", [sys.executable, "-m", "failover.cli", "agent", "--listen", INTERNET6],
                       log=tmp / "internet-agent6.log", name="internet-agent6")
            config = self.topo.config(
                address6={i: gateway_address6(i) for i in (1, 2)},
                wan={"target": [{"address": INTERNET, "kind": "stamp", "interval_ms": 5},
                                {"address": INTERNET6, "kind": "stamp", "interval_ms": 5}]},
                dampening=NO_HOLD)
            self.watch = FibWatch(nets.ns("router")).start()
            self.topo.start_host(config, command="run")
            # The daemon takes both paths for up until the sidecar's first verdicts: before them
            # "steady" would be an assumption, and a family failing over at start-up would look
            # like a crossing in the first trial.
            wait_for(self.targets_up, timeout=30, interval=0.05, what="the sidecar's first verdicts: both targets up")
            self.startup_rules = (self.watch.rule4_adds, self.watch.max_rules6)
            self.flows = {"ipv4": Flow(self.topo.nets.ns("client"), f"[{INTERNET}]:{ECHO_PORT}", rate), "ipv6": Flow(self.topo.nets.ns("client"), f"[{INTERNET6}]:{ECHO_PORT}", rate)}
        except BaseException:
            self.close()
            raise

    def steady(self) -> bool:
        s = self.topo.state()
        return (s["wan"], s["wan6"], s["failover"], s["failover6"]) == ("up", "up", "off", "off") and \
            self.watch.snapshot()[:2] == (0, 0)

    def targets_up(self) -> bool:
        try:
            targets = self.http.get("/api/v1/targets").json()
        except (OSError, ValueError, httpx.HTTPError):
            return False  # the API is still starting
        return {t["address"] for t in targets if t["status"] == "up"} == {INTERNET, INTERNET6}

    def rules(self, family: str) -> int:
        return self.watch.snapshot()[0 if family == "ipv4" else 1]

    def blackout(self, family: str, on: bool) -> None:
        nft = FAMILY_NFT[family]
        self.topo.nets.nft("isp", f"add table {nft} blackout\nadd chain {nft} blackout drops "
                                  "{ type filter hook forward priority 0; policy drop; }\n"
                           if on else f"delete table {nft} blackout\n")

    def trial(self, family: str) -> dict:
        wait_for(self.steady, timeout=60, interval=0.05, what="both families up, no failover")
        for f in self.flows.values():
            wait_for(lambda: f.healthy(self.rate), timeout=15, interval=0, what="the flows echoing via the ISP")
        for f in self.flows.values():
            f.mark()
        time.sleep(0.2)
        t_fault = time.time_ns()
        self.blackout(family, True)
        wait_for(lambda: self.rules(family) == 1, timeout=10, interval=0.001, what=f"the {family} failover rule")
        t_rule = time.time_ns()
        time.sleep(0.4)
        moved = self.flows[family].report()
        other = self.flows["ipv4" if family == "ipv6" else "ipv6"].report()
        if moved["last_ns"] is None or moved["last_ns"] < t_rule:
            raise RuntimeError(f"{family} trial: the flow did not resume through the alternate: {moved}")
        other_family_rules = self.rules("ipv6" if family == "ipv4" else "ipv4")
        state = self.topo.state()
        self.blackout(family, False)
        wait_for(lambda: self.rules(family) == 0, timeout=60, interval=0.01, what=f"{family} failing back")
        return {"outage": moved["gap_ms"], "rule_ms": (t_rule - t_fault) / 1e6, "other_lost": other["lost"],
                "other_gap": other["gap_ms"], "other_rules": other_family_rules,
                "pause": max(moved["sender_pause_ms"], other["sender_pause_ms"]),
                "state": " ".join(f"{k}={v}" for k, v in state.items())}

    def close(self) -> None:
        for f in self.flows.values():
            f.close()
        if self.watch is not None:
            self.watch.close()
        if self.http is not None:
            self.http.close()
        self.topo.cleanup()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--rate", type=int, default=1000, help="datagrams per second of each flow")
    args = ap.parse_args()
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    print(f"outage6: {args.rate} packet/s UDP echo client -> internet host over IPv4 and over IPv6 through "
          f"the router, {args.trials} trials per family alternating; `failover run`, heartbeats 20 ms x 3, "
          f"STAMP targets 5 ms, one per family (load average at start {' '.join(load)})")
    results: dict[str, list[dict]] = {"ipv4": [], "ipv6": []}
    with tempfile.TemporaryDirectory(prefix="outage6-") as tmp:
        bench = Bench(Path(tmp), args.rate)
        startup = bench.startup_rules
        try:
            for i in range(args.trials):
                for family in ("ipv4", "ipv6"):
                    r = bench.trial(family)
                    results[family].append(r)
                    if r["other_rules"]:
                        print(f"  note: {family} trial {i}: the other family's failover rule was there too "
                              f"(daemon: {r['state']})", file=sys.stderr)
                    if r["pause"] > 5:
                        print(f"  note: {family} trial {i}: a sender paused {r['pause']:.1f} ms", file=sys.stderr)
        finally:
            bench.close()
    out4 = [r["outage"] for r in results["ipv4"]]
    out6 = [r["outage"] for r in results["ipv6"]]
    p95_4, p95_6 = percentile(out4, 95), percentile(out6, 95)
    lost = sum(r["other_lost"] for r in results["ipv6"])
    crossed = sum(r["other_rules"] for rs in results.values() for r in rs)
    ok_p95 = p95_6 <= p95_4 + MARGIN_MS
    ok_lost = lost == 0 and crossed == 0
    print(f"  ipv4 blackout: IPv4 outage         : {summary(out4)}")
    print(f"  ipv6 blackout: IPv6 outage         : {summary(out6)}  target p95 <= {p95_4:.1f} + {MARGIN_MS:.0f} ms "
          f"{'MET' if ok_p95 else 'MISSED'}")
    print(f"  ipv6 blackout: IPv4 flow lost      : {lost} datagrams over {len(out6)} trials, "
          f"other family's rule {crossed} times  target 0 {'MET' if ok_lost else 'MISSED'}")
    print(f"  ipv6 blackout: IPv4 flow's longest gap: {summary([r['other_gap'] for r in results['ipv6']])}  (no target)")
    print(f"  ipv4 blackout: IPv6 flow lost      : {sum(r['other_lost'] for r in results['ipv4'])} datagrams  (no target)")
    print(f"  fault -> rule  ipv4: {summary([r['rule_ms'] for r in results['ipv4']])}")
    print(f"  fault -> rule  ipv6: {summary([r['rule_ms'] for r in results['ipv6']])}")
    print(f"  start-up, before the first trial: failover rules added IPv4 {startup[0]}, IPv6 {startup[1]}  (no target)")
    return 0 if ok_p95 and ok_lost else 1


if __name__ == "__main__":
    sys.exit(main())
