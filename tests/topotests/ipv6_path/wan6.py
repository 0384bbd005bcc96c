"""The router scenario, dual-stack (the topology engine's ``ipv6``: failover/lab/routerlab.py), with an
IPv6 STAMP reflector beyond the ISP and an independent counter of an IPv4 flow (its receiver counts
sequence numbers).

    router wan0 fd00:198:51:100::2 ═══ isp ═══ internet fd00:203:0:113::1 (STAMP reflector on both
    families: the IPv4 one is the topology's internet-agent, the IPv6 one started here)
    router lan0 fd00:10::1, gw1 eth0 fd00:10::11 (gw1's address6)

A blackout of one family beyond the ISP is the ISP dropping what it would forward of that family
(nftables ``ip`` or ``ip6`` forward chain): carrier stays up, the ISP itself still answers, the
other family is untouched.
"""

from __future__ import annotations

import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from failover.core.icmp import encode_echo_request6
from failover.lab.netns import wait_for
from failover.lab.nsocket import run_in, socket_in
from failover.lab.routerlab import INTERNET, INTERNET6, gateway_address6
from failover.lab.sidecarlab import HeartbeatTopology

GW1_6 = gateway_address6(1)
LAN6_PREFIX = "fd00:10::/64"
FLOW_PORT = 9400


def build(tmp: Path) -> HeartbeatTopology:
    """One gateway, the client and the internet host, both families; the IPv6 reflector running
    and the router's IPv6 neighbours found."""
    hb = HeartbeatTopology.build(tmp, n_gateways=1, flows=True, ipv6=True)
    try:
        nets = hb.nets
        reachable6(hb)
        nets.spawn("internet", [sys.executable, "-m", "failover.cli", "agent", "--listen", INTERNET6],
                   log=hb.topo.tmp / "internet-agent6.log", name="internet-agent6")
        wait_for(lambda: INTERNET6 in nets.exec("internet", "ss", "-Huln", "sport = :862").stdout, timeout=10,
                 what="the IPv6 STAMP reflector")
    except BaseException:
        hb.cleanup()
        raise
    return hb


def reachable6(hb: HeartbeatTopology, timeout: float = 5.0) -> None:
    """The router reaches the internet host over IPv6 (an ICMPv6 echo answered): neighbour
    discovery on the new addresses is done before the path check starts, so its first verdict is
    about the path, not about a neighbour cache being filled (a lost first solicitation costs a
    second)."""
    request = encode_echo_request6(0x5EED, 1, 0)

    def echo() -> bool:
        with socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6) as s:
            s.settimeout(0.2)
            s.sendto(request, (INTERNET6, 0))
            try:
                while True:
                    data = s.recv(256)
                    if data[0] == 129 and data[4:6] == request[4:6]:
                        return True
            except TimeoutError:
                return False

    deadline = time.monotonic() + timeout
    while not run_in(hb.nets.ns("router"), echo):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the router does not reach {INTERNET6} over IPv6")


def write_config(hb: HeartbeatTopology, targets: list[dict], **sections: dict) -> Path:
    """Both families' targets, gw1 with its address6 (so IPv6 can fail over)."""
    return hb.write_config(probe=False, wan={"target": targets}, address6={1: GW1_6}, **sections)


def blackout(hb: HeartbeatTopology, family: str) -> None:
    """The ISP silently drops what it forwards of ``family`` ("ip" or "ip6")."""
    hb.nets.nft("isp", f"add table {family} blackout\n"
                       f"add chain {family} blackout drops {{ type filter hook forward priority 0; policy drop; }}\n")


def end_blackout(hb: HeartbeatTopology, family: str) -> None:
    hb.nets.nft("isp", f"delete table {family} blackout\n")


_SEQ = struct.Struct("!Q")


@dataclass
class CountedFlow:
    """An IPv4 UDP flow from the client to the internet host through the WAN, at ``rate`` packets
    a second; its receiver (in the internet host's namespace) notes every sequence number."""

    hb: HeartbeatTopology
    rate: int = 500
    sent: int = 0
    received: set[int] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> CountedFlow:
        def rx_setup(s: socket.socket) -> None:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
            s.bind((INTERNET, FLOW_PORT))
            s.settimeout(0.2)

        self._rx = socket_in(self.hb.nets.ns("internet"), socket.AF_INET, socket.SOCK_DGRAM, setup=rx_setup)
        self._tx = socket_in(self.hb.nets.ns("client"), socket.AF_INET, socket.SOCK_DGRAM)
        self._threads = [threading.Thread(target=self._receive, daemon=True),
                         threading.Thread(target=self._send, daemon=True)]
        for t in self._threads:
            t.start()
        return self

    def _send(self) -> None:
        interval = 1 / self.rate
        at = time.monotonic()
        while not self._stop.is_set():
            try:
                self._tx.sendto(_SEQ.pack(self.sent), (INTERNET, FLOW_PORT))
            except OSError:
                pass  # counted as lost: it was sent from the flow's point of view
            self.sent += 1
            at += interval
            time.sleep(max(0.0, at - time.monotonic()))

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._rx.recv(64)
            except TimeoutError:
                continue
            if len(data) == _SEQ.size:
                self.received.add(_SEQ.unpack(data)[0])

    def mark(self) -> int:
        return self.sent

    def lost_between(self, first: int, last: int) -> list[int]:
        """Sequence numbers in [first, last) that never arrived."""
        return [s for s in range(first, last) if s not in self.received]

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join()
        self._tx.close()
        self._rx.close()


__all__ = ["CountedFlow", "GW1_6", "INTERNET6", "LAN6_PREFIX", "blackout", "build", "end_blackout", "write_config"]
