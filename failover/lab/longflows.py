"""Long-lived flows across failover, the programs that run in the namespaces:
``python -m failover.lab.longflows echo HOST[,HOST...] PORT`` (TCP and UDP echo), ``hold --status FILE
NAME=PROTO:HOST:PORT...`` (HOST of either family, an IPv6 one as is or in brackets: connections that send every 50 ms and count echoes, their status in a
JSON file) and ``dump`` (the namespace's conntrack table as JSON). ``flowlab.FlowTopology`` starts them.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import socket
import threading
import time
from pathlib import Path


def family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET


def target(spec: str) -> tuple[str, str, int]:
    """``tcp:203.0.113.1:9000``, ``udp:fd00::1:9000`` or ``udp:[fd00::1]:9000`` as (proto, host, port)."""
    proto, rest = spec.split(":", 1)
    host, port = rest.rsplit(":", 1)
    return proto, host.strip("[]"), int(port)


def _echo(hosts: list[str], port: int) -> None:
    """Every host's sockets bound before any is served (one process, both families)."""
    servers = []
    for host in hosts:
        udp = socket.socket(family(host), socket.SOCK_DGRAM)
        udp.bind((host, port))
        servers.append(socket.create_server((host, port), family=family(host), reuse_port=True))
        threading.Thread(target=_udp_echo, args=(udp,), daemon=True).start()
    for srv in servers[1:]:
        threading.Thread(target=_tcp_echo, args=(srv,), daemon=True).start()
    _tcp_echo(servers[0])


def _udp_echo(udp: socket.socket) -> None:
    while True:
        data, peer = udp.recvfrom(2048)
        udp.sendto(data, peer)


def _tcp_echo(srv: socket.socket) -> None:
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
        proto, host, port = target(spec)
        st = status[name] = {"proto": proto, "sent": 0, "echoed": 0, "last_echo": None, "error": None}
        kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
        s = socket.socket(family(host), kind)
        s.settimeout(3)
        try:
            s.connect((host, port))
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
    from ..net.conntrack import ConntrackTable

    flows = []
    for family in (4, 6):
        with ConntrackTable(family) as t:
            flows += t.flows()
    print(json.dumps([
        {"id": f.id, "proto": f.proto, "orig_src": str(f.orig_src), "orig_dst": str(f.orig_dst),
         "reply_dst": str(f.reply_dst), "sport": f.sport, "dport": f.dport, "text": str(f)}
        for f in flows
    ]))


def main() -> None:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("echo")
    e.add_argument("host", help="an address, or several joined by commas (e.g. one per family)")
    e.add_argument("port", type=int)
    h = sub.add_parser("hold")
    h.add_argument("--status", type=Path, required=True)
    h.add_argument("targets", nargs="+")
    sub.add_parser("dump")
    a = p.parse_args()
    if a.cmd == "echo":
        _echo(a.host.split(","), a.port)
    elif a.cmd == "hold":
        _hold(a.status, dict(t.split("=", 1) for t in a.targets))
    else:
        _dump()


if __name__ == "__main__":
    main()

