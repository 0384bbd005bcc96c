"""Benchmark: WAN carrier loss -> failover rule present -> elected gateway told "up".

    .venv/bin/python -m bench.event_to_rule [--trials 100]

Topology: tests/topotests/topology.py (router, ISP, two gateways), `failover host` running on the
router as in production. Each trial takes the ISP side of the WAN veth down, then up again.
Timestamps, all on this machine's one clock, taken by blocking readers right at the socket:
  t_link  the kernel's RTM_NEWLINK for wan0 losing carrier (rtnetlink listener in the router)
  t_rule  the kernel's RTM_NEWRULE for priority 1000      (same listener)
  t_up    the "up" line arriving at gw1                    (a TCP listener in gw1 answering "ok")
  t_isp   just before `ip link set isp0 down` is issued
Printed: link->rule (the host's own share: notifier, wake-up, rtnetlink), link->up, isp->up.
"""

from __future__ import annotations

import argparse
import queue
import socket
import struct
import sys
import tempfile
import threading
import time
from pathlib import Path

from pyroute2.netlink.rtnl.marshal import MarshalRtnl

from failover.nsocket import socket_in
from bench.stats import summary
from tests.topotests.topology import PRIORITY, RouterTopology, gateway_address

RTMGRP_LINK, RTMGRP_IPV4_RULE = 0x1, 0x80
NO_HOLD_DAMPENING = "penalty = 1\nsuppress = 1000000\nmax_penalty = 1000000\nreuse = 0\nmin_clean_ms = 0\n"
IFF_RUNNING = 0x40


def rtnl_listener(netns: str, events: queue.Queue) -> socket.socket:
    def setup(s: socket.socket) -> None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.bind((0, RTMGRP_LINK | RTMGRP_IPV4_RULE))

    sock = socket_in(netns, socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE, setup=setup)
    marshal = MarshalRtnl()

    def run() -> None:
        while True:
            try:
                data = sock.recv(1 << 16)
            except OSError:
                return
            t = time.time_ns()
            for msg in marshal.parse(data):
                ev = msg["event"]
                if ev == "RTM_NEWLINK" and msg.get_attr("IFLA_IFNAME") == "wan0":
                    events.put(("link", t, bool(msg["flags"] & IFF_RUNNING)))
                elif ev in ("RTM_NEWRULE", "RTM_DELRULE") and msg.get_attr("FRA_PRIORITY") == PRIORITY:
                    events.put(("rule" if ev == "RTM_NEWRULE" else "unrule", t, None))

    threading.Thread(target=run, daemon=True).start()
    return sock


def gateway_listener(netns: str, address: str, events: queue.Queue) -> socket.socket:
    def setup(s: socket.socket) -> None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((address, 7070))
        s.listen(16)

    srv = socket_in(netns, socket.AF_INET, socket.SOCK_STREAM, setup=setup)

    def run() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                line = b""
                while not line.endswith(b"\n"):
                    chunk = conn.recv(64)
                    if not chunk:
                        break
                    line += chunk
                events.put((line.strip().decode(), time.time_ns(), None))
                conn.sendall(b"ok\n")

    threading.Thread(target=run, daemon=True).start()
    return srv


def expect(events: queue.Queue, kind: str, timeout: float = 5.0, when=None) -> int:
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no {kind} event")
        k, t, extra = events.get(timeout=left)
        if k == kind and (when is None or when(extra)):
            return t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=100)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        topo = RouterTopology.build(Path(tmp), n_gateways=2, agents=False)
        try:
            topo.start_agent(2)
            net_events: queue.Queue = queue.Queue()
            gw_events: queue.Queue = queue.Queue()
            socks = [rtnl_listener(topo.nets.ns("router"), net_events),
                     gateway_listener(topo.nets.ns("gw1"), gateway_address(1), gw_events)]
            # 100 carrier flaps in a row would (rightly) trip flap dampening and hold failback;
            # the trials measure failover, so the hold-down is set out of the way.
            topo.start_host(topo.config(dampening=NO_HOLD_DAMPENING))
            time.sleep(1.5)  # the daemon has told both gateways "down" once at start
            while not gw_events.empty():
                gw_events.get()
            link_rule, link_up, isp_up = [], [], []
            for _ in range(args.trials):
                while not net_events.empty():
                    net_events.get()
                t_isp = time.time_ns()
                topo.set_isp(False)
                t_link = expect(net_events, "link", when=lambda running: running is False)
                t_rule = expect(net_events, "rule")
                t_up = expect(gw_events, "up")
                link_rule.append((t_rule - t_link) / 1e6)
                link_up.append((t_up - t_link) / 1e6)
                isp_up.append((t_up - t_isp) / 1e6)
                topo.set_isp(True)
                expect(net_events, "unrule", timeout=10)
                expect(gw_events, "down")
                time.sleep(0.05)
            for s in socks:
                s.close()
            print(f"event_to_rule: {args.trials} carrier-loss transitions on wan0 (veth), failover host")
            print(f"  link notification -> rule present : {summary(link_rule)}")
            print(f"  link notification -> gw told up   : {summary(link_up)}")
            print(f"  isp0 down issued  -> gw told up   : {summary(isp_up)}")
            errors = [line for line in topo.log("host").splitlines() if "error" in line]
            if errors:
                print("host reported errors:", *errors, sep="\n  ")
                return 1
        finally:
            topo.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
