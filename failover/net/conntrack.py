"""Flows moved, not stranded: drop exactly the conntrack entries that pin a flow to a dead path.

Why: a router that masquerades on its WAN keeps each flow's NAT binding in conntrack. When the
failover rule sends traffic through an alternate gateway, a flow NATed to the WAN address keeps
that source address and its replies go to the dead WAN: stranded until TCP gives up (minutes).
On failback the mirror image: a flow started during failover was not NATed by the router (the
alternate gateway NATs it), and without its entry going it now leaves the WAN with a private
source that the ISP drops. Deleting the entry lets the next packet make a fresh one on the
current path, NATed (or not) as that path needs:

* TCP is **reset**: the new source address is not the connection the server knows, the server
  answers with a RST that reaches the client at once, instead of retransmissions into a void;
* UDP and ICMP are **moved**: the same client socket carries on over the new path.

For ``masquerade`` (not ``snat``) the kernel itself kills the entry when a packet of the flow
leaves by another interface (``nf_nat_oif_changed``, the packet is dropped), so the failover
direction would heal on the client's next packet; a static ``snat`` to the WAN address does not,
and nothing in the kernel helps the failback direction (un-NATed entries). Clean-up here covers
both at the transition, without waiting for a packet to be sacrificed.

Nothing can move a TCP connection across two NATs with different public addresses; the point is
that it fails in a round trip, not after minutes. Never a table flush: everything else (LAN-local
flows, the router's own connections, port forwards, other interfaces) stays.

At router scale (10^5 entries) the clean-up is one kernel-side request: the router's own
nftables rules mark each connection by the path it takes (:mod:`failover.net.flowmarks`, loaded by
:class:`FlowMover`) and :func:`clean_marked` deletes by mark (:mod:`failover.net.ctnetlink`); the
marks encode the selection below. Without ``nft`` (or on a kernel too old for a filtered delete)
:func:`clean` does it the slow way: a pure core (:func:`select`, no I/O) over a thin netlink shell
(:class:`ConntrackTable` over pyroute2 0.9's ``NFCTSocket``, which dumps and deletes fine, about
1.5 ms of CPU per entry removed; deletion names the entry by original tuple, zone and ``CTA_ID``, so an
entry re-created with the same tuple after the dump is normally not touched; the kernel derives
the id from the entry's memory, so a re-creation in the same slot can reuse it, and losing that
fresh entry is harmless: the next packet makes it again). :class:`FlowMover` is what the sidecar
holds: it watches the daemon's ``state`` and acts once per transition, only after the daemon
reports the rule in its new state (``rule=present`` on failover, ``rule=absent`` on failback), so
the new route is in place before any entry goes. Lunatik has no conntrack API; that is why this
runs in the sidecar and not in the daemon.

Both families, each on its own: IPv4 and IPv6 fail over and back separately (the daemon's
``failover``/``rule`` and ``failover6``/``rule6``), so each family's transition cleans that
family's entries only, by the same selection (IPv6 connections NATed out of the WAN are NAT66'd,
as a ULA LAN behind a router that masquerades IPv6 has them; a global prefix routed as is holds
no NAT binding and is never selected on failover).

Selection (per family; the router's own addresses come from its interfaces at transition time):

* **failover** (WAN failed): entries whose reply goes to a WAN address while the original source
  is not that address, i.e. flows source-NATed to the WAN (masquerade or SNAT).
* **failback** (alternate path left): entries not NATed by the router at all, from a source in the
  LAN interface's prefixes (not one of the router's own addresses) to a unicast destination that
  is neither in those prefixes nor one of the router's own addresses, created since failover began
  (``CTA_TIMESTAMP_START``; :class:`FlowMover` turns ``net.netfilter.nf_conntrack_timestamp`` on).
  Without a known start (the sidecar started while failover was already on) every such entry goes.

Failover moving from one alternate to another needs nothing here: the router does not NAT on the
LAN, so its entries hold no binding to the gateway (the gateways' own NAT resets TCP anyway).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from pathlib import Path
from typing import Any, Literal

from . import ctnetlink, flowmarks

__all__ = [
    "Addresses", "ConntrackTable", "Flow", "FlowMover", "Transition", "read_addresses", "select",
]

log = logging.getLogger("failover.conntrack")

Transition = Literal["failover", "failback"]
Family = Literal[4, 6]
Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

TIMESTAMP_SYSCTL = Path("/proc/sys/net/netfilter/nf_conntrack_timestamp")

_NOT_UNICAST = (
    IPv4Network("0.0.0.0/8"), IPv4Network("127.0.0.0/8"), IPv4Network("169.254.0.0/16"),
    IPv4Network("224.0.0.0/4"), IPv4Network("240.0.0.0/4"),  # multicast; reserved and broadcast
    IPv6Network("::/127"), IPv6Network("fe80::/10"), IPv6Network("ff00::/8"),  # unspecified, loopback; link-local; multicast
)
_SOCKET_FAMILY = {4: socket.AF_INET, 6: socket.AF_INET6}


# -- pure core --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Flow:
    """One conntrack entry: both tuples, and what deleting it exactly needs."""

    proto: int
    orig_src: Address
    orig_dst: Address
    reply_src: Address
    reply_dst: Address
    sport: int | None = None          # original direction (TCP, UDP, SCTP, ...)
    dport: int | None = None
    icmp: tuple[int, int, int] | None = None  # id, type, code of the original direction (ICMP or ICMPv6)
    id: int | None = None             # CTA_ID
    zone: int | None = None           # CTA_ZONE
    start_ns: int | None = None       # CTA_TIMESTAMP_START (CLOCK_REALTIME), if stamping is on

    @property
    def family(self) -> Family:
        return self.orig_src.version

    @property
    def src_nat(self) -> bool:
        return self.reply_dst != self.orig_src

    @property
    def dst_nat(self) -> bool:
        return self.reply_src != self.orig_dst

    def __str__(self) -> str:
        name = {socket.IPPROTO_TCP: "tcp", socket.IPPROTO_UDP: "udp", socket.IPPROTO_ICMP: "icmp",
                socket.IPPROTO_ICMPV6: "icmpv6"}.get(self.proto, str(self.proto))
        ports = f" {self.sport}->{self.dport}" if self.sport is not None else ""
        nat = f" nat {self.reply_dst}" if self.src_nat else ""
        return f"{name} {self.orig_src}->{self.orig_dst}{ports}{nat}"


@dataclass(frozen=True, slots=True)
class Addresses:
    """The router's view at a transition: its WAN addresses, all its addresses, the LAN's prefixes
    (either family, or both)."""

    wan: frozenset[Address]
    local: frozenset[Address]
    lan: tuple[Network, ...]

    @classmethod
    def of(cls, wan: Iterable[str], local: Iterable[str], lan: Iterable[str]) -> Addresses:
        w = frozenset(ip_address(a) for a in wan)
        return cls(w, frozenset(ip_address(a) for a in local) | w,
                   tuple(ip_network(p, strict=False) for p in lan))

    def in_lan(self, a: Address) -> bool:
        return any(a in n for n in self.lan)


def _nated_to_wan(f: Flow, a: Addresses) -> bool:
    return f.reply_dst in a.wan and f.orig_src not in a.wan


def _via_alternate(f: Flow, a: Addresses, since_ns: int | None) -> bool:
    if f.src_nat or f.dst_nat:
        return False  # NATed by the router: not a flow it forwarded through the alternate as is
    if f.orig_src in a.local or not a.in_lan(f.orig_src):
        return False  # the router's own, or not from the LAN
    d = f.orig_dst
    if d in a.local or a.in_lan(d) or any(d in n for n in _NOT_UNICAST):
        return False  # LAN-local, router-local, multicast/broadcast: never left the LAN
    if any(n.version == 4 and d == n.broadcast_address for n in a.lan):
        return False
    if since_ns is not None and (f.start_ns is None or f.start_ns < since_ns):
        return False  # existed before failover began: it was not set up through the alternate
    return True


def select(transition: Transition, flows: Iterable[Flow], addrs: Addresses,
           since_ns: int | None = None, family: Family | None = None) -> list[Flow]:
    """The entries to delete after ``transition`` of ``family`` (None: either); everything else stays.

    ``since_ns``: for failback, when failover began (CLOCK_REALTIME ns, compared with the entries'
    start stamps); None when unknown, then the time filter is off.
    """
    if transition == "failover":
        chosen = [f for f in flows if _nated_to_wan(f, addrs)]
    elif transition == "failback":
        chosen = [f for f in flows if _via_alternate(f, addrs, since_ns)]
    else:
        raise ValueError(f"unknown transition {transition!r}: failover or failback")
    return [f for f in chosen if family is None or f.family == family]


# -- netlink shell ----------------------------------------------------------------------------


def _tuple_fields(t: Any) -> dict[str, Any]:
    ip, proto = t.get_attr("CTA_TUPLE_IP"), t.get_attr("CTA_TUPLE_PROTO")
    v = "V4" if ip.get_attr("CTA_IP_V4_SRC") is not None else "V6"
    out = {
        "src": ip.get_attr(f"CTA_IP_{v}_SRC"), "dst": ip.get_attr(f"CTA_IP_{v}_DST"),
        "proto": proto.get_attr("CTA_PROTO_NUM"),
        "sport": proto.get_attr("CTA_PROTO_SRC_PORT"), "dport": proto.get_attr("CTA_PROTO_DST_PORT"),
    }
    icmp = {socket.IPPROTO_ICMP: "CTA_PROTO_ICMP", socket.IPPROTO_ICMPV6: "CTA_PROTO_ICMPV6"}.get(out["proto"])
    if icmp:
        out["icmp"] = (proto.get_attr(f"{icmp}_ID"), proto.get_attr(f"{icmp}_TYPE"), proto.get_attr(f"{icmp}_CODE"))
    return out


def flow_from_message(msg: Any) -> Flow | None:
    """A ctnetlink dump message (IPv4 or IPv6) as a :class:`Flow`; None for what cannot be read."""
    try:
        o, r = _tuple_fields(msg.get_attr("CTA_TUPLE_ORIG")), _tuple_fields(msg.get_attr("CTA_TUPLE_REPLY"))
        stamp = msg.get_attr("CTA_TIMESTAMP")
        return Flow(
            proto=o["proto"], orig_src=ip_address(o["src"]), orig_dst=ip_address(o["dst"]),
            reply_src=ip_address(r["src"]), reply_dst=ip_address(r["dst"]),
            sport=o["sport"], dport=o["dport"], icmp=o.get("icmp"),
            id=msg.get_attr("CTA_ID"), zone=msg.get_attr("CTA_ZONE"),
            start_ns=stamp.get_attr("CTA_TIMESTAMP_START") if stamp is not None else None,
        )
    except (AttributeError, TypeError, ValueError):
        return None


class ConntrackTable:
    """The router's conntrack table (of the calling thread's network namespace), one family's entries."""

    def __init__(self, family: Family = 4) -> None:
        from pyroute2 import NFCTSocket  # imported here: the pure core needs no pyroute2

        self.family = family
        self._sock = NFCTSocket(_SOCKET_FAMILY[family])

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> ConntrackTable:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def flows(self) -> list[Flow]:
        out = []
        for msg in self._sock.dump():
            f = flow_from_message(msg)
            if f is not None:
                out.append(f)
        return out

    def delete(self, f: Flow) -> bool:
        """Delete exactly this entry; False if it is already gone (or was replaced since the dump)."""
        from pyroute2.netlink.exceptions import NetlinkError
        from pyroute2.netlink.nfnetlink.nfctsocket import NFCTAttrTuple

        icmp = dict(zip(("icmp_id", "icmp_type", "icmp_code"), f.icmp)) if f.icmp else {}
        t = NFCTAttrTuple(family=_SOCKET_FAMILY[f.family], saddr=str(f.orig_src), daddr=str(f.orig_dst),
                          proto=f.proto, sport=f.sport, dport=f.dport, **icmp)
        try:
            self._sock.entry("del", tuple_orig=t, id=f.id, zone=f.zone)
        except NetlinkError as e:
            if e.code == errno.ENOENT:
                return False
            raise
        return True


