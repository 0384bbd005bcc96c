"""Benchmark: the sidecar's prober at scale. CPU for 100 and 1,000 candidates at 10 Hz; RTT error.

    .venv/bin/python -m bench.probe_scale [--counts 100,1000] [--seconds 20] [--capture-seconds 3]

Topology: two namespaces, "router" and "refl", one veth (router refl0 10.30.0.1/16). "refl" holds
1,000 addresses 10.30.x.y/16 on its eth0, served by one bench/reflectors.py process (the agent's
StampReflector bound to each address: the agent has no IP_PKTINFO/wildcard mode). The router runs
`failover sidecar` (no daemon, no path check) with N [[gateway]]s, heartbeat interval 100 ms.

CPU: utime+stime of the sidecar process from /proc/<pid>/stat over --seconds once every gateway
is up, divided by wall time (1.0 = one core). Target <= 1 core at 1,000. The reflector process's
CPU is printed too (it is the test rig, not the product). Probes/misses/verdict changes from
/metrics over the same window.

RTT error: an AF_PACKET socket (SOCK_DGRAM, ETH_P_IP) in the router's namespace on refl0, with
SO_TIMESTAMPNS, sees every probe leave and every reply arrive with the kernel's timestamps
(outgoing: when the packet reaches the device, dev_queue_xmit_nit; incoming: the skb receive stamp,
the same one SO_TIMESTAMPNS gives the prober's socket). Each probe is matched to its reply
(address, sequence). The prober's RTT for that probe is rebuilt exactly as it computes it:
(T4 - T1) - (T3 - T2), with T1 the prober's own send time echoed in the reply and T4 the kernel
receive stamp. The reference is the wire RTT at the router's interface: (rx - tx) - (T3 - T2).
error = prober RTT - wire RTT = tx - T1: how late after reading T1 the probe really left (the
reflector's own T2/T3 appear in both and cancel). Cross-check: the sidecar's smoothed rtt_ms
(/api/v1/gateways) against the mean wire RTT of the same gateway over the capture.
"""

from __future__ import annotations

import argparse
import secrets
import socket
import struct
import sys
import tempfile
import time
from pathlib import Path

from bench.netutil import REPO, add_reflectors, cpu_seconds, loadavg, parse_metrics
from bench.stats import summary
from failover.config import Config, to_toml
from failover.lab.builder import Network
from failover.lab.netns import wait_for
from failover.lab.spec import Topology
from failover.lab.nsocket import socket_in
from failover.core.stamp import UNAUTHENTICATED, StampError, ntp_to_unix_ns
from failover.lab.sidecarlab import NetnsHttp

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
PORT = 862


def addresses(n: int) -> list[str]:
    return [f"10.30.{1 + i // 250}.{1 + i % 250}" for i in range(n)]


def config(tmp: Path, gws: list[str]) -> Path:
    cfg = Config.model_validate({
        "wan": {"interface": "wan0"}, "failover": {"lan_interface": "lan0"},
        "control": {"socket": f"{tmp}/control.sock"}, "heartbeat": {"interval_ms": 100},
        "api": {"listen": "127.0.0.1:8080", "token_file": f"{tmp}/token"},
        "gateway": [{"name": f"g{i}", "address": a} for i, a in enumerate(gws)]})
    (tmp / "token").write_text("bench-token\n")
    path = tmp / f"scale-{len(gws)}.toml"
    path.write_text(to_toml(cfg))
    return path


