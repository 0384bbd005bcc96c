"""The router topology (topology.py) made dual-stack, and an independent IPv6 observer.

    router lan0: 10.10.0.1/24, fd00:10::1/64, 2001:db8:10::1/64 (and its link-local address)
    gwN eth0:    10.10.0.1N/24, fd00:10::1N/64

The IPv6 addresses are the only additions, as data below; everything else is topology.py's.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

from pyroute2.netlink.rtnl.marshal import MarshalRtnl

from failover.lab.nsocket import socket_in

from failover.lab.routerlab import PRIORITY, TABLE, RouterTopology

#: The LAN's IPv6 prefixes (a ULA and a global one): table T must hold both.
LAN6_PREFIXES = ("fd00:10::/64", "2001:db8:10::/64")
ROUTER_LAN6 = ("fd00:10::1/64", "2001:db8:10::1/64")


def gateway_address6(i: int) -> str:
    return f"fd00:10::{10 + i}"


def make_dual_stack(topo: RouterTopology) -> None:
    """IPv6 on the router's LAN and on each gateway (no DAD: usable at once)."""
    for cidr in ROUTER_LAN6:
        topo.nets.ip("router", "addr", "add", cidr, "dev", "lan0", "nodad")
    for i in range(1, len(topo.gateways) + 1):
        topo.nets.ip(f"gw{i}", "addr", "add", f"{gateway_address6(i)}/64", "dev", "eth0", "nodad")


def dual_stack_config(topo: RouterTopology, address6: dict[int, str | None] | None = None) -> Path:
    """topology.py's config with ``address6`` for the gateways named in ``address6`` (default:
    every gateway, at gateway_address6(i))."""
    if address6 is None:
        address6 = {i: gateway_address6(i) for i in range(1, len(topo.gateways) + 1)}
    path = topo.config()
    lines = []
    for line in path.read_text().splitlines():
        lines.append(line)
        for i, a in address6.items():
            if a is not None and line == f'address = "{topo.gateways[i - 1]}"':
                lines.append(f'address6 = "{a}"')
    path.write_text("\n".join(lines) + "\n")
    return path


# rtnetlink multicast groups (RTNLGRP_* n is bit n-1)
GROUPS = (1 << (8 - 1)) | (1 << (11 - 1)) | (1 << (19 - 1))   # IPV4_RULE, IPV6_ROUTE, IPV6_RULE


@dataclass
class FibWatch:
    """The kernel's own rule and route notifications in the router's namespace, from start():
    the IPv4 and IPv6 rules at the failover priority and the IPv6 routes of table T, kept as the
    kernel announced them (never read back from the daemon)."""

    netns: str
    rules4: int = 0          # IPv4 rules at PRIORITY now
    rules6: int = 0          # IPv6 rules at PRIORITY now
    max_rules6: int = 0      # the most IPv6 rules there ever were at once
    rule4_adds: int = 0
    routes6: set[tuple[str, str | None, int | None]] = field(default_factory=set)  # (dst, gateway, oif)
    _sock: socket.socket | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> FibWatch:
        def setup(s: socket.socket) -> None:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            s.bind((0, GROUPS))
            s.settimeout(0.2)

        self._sock = socket_in(self.netns, socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE, setup=setup)
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"fibwatch {self.netns}")
        self._thread.start()
        return self

    def _run(self) -> None:
        marshal = MarshalRtnl()
        while not self._stop.is_set():
            try:
                data = self._sock.recv(1 << 16)
            except TimeoutError:
                continue
            with self._lock:
                for msg in marshal.parse(data):
                    self._note(msg)

    def _note(self, msg) -> None:
        event, family = msg["event"], msg["family"]
        added = event in ("RTM_NEWRULE", "RTM_NEWROUTE")
        if event in ("RTM_NEWRULE", "RTM_DELRULE") and msg.get_attr("FRA_PRIORITY") == PRIORITY:
            step = 1 if added else -1
            if family == socket.AF_INET6:
                self.rules6 += step
                self.max_rules6 = max(self.max_rules6, self.rules6)
            elif family == socket.AF_INET:
                self.rules4 += step
                self.rule4_adds += added
        elif event in ("RTM_NEWROUTE", "RTM_DELROUTE") and family == socket.AF_INET6:
            if (msg.get_attr("RTA_TABLE") or msg["table"]) != TABLE:
                return
            dst = msg.get_attr("RTA_DST")
            key = (f"{dst}/{msg['dst_len']}" if dst else "default", msg.get_attr("RTA_GATEWAY"),
                   msg.get_attr("RTA_OIF"))
            (self.routes6.add if added else self.routes6.discard)(key)

    def snapshot(self) -> tuple[int, int, frozenset]:
        with self._lock:
            return self.rules4, self.rules6, frozenset(self.routes6)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._sock.close()