def read_addresses(wan_if: str, lan_if: str, family: Family = 4) -> Addresses:
    """The router's addresses of ``family`` now: the WAN interface's, all of them, the LAN's
    prefixes (for IPv6 the global and ULA ones: a link-local source never leaves the LAN)."""
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        names = {link["index"]: link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}
        wan, local, lan = [], [], []
        for a in ipr.get_addr(family=_SOCKET_FAMILY[family]):
            addr, name = a.get_attr("IFA_ADDRESS"), names.get(a["index"])
            local.append(addr)
            if name == wan_if:
                wan.append(addr)
            if name == lan_if and not ip_address(addr).is_link_local:
                lan.append(f"{addr}/{a['prefixlen']}")
    return Addresses.of(wan, local, lan)


def enable_timestamps(path: Path = TIMESTAMP_SYSCTL) -> bool:
    """Turn conntrack start stamps on in this namespace; False if conntrack is not loaded/allowed."""
    try:
        if path.read_text().strip() != "1":
            path.write_text("1\n")
        return True
    except OSError:
        return False


@dataclass(frozen=True, slots=True)
class Report:
    transition: Transition
    removed: list[Flow]    # the entries deleted one by one (dump method); empty for "mark"
    seen: int              # entries in the table before
    gone: int              # selected, but already gone when deleted
    error: str | None = None
    method: str = "dump"   # "mark": one kernel-side delete by ct mark; "dump": read, select, delete
    deleted: int | None = None  # mark method: the table's shrinkage across the request
    family: Family = 4

    @property
    def count(self) -> int:
        return self.deleted if self.deleted is not None else len(self.removed)

    def message(self) -> str:
        # IPv4's words as they always were; IPv6's name their family.
        name = self.transition if self.family == 4 else f"IPv6 {self.transition}"
        if self.error:
            return f"flows: {name} conntrack clean-up failed: {self.error}"
        what = "NATed to the WAN" if self.transition == "failover" else "routed via the alternate gateway"
        if self.method == "mark":
            return (f"flows: {name}: removed {self.count} of {self.seen} conntrack entries "
                    f"{what} (marked {_mark_of(self.transition):#x}, one kernel-side delete)")
        sample = ", ".join(str(f) for f in self.removed[:3]) + (" ..." if len(self.removed) > 3 else "")
        return (f"flows: {name}: removed {len(self.removed)} of {self.seen} conntrack entries "
                f"{what}" + (f" ({sample})" if sample else ""))