def capture(netns: str, seconds: float) -> tuple[list[float], dict[str, list[float]], int]:
    def setup(s: socket.socket) -> None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        s.bind(("refl0", ETH_P_ALL))

    # ETH_P_ALL, not ETH_P_IP: only "all" taps see outgoing packets (dev_queue_xmit_nit).
    s = socket_in(netns, socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL), setup=setup)
    s.settimeout(0.2)
    sent: dict[tuple[str, int], tuple[int, int]] = {}
    errors: list[float] = []
    wire: dict[str, list[float]] = {}
    unmatched = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            data, anc, _f, addr = s.recvmsg(2048, 64)
        except TimeoutError:
            continue
        if addr[1] != ETH_P_IP:
            continue
        ts = None
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("@qq", payload[:16])
                ts = sec * 1_000_000_000 + nsec
        if ts is None or len(data) < 28 or data[9] != 17:
            continue
        ihl = (data[0] & 0x0F) * 4
        src, dst = socket.inet_ntoa(data[12:16]), socket.inet_ntoa(data[16:20])
        sport, dport = struct.unpack_from("!HH", data, ihl)
        body = data[ihl + 8:]
        try:
            if dport == PORT:
                p = UNAUTHENTICATED.decode_sender(body)
                sent[(dst, p.sequence)] = (ts, ntp_to_unix_ns(p.timestamp))
            elif sport == PORT:
                r = UNAUTHENTICATED.decode_reflector(body)
                got = sent.pop((src, r.sender_sequence), None)
                if got is None:
                    unmatched += 1
                    continue
                tx, t1 = got
                hold = ntp_to_unix_ns(r.timestamp) - ntp_to_unix_ns(r.receive_timestamp)
                prober = (ts - ntp_to_unix_ns(r.sender_timestamp)) - hold
                ref = (ts - tx) - hold
                errors.append((prober - ref) / 1e6)
                wire.setdefault(src, []).append(ref / 1e6)
        except StampError:
            continue
    s.close()
    return errors, wire, unmatched


def run(nets: Network, tmp: Path, n: int, args, refl_pid: int) -> bool:
    http = NetnsHttp(nets.ns("router"))
    proc = nets.spawn("router", [sys.executable, "-m", "failover.cli", "sidecar", "--config", str(config(tmp, addresses(n)))],
                      log=tmp / f"sidecar-{n}.log", cwd=REPO)
    try:
        def all_up() -> bool:
            try:
                gws = http.get("/api/v1/gateways").json()
            except Exception:  # noqa: BLE001 - not serving yet
                return False
            return len(gws) == n and all(g["status"] == "up" for g in gws)
        wait_for(all_up, timeout=90, interval=0.5, what=f"{n} gateways up")
        time.sleep(2)
        m0 = parse_metrics(http.get("/metrics").text)
        c0, r0, t0 = cpu_seconds(proc.pid), cpu_seconds(refl_pid), time.monotonic()
        time.sleep(args.seconds)
        c1, r1, t1 = cpu_seconds(proc.pid), cpu_seconds(refl_pid), time.monotonic()
        m1 = parse_metrics(http.get("/metrics").text)
        cpu = (c1 - c0) / (t1 - t0)
        d = {k: m1.get(k, 0) - m0.get(k, 0) for k in m1}
        ok = n < 1000 or cpu <= 1.0
        target = "  target <= 1 core at 1,000 " + ("MET" if cpu <= 1.0 else "MISSED") if n >= 1000 else ""
        print(f"  {n:5} gateways at 10 Hz: sidecar CPU {cpu:.3f} core{target}; reflector process "
              f"{(r1 - r0) / (t1 - t0):.3f} core; probes {d.get('failover_heartbeats_sent_total', 0):.0f}, misses "
              f"{d.get('failover_heartbeats_sent_total', 0) - d.get('failover_heartbeats_received_total', 0):.0f}, "
              f"verdict changes {d.get('failover_gateway_transitions_total', 0):.0f}, "
              f"prober stalls {d.get('failover_heartbeat_stalls_total', 0):.0f}")
        errors, wire, unmatched = capture(nets.ns("router"), args.capture_seconds)
        api = {g["address"]: g["rtt_ms"] for g in http.get("/api/v1/gateways").json()}
        if errors:
            print(f"        RTT error vs kernel timestamps (prober - wire, per probe): {summary(errors)}")
            diffs = [abs(api[a] - sum(v) / len(v)) for a, v in wire.items() if api.get(a) is not None]
            wires = [x for v in wire.values() for x in v]
            print(f"        wire RTT itself: {summary(wires)}; |sidecar srtt - mean wire RTT| per gateway: "
                  f"{summary(diffs)} ({unmatched} replies unmatched in capture)")
        return ok
    finally:
        nets.stop(proc)
        http.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--counts", default="100,1000")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--capture-seconds", type=float, default=3)
    args = ap.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    nets = Network(Topology(f"afp{secrets.token_hex(2)}"))
    ok = True
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        try:
            nets.add("router")
            refl = add_reflectors(nets, "refl", addresses(max(counts)), 16, tmp, router_address="10.30.0.1")
            print(f"probe_scale: `failover sidecar` probing N STAMP reflectors every 100 ms "
                  f"(load average {loadavg()})")
            for n in counts:
                ok &= run(nets, tmp, n, args, refl.pid)
        finally:
            nets.teardown()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
