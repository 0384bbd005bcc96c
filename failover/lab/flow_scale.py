"""Conntrack at router scale: tens of thousands of real flows, and observers that owe the product nothing.

Used by test_flows_at_scale.py and bench/flow_cleanup.py on failover/lab/flowlab.py.

* :func:`flood`: real UDP flows, one datagram each, from the client namespace through the router
  (a socket made inside the namespace, one destination port per flow). The router's conntrack
  makes the entries itself: NATed to the WAN when routed out of wan0, not NATed when the
  destination is the router (LAN-local) or when routed back out of the LAN to an alternate.
* :class:`Watch`: a thread holding a rtnetlink socket in the router (the failover rule appearing or
  going, timed at receipt) and the router's ``nf_conntrack_count`` (the kernel's own count, what
  ``conntrack -C`` prints), read every 0.5 ms: when the table shrank to a count, after the rule.
* :func:`table`: the router's table as Debian's ``conntrack -L`` lists it (original tuple, reply
  destination, mark, id), to check afterwards exactly which entries went.
"""

from __future__ import annotations

import os
import re
import select
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .nsocket import run_in, socket_in

RTMGRP_IPV4_RULE = 0x80
RTM_NEWRULE, RTM_DELRULE = 32, 33
FRA_PRIORITY = 6
UDP_TIMEOUT_S = 900   # the flows must outlive the measurement (the kernel's default: 30 s unreplied)


def long_udp_timeouts(nets, role: str = "router") -> None:
    for key in ("net.netfilter.nf_conntrack_udp_timeout", "net.netfilter.nf_conntrack_udp_timeout_stream"):
        nets.sysctl(role, key, UDP_TIMEOUT_S)


