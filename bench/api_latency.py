"""Benchmark: GET /api/v1/state latency at a fixed request rate while 100 gateways are probed at 50 Hz.

    .venv/bin/python -m bench.api_latency [--rate 500] [--seconds 30] [--gateways 100] [--failover-mid-run]

Topology: tests/topotests/heartbeat_topology.py (router, ISP, internet host with a STAMP reflector
as `wan.probe`) with no agent namespaces; instead one namespace on the router's LAN bridge holds
--gateways addresses (10.10.0.20 ...) served by one bench/reflectors.py process (the agent's
StampReflector on each address). The router runs `failover run` (host + sidecar, one process, as on
an appliance) with every address as a [[gateway]], heartbeats 20 ms (50 Hz) x 3, path check 5 ms.

Load: an open-loop HTTP/1.1 client in the router's namespace (asyncio, 32 keep-alive connections,
raw requests to keep the client cheap), one request scheduled every 1/--rate s whatever the answers
do. Latency is counted from the *scheduled* time to the last byte of the answer (no coordinated
omission: a stalled server shows up as queueing), and also from the actual send. Achieved rate =
answers / window. Target p99 <= 10 ms.

Heartbeat health, from the sidecar's /metrics before and after each window: probes sent minus
replies received summed over the gateways ("misses"; ±1 per gateway for probes in flight at the
window edges), gateway verdict changes, and probe ticks the prober itself flagged as stalled. A
baseline window of the same length with no HTTP load is measured first; load-caused misses are
the difference. With --failover-mid-run the WAN carrier is cut half-way (ISP end of the veth down)
and the failover time is taken from an rtnetlink listener in the router: wan0 loses IFF_RUNNING ->
RTM_NEWRULE of the failover rule (bench.event_to_rule's listener; its target p99 <= 5 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import queue
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench.event_to_rule import expect, gateway_listener, rtnl_listener
from bench.labnet import NO_HOLD
from bench.netutil import add_reflectors, cpu_seconds, in_netns, loadavg, parse_metrics
from bench.stats import percentile, summary
from failover.netns import wait_for
from tests.topotests.heartbeat_topology import HeartbeatTopology

HOST, PORT = "127.0.0.1", 8080
REQUEST = b"GET /api/v1/state HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n"


async def _one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> int:
    writer.write(REQUEST)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return status


async def load(rate: float, seconds: float, connections: int = 32) -> dict:
    loop = asyncio.get_running_loop()
    q: asyncio.Queue = asyncio.Queue()
    sched_lat: list[float] = []
    send_lat: list[float] = []
    errors: dict[str, int] = {}

    async def worker() -> None:
        reader = writer = None
        while True:
            t_sched = await q.get()
            if t_sched is None:
                break
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(HOST, PORT)
                t_send = loop.time()
                status = await asyncio.wait_for(_one(reader, writer), 5)
                t_done = loop.time()
                if status != 200:
                    errors[str(status)] = errors.get(str(status), 0) + 1
                sched_lat.append((t_done - t_sched) * 1000)
                send_lat.append((t_done - t_send) * 1000)
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as e:
                errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
                if writer is not None:
                    writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
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


def metrics(hb: HeartbeatTopology) -> dict[str, float]:
    return parse_metrics(hb.http.get("/metrics").text)


def health(before: dict, after: dict) -> dict[str, float]:
    d = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    return {"sent": d.get("failover_heartbeats_sent_total", 0),
            "misses": d.get("failover_heartbeats_sent_total", 0) - d.get("failover_heartbeats_received_total", 0),
            "verdict_changes": d.get("failover_gateway_transitions_total", 0),
            "stalls": d.get("failover_heartbeat_stalls_total", 0),
            "election_changes": d.get("failover_election_changes_total", 0)}


def fmt_health(h: dict) -> str:
    return (f"probes {h['sent']:.0f}, misses {h['misses']:.0f}, gateway verdict changes {h['verdict_changes']:.0f}, "
            f"prober stalls {h['stalls']:.0f}, election moves {h['election_changes']:.0f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=500)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--gateways", type=int, default=100)
    ap.add_argument("--failover-mid-run", action="store_true")
    args = ap.parse_args()
    if not 1 <= args.gateways <= 200:
        ap.error("--gateways: 1..200 (they share the LAN's /24)")
    addresses = [f"10.10.0.{20 + i}" for i in range(args.gateways)]
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        hb = HeartbeatTopology.build(tmp, n_gateways=0)
        try:
            topo = hb.topo
            add_reflectors(hb.nets, "refl", addresses, 24, tmp, bridge="lan0")
            gw_events: queue.Queue = queue.Queue()
            gateway_listener(hb.nets.ns("refl"), addresses[0], gw_events)  # answers the daemon's up/down
            cfg = hb.write_config(gateways=addresses, probe=True, hold_ms=2000)
            cfg.write_text(cfg.read_text() + NO_HOLD)
            router = hb.nets.spawn("router", [sys.executable, "-m", "failover.cli", "run", "--config", str(cfg)],
                                   log=tmp / "router.log", cwd=str(Path(__file__).resolve().parents[1]))
            hb.sidecar = router
            wait_for(hb._api_ready, timeout=30, interval=0.2, what="the sidecar")
            wait_for(hb.all_up, timeout=60, interval=0.5, what=f"all {args.gateways} gateways up")
            time.sleep(2)
            net_events: queue.Queue = queue.Queue()
            rtnl_listener(hb.nets.ns("router"), net_events)
            print(f"api_latency: GET /api/v1/state at {args.rate:.0f}/s for {args.seconds:.0f} s, "
                  f"{args.gateways} gateways probed at 50 Hz, `failover run` (load average {loadavg()})")

            m0 = metrics(hb)
            time.sleep(args.seconds)
            m1 = metrics(hb)
            base = health(m0, m1)
            print(f"  baseline, no HTTP load : {fmt_health(base)}")

            mid: dict = {}
            if args.failover_mid_run:
                def cut() -> None:
                    time.sleep(args.seconds / 2)
                    while not net_events.empty():
                        net_events.get()
                    topo.set_isp(False)
                    t_link = expect(net_events, "link", when=lambda running: running is False)
                    t_rule = expect(net_events, "rule")
                    mid["link_rule_ms"] = (t_rule - t_link) / 1e6
                    try:
                        t_up = expect(gw_events, "up", timeout=5)
                        mid["link_up_ms"] = (t_up - t_link) / 1e6
                    except (TimeoutError, queue.Empty):
                        pass
                cutter = threading.Thread(target=cut)
                while not gw_events.empty():
                    gw_events.get()
                cutter.start()
            cpu0, t0 = cpu_seconds(router.pid), time.monotonic()
            m2 = metrics(hb)
            res = in_netns(hb.nets.ns("router"), lambda: asyncio.run(load(args.rate, args.seconds)))
            m3 = metrics(hb)
            cpu = (cpu_seconds(router.pid) - cpu0) / (time.monotonic() - t0)
            if args.failover_mid_run:
                cutter.join()
            loaded = health(m2, m3)
            lat = res["sched"]
            ok_n = len(lat)
            p99 = percentile(lat, 99) if lat else float("inf")
            print(f"  achieved rate          : {ok_n / res['elapsed']:.0f}/s answered ({ok_n} of {res['scheduled']} "
                  f"scheduled), errors {res['errors'] or 'none'}; `failover run` CPU {cpu:.2f} core")
            print(f"  latency from schedule  : {summary(lat)}  target p99 <= 10 ms {'MET' if p99 <= 10 else 'MISSED'}")
            print(f"  latency from send      : {summary(res['send'])}")
            print(f"  under HTTP load        : {fmt_health(loaded)}")
            extra_misses = loaded["misses"] - base["misses"]
            print(f"  load-caused misses     : {extra_misses:+.0f} (loaded - baseline; failover window included)"
                  if args.failover_mid_run else f"  load-caused misses     : {extra_misses:+.0f} (loaded - baseline)")
            if args.failover_mid_run:
                if "link_rule_ms" in mid:
                    print(f"  failover mid-run       : carrier loss -> rule {mid['link_rule_ms']:.2f} ms "
                          f"(event_to_rule target p99 <= 5 ms), -> gateway told up "
                          f"{mid.get('link_up_ms', float('nan')):.2f} ms")
                else:
                    print("  failover mid-run       : NOT observed")
                topo.set_isp(True)
            errors = [l for l in topo.log("router").splitlines() if "Traceback" in l or " ERROR " in l]
            if errors:
                print("router log errors:", *errors[:10], sep="\n  ")
        finally:
            hb.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
