"""Flows across failover: the heartbeat topology with NAT where a real home network has it.

    client 10.10.0.100 ─┐
                        ├─ lan0 router (masquerade on wan0) wan0 ═ isp0 ISP ═ eth0 internet 203.0.113.1
    gw1 10.10.0.11 ─────┘                                                      │ up-gw1 100.64.1.1
        └─ up0 100.64.1.2 (masquerade) ────────────────────────────────────────┘

With ``n_gateways`` > 1, each gwN (10.10.0.1N) has its own uplink the same way, 100.64.N.2 ==
100.64.N.1 on the internet host.

The ISP knows only the router's WAN address (no route to the LAN), like a real one; the
internet host echoes TCP and UDP on 9000 and the router echoes TCP on 9001 (a LAN-local flow the
router's conntrack holds). ``python -m tests.topotests.flow_topology`` runs the pieces that live
in the namespaces: ``echo``, ``hold`` (long-lived connections, status in a JSON file) and
``dump`` (the namespace's conntrack table as JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from failover.lab.netns import wait_for

from .heartbeat_topology import INTERNET, HeartbeatTopology
from .topology import REPO, ROUTER_LAN, WAN

CLIENT = "10.10.0.100"
ECHO_PORT, LAN_PORT = 9000, 9001


def uplink(i: int) -> tuple[str, str]:
    """gwN's end and the internet host's end of gwN's uplink."""
    return f"100.64.{i}.2", f"100.64.{i}.1"


def _nft(nets, role: str, rules: str) -> None:
    proc = subprocess.run(["ip", "netns", "exec", nets.ns(role), "nft", "-f", "-"],
                          input=rules, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"nft in {role}: {proc.stderr.strip()}")


def _masquerade(nets, role: str, ifname: str, action: str = "masquerade") -> None:
    _nft(nets, role, "table ip flowtest {\n chain post {\n  type nat hook postrouting priority 100;\n"
                     f"  oifname \"{ifname}\" {action}\n }}\n}}\n")


@dataclass
class FlowTopology:
    hb: HeartbeatTopology
    nat: str = "masquerade"   # the router's NAT on wan0: "masquerade" or "snat" (to the WAN address)

    n_gateways: int = 1

    @classmethod
    def build(cls, tmp: Path, nat: str = "masquerade", n_gateways: int = 1) -> FlowTopology:
        hb = HeartbeatTopology.build(tmp, n_gateways=n_gateways)
        self = cls(hb, nat, n_gateways)
        try:
            self._build()
        except BaseException:
            hb.cleanup()
            raise
        return self

    @property
    def nets(self):
        return self.hb.nets

    @property
    def topo(self):
        return self.hb.topo

    def _build(self) -> None:
        n = self.nets
        gws = [f"gw{i}" for i in range(1, self.n_gateways + 1)]
        for role in ("router", *gws, "isp", "internet"):
            for key in ("net.ipv4.conf.all.rp_filter", "net.ipv4.conf.default.rp_filter"):
                n.sysctl(role, key, 0)
        n.sysctl("router", "net.ipv4.ip_forward", 1)
        _masquerade(n, "router", "wan0", "masquerade" if self.nat == "masquerade" else f"snat to {WAN}")
        # Each gateway's own uplink to the internet host, NATed: what an LTE box or a neighbour's
        # router is.
        for i, gw in enumerate(gws, start=1):
            gw_end, net_end = uplink(i)
            n.veth(gw, "up0", "internet", f"up-{gw}")
            n.ip(gw, "addr", "add", f"{gw_end}/30", "dev", "up0")
            n.ip("internet", "addr", "add", f"{net_end}/30", "dev", f"up-{gw}")
            n.ip(gw, "route", "add", "default", "via", net_end)
            _masquerade(n, gw, "up0")
        # The client, on the router's LAN bridge.
        n.add("client")
        n.veth("router", "lan0p9", "client", "eth0")
        n.ip("router", "link", "set", "lan0p9", "master", "lan0")
        n.ip("client", "addr", "add", f"{CLIENT}/24", "dev", "eth0")
        n.ip("client", "route", "add", "default", "via", ROUTER_LAN)
        # Echo servers: the internet host (through the WAN or gw1) and the router (LAN-local).
        self._spawn("internet", "echo-internet", "echo", INTERNET, str(ECHO_PORT))
        self._spawn("router", "echo-router", "echo", ROUTER_LAN, str(LAN_PORT))
        wait_for(lambda: self.topo._listening("internet", ECHO_PORT), what="the internet echo")
        wait_for(lambda: self.topo._listening("router", LAN_PORT), what="the router's echo")

    def _spawn(self, role: str, name: str, *args: str):
        return self.nets.spawn(role, [sys.executable, "-m", "tests.topotests.flow_topology", *args],
                               log=self.topo.tmp / f"{name}.log", cwd=REPO)

    # -- flows ------------------------------------------------------------------------------

    def hold(self, name: str, **targets: str) -> Holder:
        """Long-lived connections from the client: ``wan="tcp:203.0.113.1:9000"``, ..."""
        status = self.topo.tmp / f"hold-{name}.json"
        proc = self._spawn("client", f"hold-{name}", "hold", "--status", str(status),
                           *[f"{k}={v}" for k, v in targets.items()])
        h = Holder(proc, status)
        wait_for(lambda: h.all_echoing(list(targets)), timeout=10, what=f"{name}: every flow echoing")
        return h

    def conntrack(self) -> list[dict]:
        """The router's conntrack table."""
        out = self.nets.exec("router", sys.executable, "-m", "tests.topotests.flow_topology", "dump").stdout
        return json.loads(out)

    def cleanup(self) -> None:
        self.hb.cleanup()