def flood(netns: str, dst: str, ports: range, *, burst: int = 200, pause_s: float = 0.002) -> None:
    """One UDP datagram from the namespace to ``dst`` on each port: one conntrack entry each.

    In bursts, so the veth's backlog (1,000 packets) does not drop any; a re-send of a port only
    refreshes its entry, so calling again fills gaps.
    """
    s = socket_in(netns, socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for i, port in enumerate(ports):
            try:
                s.sendto(b"x", (dst, port))
            except ConnectionRefusedError:  # an ICMP error for an earlier datagram: harmless
                s.sendto(b"x", (dst, port))
            if i % burst == burst - 1:
                time.sleep(pause_s)
    finally:
        s.close()


def fill(netns: str, watch: Watch, dst: str, ports: range, at_least: int) -> None:
    """:func:`flood` until the router holds ``at_least`` entries (a lost datagram is re-sent)."""
    for _ in range(5):
        flood(netns, dst, ports)
        if watch.count() >= at_least:
            return
    raise AssertionError(f"only {watch.count()} conntrack entries in the router, wanted {at_least}")


def count_fd(netns: str) -> int:
    """An fd on the namespace's nf_conntrack_count (a /proc/sys/net file opened inside the
    namespace keeps reading that namespace)."""
    return run_in(netns, os.open, "/proc/sys/net/netfilter/nf_conntrack_count", os.O_RDONLY)


def read_count(fd: int) -> int:
    return int(os.pread(fd, 32, 0))


@dataclass
class Sample:
    t: float      # time.monotonic() at reading
    count: int


class Watch:
    """Rule events and the table's size in the router, timed on this machine's monotonic clock."""

    def __init__(self, netns: str, priority: int) -> None:
        self.priority = priority
        self.on_count: Callable[[float, int], None] | None = None  # called from the watch thread
        self.fd = count_fd(netns)

        def setup(s: socket.socket) -> None:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            s.bind((0, RTMGRP_IPV4_RULE))

        self.sock = socket_in(netns, socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE, setup=setup)
        self.rules: list[tuple[float, str]] = []      # (t, "rule" | "unrule")
        self.samples: list[Sample] = [Sample(time.monotonic(), read_count(self.fd))]
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.sock], [], [], 0.0005)
            t = time.monotonic()
            if ready:
                for kind in self._rule_events(self.sock.recv(1 << 16)):
                    with self._lock:
                        self.rules.append((t, kind))
            n = read_count(self.fd)
            if n != self.samples[-1].count:
                with self._lock:
                    self.samples.append(Sample(t, n))
                if self.on_count is not None:
                    self.on_count(t, n)

    def _rule_events(self, data: bytes):
        off = 0
        while off + 16 <= len(data):
            length, kind = struct.unpack_from("=IH", data, off)
            if length < 16:
                return
            if kind in (RTM_NEWRULE, RTM_DELRULE):
                a = off + 16 + 12  # struct fib_rule_hdr
                while a + 4 <= off + length:
                    alen, atype = struct.unpack_from("=HH", data, a)
                    if alen < 4:
                        break
                    if atype == FRA_PRIORITY and struct.unpack_from("=I", data, a + 4)[0] == self.priority:
                        yield "rule" if kind == RTM_NEWRULE else "unrule"
                    a += (alen + 3) & ~3
            off += (length + 3) & ~3

    def count(self) -> int:
        return read_count(self.fd)

    def rule_time(self, kind: str, after: float, timeout: float = 10.0) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for t, k in self.rules:
                    if k == kind and t >= after:
                        return t
            time.sleep(0.005)
        raise TimeoutError(f"no {kind} event from the router's rtnetlink")

    def shrunk_to(self, target: int, after: float, timeout: float) -> float | None:
        """When the table first held at most ``target`` entries after ``after``; None if not in time."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                for s in self.samples:
                    if s.t >= after and s.count <= target:
                        return s.t
            if time.monotonic() > deadline:
                return None
            time.sleep(0.005)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()
        os.close(self.fd)


def key(e: Entry) -> tuple:
    return e.proto, e.src, e.dst, e.sport, e.dport


def gone_after(watch: Watch, before: list[Entry], after: list[Entry], doomed: set, t_rule: float) -> float:
    """Seconds from the rule to the table holding none of ``doomed`` (by the kernel's count).

    The count reaches ``len(before) - len(doomed) + new`` (``new``: entries in ``after`` that
    were not in ``before``, made since — the router's own connections) only once at most the
    few entries made after that moment can still be doomed ones; ``after`` (conntrack -L)
    shows none is left at all.
    """
    assert [e for e in after if key(e) in doomed] == [], "entries of the failed path left"
    new = len({key(e) for e in after} - {key(e) for e in before})
    t = watch.shrunk_to(len(before) - len(doomed) + new, after=t_rule, timeout=0)
    assert t is not None, f"the table never shrank by {len(doomed)} (now {watch.count()} of {len(before)})"
    return t - t_rule


def touched(before: list[Entry], after: list[Entry], doomed: set) -> tuple[int, list[Entry]]:
    """UDP entries of ``before`` that should have stayed: how many, and those gone or replaced.

    UDP only: the router's TCP entries include the host's short control connections to the
    gateways, which the kernel expires on its own within seconds.
    """
    still = {(key(e), e.id) for e in after}
    kept = [e for e in before if key(e) not in doomed and e.proto == "udp"]
    return len(kept), [e for e in kept if (key(e), e.id) not in still]


@dataclass(frozen=True)
class Entry:
    proto: str
    src: str
    dst: str
    sport: int
    dport: int
    reply_dst: str
    mark: int
    id: int


_FIELD = re.compile(r"(\w+)=(\S+)")


def table(netns: str, family: str = "ipv4") -> list[Entry]:
    """The namespace's conntrack table of ``family`` (``ipv4`` or ``ipv6``), by Debian's conntrack tool."""
    out = subprocess.run(["ip", "netns", "exec", netns, "conntrack", "-L", "-f", family, "-o", "id"],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    entries = []
    for line in out.splitlines():
        fields = _FIELD.findall(line)
        if not fields:
            continue
        first: dict[str, str] = {}
        second: dict[str, str] = {}
        rest: dict[str, str] = {}
        for k, v in fields:
            if k in ("src", "dst", "sport", "dport"):
                (first if k not in first else second).setdefault(k, v)
            else:
                rest[k] = v
        entries.append(Entry(line.split()[0], first["src"], first["dst"], int(first.get("sport", 0)),
                             int(first.get("dport", 0)), second.get("dst", ""), int(rest.get("mark", 0)),
                             int(rest.get("id", 0))))
    return entries


def conntrack_count(netns: str) -> int:
    out = subprocess.run(["ip", "netns", "exec", netns, "conntrack", "-C"],
                         capture_output=True, text=True, check=True, timeout=30).stdout
    return int(out.strip())
