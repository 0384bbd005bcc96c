"""Benchmark: the API's latency, and the measuring core's steadiness under an HTTP flood.

    .venv/bin/python -m bench.api_latency [--rates 500,1000] [--seconds 30] [--gateways 100]
    .venv/bin/python -m bench.api_latency --flood [--seconds 60] [--flood-rate 2000] [--sse 200]

Topology: failover/lab/sidecarlab.py (router, ISP, internet host with a STAMP reflector
as `wan.probe`) with no agent namespaces; instead one namespace on the router's LAN bridge holds
--gateways addresses (10.10.0.20 ...) served by one bench/reflectors.py process (the agent's
StampReflector on each address). The router runs `failover run` (host + measuring core in one
process, the API in its child process) with every address as a [[gateway]], heartbeats 20 ms
(50 Hz) x 3, path check 5 ms (the default), flap dampening out of the way (bench/labnet.py).

Latency (default): an open-loop HTTP/1.1 client in the router's namespace (asyncio, 32 keep-alive
connections from 32 loopback addresses — 32 clients, each under the API's per-client bound —
raw requests to keep the client cheap), one `GET /api/v1/state` scheduled every 1/rate s whatever
the answers do. Latency is counted from the *scheduled* time to the last byte of the answer (no
coordinated omission: a stalled server shows up as queueing), and also from the actual send.
Targets: p99 <= 10 ms at 500/s, <= 25 ms at 1,000/s.

Flood (--flood): bench/api_flood.py in its own process in the router's namespace: --flood-rate
requests/s from one client mixing GET state, gateways, /metrics and bad-token POSTs, plus --sse
idle or slow event-stream clients. Two windows of --seconds, the first without the flood (the
baseline), the second with it, each counted:
  * probes received by the gateways: the reflectors' own count (SIGUSR1), not the sidecar's;
    target: flooded rate >= 95 % of the baseline rate;
  * gateway verdict changes, election moves (the sidecar's /metrics, read with the token),
    path verdict changes (its log), failovers (RTM_NEWRULE seen by an rtnetlink listener in the
    router); target: 0 in the flooded window (and no more than in the baseline).
Then, still under the flood, silent blackouts (the ISP stops forwarding: /proc/sys in the ISP's
namespace, timed at the write) -> failover rule (RTM_NEWRULE), also done once per trial before the
flood for comparison: target <= 250 ms every time; and carrier losses (ISP end of the veth down):
wan0 loses IFF_RUNNING -> RTM_NEWRULE (bench.event_to_rule's listener), target p99 <= 5 ms. The
listener runs in this process, which does nothing else meanwhile (the flood is another process).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import queue
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.api_flood import exchange
from bench.event_to_rule import expect, gateway_listener, rtnl_listener
from bench.labnet import NO_HOLD, log_errors, print_errors
from bench.netutil import REPO, add_reflectors, cpu_seconds, in_netns, loadavg, parse_metrics
from bench.stats import percentile, summary
from failover.lab.netns import wait_for
from failover.lab.sidecarlab import HeartbeatTopology

HOST, PORT = "127.0.0.1", 8080
REQUEST = b"GET /api/v1/state HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n"
LATENCY_TARGET_MS = {500: 10.0, 1000: 25.0}
BLACKOUT_TARGET_MS = 250.0
CARRIER_TARGET_P99_MS = 5.0
PROBE_SHARE_TARGET = 0.95


def met(ok: bool) -> str:
    return "MET" if ok else "MISSED"


# -- latency --------------------------------------------------------------------------------


async def load(rate: float, seconds: float, connections: int = 32) -> dict:
    loop = asyncio.get_running_loop()
    q: asyncio.Queue = asyncio.Queue()
    sched_lat: list[float] = []
    send_lat: list[float] = []
    errors: dict[str, int] = {}

    async def worker(i: int) -> None:
        reader = writer = None
        while True:
            t_sched = await q.get()
            if t_sched is None:
                break
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(HOST, PORT, local_addr=(f"127.0.1.{i + 1}", 0))
                t_send = loop.time()
                async with asyncio.timeout(5):
                    status = await exchange(reader, writer, REQUEST)
                t_done = loop.time()
                if status != 200:
                    errors[str(status)] = errors.get(str(status), 0) + 1
                    continue
                sched_lat.append((t_done - t_sched) * 1000)
                send_lat.append((t_done - t_send) * 1000)
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as e:
                errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
                if writer is not None:
                    writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    workers = [asyncio.create_task(worker(i)) for i in range(connections)]
    t0 = loop.time() + 0.05
    n = int(rate * seconds)
    for i in range(n):
        t = t0 + i / rate
        delay = t - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        q.put_nowait(t)
    for _ in workers:
        q.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = loop.time() - t0
    return {"sched": sched_lat, "send": send_lat, "errors": errors, "elapsed": elapsed, "scheduled": n}


# -- observation ------------------------------------------------------------------------------


class Bench:
    def __init__(self, hb: HeartbeatTopology, reflectors: subprocess.Popen, log: Path) -> None:
        self.hb = hb
        self.reflectors = reflectors
        self.reflectors_log = log
        self.net_events: queue.Queue = queue.Queue()
        rtnl_listener(hb.nets.ns("router"), self.net_events)

    def metrics(self) -> dict[str, float]:
        # With the token: the bench's own observer is an operator, never refused.
        return parse_metrics(self.hb.http.get("/metrics", headers=self.hb.auth()).text)

    def path_verdicts_since(self, t: float) -> int:
        log = self.hb.http.get("/api/v1/log", headers=self.hb.auth()).json()
        return sum(1 for e in log if e["kind"] == "wan" and e.get("source") == "path-check" and e["ts"] >= t)

    def reflected(self) -> int:
        """Probes answered by the gateways so far, counted by their reflectors."""
        before = self.reflectors_log.read_text().count("reflected ")
        self.reflectors.send_signal(signal.SIGUSR1)
        wait_for(lambda: self.reflectors_log.read_text().count("reflected ") > before, timeout=5, interval=0.01,
                 what="the reflectors' count")
        return int(self.reflectors_log.read_text().rsplit("reflected ", 1)[1].split()[0])

    def window(self, seconds: float) -> dict[str, float]:
        """Count for ``seconds``: probes at the gateways, verdicts, moves, failovers."""
        while not self.net_events.empty():
            self.net_events.get()
        t0 = time.time()
        m0, r0, c0 = self.metrics(), self.reflected(), time.monotonic()
        time.sleep(seconds)
        m1, r1, c1 = self.metrics(), self.reflected(), time.monotonic()
        d = {k: m1.get(k, 0) - m0.get(k, 0) for k in m1}
        rules = 0
        while not self.net_events.empty():
            rules += self.net_events.get()[0] == "rule"
        return {"probe_rate": (r1 - r0) / (c1 - c0),
                "verdicts": d.get("failover_gateway_transitions_total", 0),
                "elections": d.get("failover_election_changes_total", 0),
                "path": self.path_verdicts_since(t0),
                "failovers": rules,
                "stalls": d.get("failover_heartbeat_stalls_total", 0)}

    def blackout(self) -> float:
        """Silent blackout -> failover rule, ms; then the ISP forwards again and failback is awaited."""
        ns = self.hb.nets.ns("isp")
        while not self.net_events.empty():
            self.net_events.get()
        t_fault = in_netns(ns, lambda: _write_then_time("/proc/sys/net/ipv4/ip_forward", "0"))
        try:
            t_rule = expect(self.net_events, "rule", timeout=5)
        finally:
            in_netns(ns, lambda: _write_then_time("/proc/sys/net/ipv4/ip_forward", "1"))
        expect(self.net_events, "unrule", timeout=15)
        time.sleep(0.5)
        return (t_rule - t_fault) / 1e6

    def carrier_loss(self) -> float:
        """wan0 loses carrier -> failover rule, ms (kernel events, one listener); then failback."""
        topo = self.hb.topo
        while not self.net_events.empty():
            self.net_events.get()
        topo.set_isp(False)
        try:
            t_link = expect(self.net_events, "link", when=lambda running: running is False)
            t_rule = expect(self.net_events, "rule")
        finally:
            topo.set_isp(True)
        expect(self.net_events, "unrule", timeout=15)
        time.sleep(0.3)
        return (t_rule - t_link) / 1e6


def _write_then_time(path: str, value: str) -> int:
    with open(path, "w") as f:
        f.write(value)
    return time.time_ns()


def fmt_window(w: dict) -> str:
    return (f"probes at the gateways {w['probe_rate']:.0f}/s, gateway verdict changes {w['verdicts']:.0f}, "
            f"election moves {w['elections']:.0f}, path verdict changes {w['path']}, failovers {w['failovers']}, "
            f"prober stalls {w['stalls']:.0f}")


# -- runs ---------------------------------------------------------------------------------


def run_latency(bench: Bench, router: subprocess.Popen, rates: list[float], seconds: float) -> bool:
    hb = bench.hb
    base = bench.window(seconds)
    print(f"  baseline, no HTTP load : {fmt_window(base)}")
    ok = True
    for rate in rates:
        cpu0, t0 = cpu_seconds(router.pid), time.monotonic()
        res = in_netns(hb.nets.ns("router"), lambda: asyncio.run(load(rate, seconds)))
        cpu = (cpu_seconds(router.pid) - cpu0) / (time.monotonic() - t0)
        lat = res["sched"]
        p99 = percentile(lat, 99) if lat else float("inf")
        target = LATENCY_TARGET_MS.get(int(rate))
        print(f"  GET /api/v1/state at {rate:.0f}/s: {len(lat) / res['elapsed']:.0f}/s answered 200 "
              f"({len(lat)} of {res['scheduled']}), other {res['errors'] or 'none'}; core process CPU {cpu:.2f}")
        verdict = f"  target p99 <= {target:g} ms {met(p99 <= target)}" if target else ""
        ok &= p99 <= target if target else True
        print(f"    latency from schedule : {summary(lat)}{verdict}")
        print(f"    latency from send     : {summary(res['send'])}")
    return ok


def run_flood(bench: Bench, seconds: float, rate: float, sse: int, trials: int, carrier_trials: int) -> bool:
    hb = bench.hb
    base = bench.window(seconds)
    print(f"  baseline, no flood ({seconds:.0f} s) : {fmt_window(base)}")
    quiet_blackouts = [bench.blackout() for _ in range(trials)]
    print(f"  silent blackout -> rule, no flood   : {summary(quiet_blackouts)}")

    flood_s = seconds + 5 + trials * 4 + carrier_trials * 2 + 30
    flood = subprocess.Popen(["ip", "netns", "exec", hb.nets.ns("router"), sys.executable, "-m", "bench.api_flood",
                              "--rate", str(rate), "--seconds", str(flood_s), "--sse", str(sse)],
                             stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        time.sleep(5)  # the streams are open, the flood at its pace
        loaded = bench.window(seconds)
        blackouts = [bench.blackout() for _ in range(trials)]
        carriers = [bench.carrier_loss() for _ in range(carrier_trials)]
        operator = hb.http.get("/api/v1/state", headers=hb.auth(), timeout=5).status_code
    finally:
        flood.send_signal(signal.SIGINT)
        out, _ = flood.communicate(timeout=30)
    stats = json.loads(out.strip().splitlines()[-1]) if out.strip() else {"interrupted": True}
    print(f"  flood ({seconds:.0f} s window)        : {fmt_window(loaded)}")
    print(f"  flood client                        : {json.dumps(stats)}")
    print(f"  operator GET /api/v1/state with the token during the flood: {operator}")
    share = loaded["probe_rate"] / base["probe_rate"] if base["probe_rate"] else 0.0
    checks = [
        (f"probes at the gateways {share:.1%} of the baseline rate (target >= 95 %)", share >= PROBE_SHARE_TARGET),
        (f"gateway verdict changes {loaded['verdicts']:.0f} (baseline {base['verdicts']:.0f}, target 0)",
         loaded["verdicts"] == 0),
        (f"election moves {loaded['elections']:.0f} (baseline {base['elections']:.0f}, target 0)",
         loaded["elections"] == 0),
        (f"path verdict changes {loaded['path']} (baseline {base['path']}, target 0)", loaded["path"] == 0),
        (f"failovers {loaded['failovers']} (baseline {base['failovers']}, target 0)", loaded["failovers"] == 0),
        (f"silent blackout -> rule under the flood: {summary(blackouts)}; every one <= {BLACKOUT_TARGET_MS:g} ms",
         len(blackouts) == trials and max(blackouts) <= BLACKOUT_TARGET_MS),
        (f"carrier loss -> rule under the flood: {summary(carriers)}; p99 <= {CARRIER_TARGET_P99_MS:g} ms",
         percentile(carriers, 99) <= CARRIER_TARGET_P99_MS),
    ]
    for text, ok in checks:
        print(f"  {text}  {met(ok)}")
    return all(ok for _, ok in checks)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", default="500,1000", help="latency mode: request rates, comma-separated")
    ap.add_argument("--seconds", type=float, default=None, help="window length (30 s latency, 60 s flood)")
    ap.add_argument("--gateways", type=int, default=100)
    ap.add_argument("--flood", action="store_true")
    ap.add_argument("--flood-rate", type=float, default=2000)
    ap.add_argument("--sse", type=int, default=200)
    ap.add_argument("--trials", type=int, default=5, help="flood mode: silent blackouts (each, with and without)")
    ap.add_argument("--carrier-trials", type=int, default=20)
    args = ap.parse_args()
    if not 1 <= args.gateways <= 200:
        ap.error("--gateways: 1..200 (they share the LAN's /24)")
    seconds = args.seconds or (60 if args.flood else 30)
    addresses = [f"10.10.0.{20 + i}" for i in range(args.gateways)]
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        hb = HeartbeatTopology.build(tmp, n_gateways=0)
        try:
            reflectors = add_reflectors(hb.nets, "refl", addresses, 24, tmp, bridge="lan0")
            gateway_listener(hb.nets.ns("refl"), addresses[0], queue.Queue())  # answers the daemon's up/down
            cfg = hb.write_config(gateways=addresses, probe=True, hold_ms=2000, dampening=NO_HOLD)
            router = hb.nets.spawn("router", [sys.executable, "-m", "failover.cli", "run", "--config", str(cfg)],
                                   log=tmp / "router.log", cwd=REPO)
            hb.sidecar = router
            wait_for(hb._api_ready, timeout=30, interval=0.2, what="the sidecar")
            wait_for(hb.all_up, timeout=60, interval=0.5, what=f"all {args.gateways} gateways up")
            wait_for(lambda: hb.state()["wan"]["path"], timeout=10, what="the path check up")
            time.sleep(2)
            bench = Bench(hb, reflectors, tmp / "refl-reflectors.log")
            what = (f"flood {args.flood_rate:.0f} req/s + {args.sse} event streams" if args.flood
                    else f"GET /api/v1/state at {args.rates} req/s")
            print(f"api_latency: {what}, {args.gateways} gateways probed at 50 Hz, path check every 5 ms, "
                  f"`failover run` (load average {loadavg()})")
            if args.flood:
                run_flood(bench, seconds, args.flood_rate, args.sse, args.trials, args.carrier_trials)
            else:
                run_latency(bench, router, [float(r) for r in args.rates.split(",")], seconds)
            print_errors(log_errors(hb.topo.log("router")))
        finally:
            hb.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