class Holder:
    def __init__(self, proc, status: Path) -> None:
        self.proc, self.path = proc, status

    def status(self) -> dict[str, dict]:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}

    def all_echoing(self, names: list[str]) -> bool:
        s = self.status()
        return all(s.get(n, {}).get("echoed", 0) >= 3 for n in names)

    def echoed(self, name: str) -> int:
        return self.status().get(name, {}).get("echoed", 0)

    def error(self, name: str) -> str | None:
        return self.status().get(name, {}).get("error")

    def sport(self, name: str) -> int:
        return self.status()[name]["sport"]

    def echoes_resume(self, name: str, more: int = 5, timeout: float = 5.0) -> bool:
        start = self.echoed(name)
        wait_for(lambda: self.echoed(name) >= start + more, timeout=timeout, what=f"{name} echoing again")
        return True


# -- the processes in the namespaces (python -m tests.topotests.flow_topology ...) --------------


def _echo(host: str, port: int) -> None:
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((host, port))

    def udp_loop() -> None:
        while True:
            data, peer = udp.recvfrom(2048)
            udp.sendto(data, peer)

    threading.Thread(target=udp_loop, daemon=True).start()
    srv = socket.create_server((host, port), reuse_port=True)

    def serve(c: socket.socket) -> None:
        with c:
            while data := c.recv(4096):
                c.sendall(data)

    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def _hold(status_path: Path, targets: dict[str, str]) -> None:
    status: dict[str, dict] = {}
    lock = threading.Lock()

    def run(name: str, spec: str) -> None:
        proto, host, port = spec.split(":")
        st = status[name] = {"proto": proto, "sent": 0, "echoed": 0, "last_echo": None, "error": None}
        kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
        s = socket.socket(socket.AF_INET, kind)
        s.settimeout(3)
        try:
            s.connect((host, int(port)))
        except OSError as e:
            st["error"] = f"connect: {e}"
            return
        st["sport"] = s.getsockname()[1]
        s.settimeout(0.1)
        buf = b""
        while True:
            try:
                s.send(b"ping\n")
                st["sent"] += 1
                deadline = time.monotonic() + 0.1
                while time.monotonic() < deadline:
                    try:
                        data = s.recv(4096)
                    except TimeoutError:
                        break
                    except ConnectionRefusedError:  # UDP: an ICMP error, the socket lives on
                        st["refused"] = st.get("refused", 0) + 1
                        break
                    if not data:
                        raise ConnectionResetError("closed by the peer")
                    buf += data
                    n = buf.count(b"\n")
                    if n:
                        buf = buf.rsplit(b"\n", 1)[1]
                        with lock:
                            st["echoed"] += n
                            st["last_echo"] = time.time()
                time.sleep(0.05)
            except (ConnectionResetError, BrokenPipeError) as e:
                with lock:
                    st["error"] = f"reset: {e}"
                    st["reset_at"] = time.time()
                return

    for name, spec in targets.items():
        threading.Thread(target=run, args=(name, spec), daemon=True).start()
    while True:
        with lock:
            text = json.dumps(status)
        tmp = status_path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, status_path)
        time.sleep(0.05)


def _dump() -> None:
    from failover.net.conntrack import ConntrackTable

    with ConntrackTable() as t:
        print(json.dumps([
            {"id": f.id, "proto": f.proto, "orig_src": str(f.orig_src), "orig_dst": str(f.orig_dst),
             "reply_dst": str(f.reply_dst), "sport": f.sport, "dport": f.dport, "text": str(f)}
            for f in t.flows()
        ]))


def main() -> None:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("echo")
    e.add_argument("host")
    e.add_argument("port", type=int)
    h = sub.add_parser("hold")
    h.add_argument("--status", type=Path, required=True)
    h.add_argument("targets", nargs="+")
    sub.add_parser("dump")
    a = p.parse_args()
    if a.cmd == "echo":
        _echo(a.host, a.port)
    elif a.cmd == "hold":
        _hold(a.status, dict(t.split("=", 1) for t in a.targets))
    else:
        _dump()


if __name__ == "__main__":
    main()


__all__ = ["CLIENT", "ECHO_PORT", "FlowTopology", "INTERNET", "LAN_PORT", "WAN"]
