"""A topology as data: nodes, the segments that join them, addresses, routes and processes.

Nothing here runs anything. ``failover.lab.builder`` turns a ``Topology`` into network namespaces,
veth links, bridges, addresses, routes and processes; ``failover.lab.compose`` turns the lab's into
docker-compose.yml. A new node, link or target is a change to the data, not to either builder.

Every part is dual-stack: an interface may carry IPv6 addresses beside its IPv4 one, a route's
family is its gateway's, a forwarding node forwards both families and NAT covers both (one
nftables ``inet`` table).

A segment with two ends and no bridge is one veth pair; a segment with a bridge is a bridge device
on the bridge's node with one veth port per end (a LAN). Processes name ``failover`` as their
program; the builder runs it as this interpreter's ``python -m failover.cli``, compose as the
container's ``failover``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from dataclasses import dataclass


@dataclass(frozen=True)
class Nat:
    """Source NAT for traffic leaving ``oifname``: ``masquerade`` (both families), or
    ``snat to ADDRESS`` (the address's family only)."""

    oifname: str
    action: str = "masquerade"

    def __post_init__(self) -> None:
        if self.action != "masquerade":
            verb, _, address = self.action.partition(" to ")
            if verb != "snat":
                raise ValueError(f"nat {self.action!r}: masquerade or snat to ADDRESS")
            ipaddress.ip_address(address)

    def rule(self) -> str:
        """The rule in an nftables ``inet`` table (snat names its family there)."""
        if self.action == "masquerade":
            return f'oifname "{self.oifname}" masquerade'
        address = ipaddress.ip_address(self.action.partition(" to ")[2])
        family = "ip" if address.version == 4 else "ip6"
        return f'oifname "{self.oifname}" snat {family} to {address}'


@dataclass(frozen=True)
class Node:
    """One network namespace, ``<prefix>-<name>``."""

    name: str
    forwarding: bool = False
    # Failover makes paths asymmetric on purpose: where that is in play, reverse-path filtering goes.
    rp_filter: bool = True
    nat: tuple[Nat, ...] = ()


@dataclass(frozen=True)
class Iface:
    """One end of a segment: interface ``name`` on ``node``, with an IPv4 address (CIDR) or none,
    and any IPv6 addresses (CIDR; added without duplicate address detection: usable at once)."""

    node: str
    name: str
    address: str | None = None
    # A fixed ifindex: a veth whose ifindex equals its peer's (2 and 2 in two fresh namespaces) is
    # not "urgent" for the kernel's linkwatch, which then delays its carrier changes by up to 1 s.
    index: int | None = None
    port: str | None = None  # on a bridged segment: the bridge-side veth's name (default <bridge>p<n>)
    addresses6: tuple[str, ...] = ()


@dataclass(frozen=True)
class Segment:
    name: str
    ends: tuple[Iface, ...]
    bridge: Iface | None = None
    net: str | None = None  # the IPv4 network it carries, when declared (default: its first address's)

    def __post_init__(self) -> None:
        if self.bridge is None and len(self.ends) != 2:
            raise ValueError(f"segment {self.name}: a veth pair has two ends, got {len(self.ends)}")

    @property
    def prefix(self) -> str:
        """The IPv4 network the segment's addresses are in."""
        if self.net:
            return self.net
        for i in (self.bridge, *self.ends):
            if i is not None and i.address:
                return str(ipaddress.IPv4Interface(i.address).network)
        raise ValueError(f"segment {self.name} has no address")

    @property
    def prefixes6(self) -> frozenset[ipaddress.IPv6Network]:
        """The IPv6 networks the segment's addresses are in."""
        return frozenset(ipaddress.IPv6Interface(a).network
                         for i in (self.bridge, *self.ends) if i is not None for a in i.addresses6)

    def carries(self, address: str) -> bool:
        """``address`` (either family) is in one of the segment's networks."""
        a = ipaddress.ip_address(address)
        if a.version == 6:
            return any(a in n for n in self.prefixes6)
        return a in ipaddress.IPv4Network(self.prefix)

    def port_name(self, end: Iface) -> str:
        assert self.bridge is not None
        return end.port or f"{self.bridge.name}p{self.ends.index(end)}"


@dataclass(frozen=True)
class Route:
    """A route in ``node``'s main table; its family is its gateway's (``via``)."""

    node: str
    dst: str  # "default" or a prefix
    via: str
    dev: str | None = None

    def __post_init__(self) -> None:
        if self.dst != "default" and ipaddress.ip_network(self.dst, strict=False).version != self.family:
            raise ValueError(f"route {self.dst} via {self.via}: the two are of different families")

    @property
    def family(self) -> int:
        return ipaddress.ip_address(self.via).version

    def args(self) -> list[str]:
        """What follows ``ip [-6] route add``."""
        return [self.dst, "via", self.via, *(["dev", self.dev] if self.dev else [])]


@dataclass(frozen=True)
class Process:
    """A program in a node (``node=None``: on the host), started after the network is built."""

    name: str
    node: str | None
    argv: tuple[str, ...]
    listen: int | None = None  # the builder waits until something in the node listens on this TCP port
    env: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Topology:
    prefix: str
    nodes: tuple[Node, ...] = ()
    segments: tuple[Segment, ...] = ()
    routes: tuple[Route, ...] = ()
    processes: tuple[Process, ...] = ()

    def __post_init__(self) -> None:
        names = [n.name for n in self.nodes]
        if len(set(names)) != len(names):
            raise ValueError(f"node names repeat: {names}")
        known = set(names)
        for s in self.segments:
            for i in (s.bridge, *s.ends):
                if i is not None and i.node not in known:
                    raise ValueError(f"segment {s.name}: unknown node {i.node!r}")
        for x in (*self.routes, *self.processes):
            if x.node is not None and x.node not in known:
                raise ValueError(f"{x}: unknown node {x.node!r}")
        procs = [p.name for p in self.processes]
        if len(set(procs)) != len(procs):
            raise ValueError(f"process names repeat: {procs}")

    def ns(self, node: str) -> str:
        return f"{self.prefix}-{node}"

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def segment(self, name: str) -> Segment:
        return next(s for s in self.segments if s.name == name)

    def process(self, name: str) -> Process:
        return next(p for p in self.processes if p.name == name)

    # -- variations (a topology is frozen: each returns a new one) --------------------------------

    def adding(self, *, nodes=(), segments=(), routes=(), processes=()) -> Topology:
        return dataclasses.replace(self, nodes=(*self.nodes, *nodes), segments=(*self.segments, *segments),
                                   routes=(*self.routes, *routes), processes=(*self.processes, *processes))

    def replacing_process(self, process: Process) -> Topology:
        return dataclasses.replace(
            self, processes=tuple(process if p.name == process.name else p for p in self.processes))


__all__ = ["Iface", "Nat", "Node", "Process", "Route", "Segment", "Topology"]