def clean(transition: Transition, wan_if: str, lan_if: str, since_ns: int | None = None,
          family: Family = 4) -> Report:
    """Blocking, without marks: read ``family``'s addresses, dump its entries, select, delete one
    by one. Never a flush."""
    addrs = read_addresses(wan_if, lan_if, family)
    with ConntrackTable(family) as table:
        flows = table.flows()
        chosen = select(transition, flows, addrs, since_ns, family)
        log.debug("%s: %s; %d entries, %d chosen", transition, addrs, len(flows), len(chosen))
        removed, gone = [], 0
        for f in chosen:
            if table.delete(f):
                removed.append(f)
            else:
                gone += 1
    return Report(transition, removed, len(flows), gone, family=family)


def _mark_of(transition: Transition) -> int:
    return flowmarks.WAN_MARK if transition == "failover" else flowmarks.ALTERNATE_MARK


def clean_marked(transition: Transition, wan_if: str = "", lan_if: str = "",
                 since_ns: int | None = None, family: Family = 4) -> Report:
    """Blocking: one ctnetlink request deleting ``family``'s entries the router marked for the
    failed path.

    The marks (:mod:`failover.net.flowmarks`) already encode the selection: interfaces and start
    times are not needed. The count is the table's shrinkage across the request (entries made or
    expiring meanwhile blur it by a few).
    """
    mark = _mark_of(transition)
    before = ctnetlink.count()
    ctnetlink.delete_by_mark(mark, mark, family=_SOCKET_FAMILY[family])
    after = ctnetlink.count()
    deleted = max(0, before - after) if before is not None and after is not None else None
    return Report(transition, [], before or 0, 0, method="mark", deleted=deleted, family=family)


def _install_marks(wan_if: str, lan_if: str) -> bool:
    if not ctnetlink.kernel_supports_mark_delete():
        log.warning("flows: kernel too old for a delete by mark; conntrack clean-up dumps the table")
        return False
    return flowmarks.install(wan_if, lan_if)


@dataclass
class _Track:
    """One family's transitions as the mover last acted on them."""

    family: Family
    active: bool | None = None      # failover as last acted upon; None: not known yet
    off_ns: int | None = None       # last time failover was seen off with stamping on
    since_ns: int | None = None     # when the current failover began (lower bound)


class FlowMover:
    """The sidecar's hook: feed it every daemon ``state``; it cleans once per transition of
    each family (IPv4: ``failover``/``rule``; IPv6: ``failover6``/``rule6``), that family's
    entries only.

    Acts only when the daemon reports the rule in its new place, in order, off the event loop
    (netlink is blocking), one clean-up at a time. On a router (the WAN interface exists) it
    first loads the marking rules (:mod:`failover.net.flowmarks`); with them in place each clean-up is
    one kernel-side delete by mark (:func:`clean_marked`), the GIL released throughout, so the
    measuring plane keeps its pace. Without ``nft`` or on a kernel too old for a filtered delete it
    falls back to dumping the table and deleting entry by entry (:func:`clean`). A cleaner is
    called ``cleaner(transition, wan_if, lan_if, since_ns, family)``.
    """

    def __init__(self, wan_if: str, lan_if: str,
                 on_report: Callable[[Report], None] | None = None,
                 cleaner: Callable[..., Report] | None = None,
                 stamps: Callable[[], bool] = enable_timestamps,
                 marks: Callable[[str, str], bool] | None = None) -> None:
        self.wan_if, self.lan_if = wan_if, lan_if
        self.on_report = on_report
        self._clean, self._stamps = cleaner, stamps
        # An explicit cleaner (tests) loads no rules unless told how.
        self._marks = marks if marks is not None else (_install_marks if cleaner is None else None)
        self.marking = False                 # the marking rules are loaded: clean by mark
        self._marks_tried = False
        self.tracks = {4: _Track(4), 6: _Track(6)}
        self._stamping = False               # stamps turned on lazily, only on a real router
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task] = set()

    @property
    def active(self) -> bool | None:
        """IPv4 failover as last acted upon (None: not known yet)."""
        return self.tracks[4].active

    def observe(self, d: Any) -> Transition | None:
        """A daemon state (``failover``, ``rule``, ``failover6``, ``rule6``); returns the transition
        it started, if any (IPv4's if both families moved)."""
        if d is None:
            return None
        if not self._marks_tried:
            self._marks_tried = True
            if self._marks is not None and self._on_router():
                self._spawn(self._load_marks())
        v4 = self._observe(self.tracks[4], d.failover, d.rule)
        v6 = self._observe(self.tracks[6], getattr(d, "failover6", False), getattr(d, "rule6", False))
        return v4 or v6

    def _observe(self, t: _Track, failover: bool, rule: bool) -> Transition | None:
        if failover and rule and t.active is not True:
            # From a failover-off state seen with stamping on, every entry made through the
            # alternate carries a later stamp; from start-up (active None) that is unknown.
            t.since_ns = t.off_ns if t.active is False else None
            return self._start(t, "failover", True)
        if not failover and not rule:
            if t.active:
                return self._start(t, "failback", False)
            t.active = False
            self._stamping = self._stamping or self._turn_stamps_on()
            t.off_ns = time.time_ns() if self._stamping else None
        return None

    def _turn_stamps_on(self) -> bool:
        # Only where the WAN interface is: a sidecar pointed at a test daemon on a workstation
        # leaves that machine's sysctls alone.
        return self._on_router() and self._stamps()

    def _on_router(self) -> bool:
        return Path(f"/sys/class/net/{self.wan_if}").exists()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _load_marks(self) -> None:
        async with self._lock:  # a clean-up queued behind this one already cleans by mark
            assert self._marks is not None
            try:
                self.marking = await asyncio.to_thread(self._marks, self.wan_if, self.lan_if)
            except Exception as e:  # never fatal: the dump path still works
                log.warning("flows: loading the marking rules failed: %s: %s", type(e).__name__, e)

    def _start(self, t: _Track, transition: Transition, active: bool) -> Transition:
        t.active = active
        since = t.since_ns if transition == "failback" else None
        self._spawn(self._run(transition, since, t.family))
        return transition

    async def _run(self, transition: Transition, since_ns: int | None, family: Family) -> None:
        async with self._lock:
            cleaner = self._clean or (clean_marked if self.marking else clean)
            try:
                report = await asyncio.to_thread(cleaner, transition, self.wan_if, self.lan_if, since_ns, family)
            except Exception as e:  # netlink refused, no conntrack: reported, never fatal
                report = Report(transition, [], 0, 0, error=f"{type(e).__name__}: {e}", family=family)
            (log.warning if report.error else log.info)("%s", report.message())
            if self.on_report is not None:
                self.on_report(report)

    async def wait(self) -> None:
        """Until every clean-up started so far is done (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
