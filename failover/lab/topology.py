"""The lab's topology, read from conf/lab.toml: pure data, derived addresses, no I/O but reading.

``LabTopology.network`` turns the file into the engine's data (``spec.Topology``: nodes, segments,
routes, NAT, processes); both labs are made from that one value: the namespace lab by
``builder.build`` and docker-compose.yml by ``compose.render``, so the two cannot drift apart. A
gateway (or any node) more is a change to conf/lab.toml or to ``network``, not to a builder.
"""

from __future__ import annotations

import ipaddress
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..config import Config
from ..package_data import conf_dir
from . import spec
from .spec import Iface, Nat, Node, Process, Route, Topology
from .targets import ICMP_HOSTS, icmp_hosts, wan_targets

DEFAULT_LAB = conf_dir() / "lab.toml"
API_PORT = 8080
CONTROL_PORT = 7070
STAMP_PORT = 862


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Segment(_Model):
    prefix: str
    prefix6: str | None = None   # the segment's IPv6 network (a ULA /64): the lab is dual-stack with it

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        return str(ipaddress.IPv4Network(v))

    @field_validator("prefix6")
    @classmethod
    def _prefix6(cls, v: str | None) -> str | None:
        return None if v is None else str(ipaddress.IPv6Network(v))

    def contains(self, address: str) -> bool:
        a = ipaddress.ip_address(address)
        return a in ipaddress.ip_network(self.prefix6 if a.version == 6 and self.prefix6 else self.prefix)

    @property
    def length(self) -> int:
        return ipaddress.IPv4Network(self.prefix).prefixlen

    def cidr6(self, address: str | None) -> tuple[str, ...]:
        """``address`` with the segment's IPv6 prefix length, for an interface (none without IPv6)."""
        if address is None or self.prefix6 is None:
            return ()
        return (f"{address}/{ipaddress.IPv6Network(self.prefix6).prefixlen}",)

    def addresses6(self) -> list[str | None]:
        """The segment's IPv6 addresses in the file (None where one is missing)."""
        return []


class Lan(Segment):
    router: str
    client: str
    router6: str | None = None
    client6: str | None = None

    def addresses6(self) -> list[str | None]:
        return [self.router6, self.client6]


class Wan(Segment):
    router: str
    isp: str
    router6: str | None = None
    isp6: str | None = None

    def addresses6(self) -> list[str | None]:
        return [self.router6, self.isp6]


class Internet(Segment):
    isp: str
    host: str
    isp6: str | None = None
    host6: str | None = None

    def addresses6(self) -> list[str | None]:
        return [self.isp6, self.host6]


class Flow(_Model):
    port: int = Field(9000, ge=1, le=65535)
    rate_pps: int = Field(50, ge=1, le=10_000)


class PathCheck(_Model):
    """The router's path check: the internet host's STAMP reflector and the echo-only hosts of
    failover/lab/targets.py, all beyond the ISP; the path is up while ``reliability`` answer."""

    reliability: int = Field(2, ge=1, le=1 + len(ICMP_HOSTS))


class LabGateway(_Model):
    name: str = Field(pattern=r"^[a-z][a-z0-9]{0,9}$")
    address: str
    uplink: str
    delay_ms: int = Field(0, ge=0, le=1000)
    address6: str | None = None   # on the LAN's prefix6 (the router's config gets it as address6)
    uplink6: str | None = None    # an IPv6 /64: gateway ::2 <-> internet host ::1, NATed like uplink

    @property
    def uplink6_ends(self) -> tuple[str, str] | tuple[()]:
        """The gateway's and the internet host's ends of the IPv6 uplink, as CIDRs (none without one)."""
        if self.uplink6 is None:
            return ()
        net = ipaddress.IPv6Network(self.uplink6)
        return f"{net.network_address + 2}/{net.prefixlen}", f"{net.network_address + 1}/{net.prefixlen}"

    @property
    def uplink_net(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.uplink)

    @property
    def uplink_internet(self) -> str:
        """The internet host's end of the gateway's uplink (.1)."""
        return str(self.uplink_net.network_address + 1)

    @property
    def uplink_gateway(self) -> str:
        return str(self.uplink_net.network_address + 2)


class LabTopology(_Model):
    prefix: str = Field("aflab", pattern=r"^[a-z][a-z0-9]{0,7}$")
    lan: Lan
    wan: Wan
    internet: Internet
    flow: Flow = Flow()
    path: PathCheck = PathCheck()
    gateway: list[LabGateway] = Field(min_length=3)

    def ns(self, role: str) -> str:
        return f"{self.prefix}-{role}"

    @property
    def ipv6(self) -> bool:
        """Dual-stack: the LAN, the WAN and the internet segment each have a prefix6."""
        return all(seg.prefix6 for seg in (self.lan, self.wan, self.internet))

    @property
    def roles(self) -> list[str]:
        return ["router", "isp", "internet", "client", *(g.name for g in self.gateway), *self.target_hosts]

    @property
    def target_hosts(self) -> list[str]:
        """The nodes that only answer ICMP echo (the path check's targets besides the internet host)."""
        return [name for name, *_ in ICMP_HOSTS]

    @property
    def fault_target(self) -> tuple[str, str]:
        """The target the lab's ``target-silence`` fault silences: the first echo-only host (node, address)."""
        name, *_, address = ICMP_HOSTS[0]
        return name, address

    def router_config(self, control_socket: str, token_file: str, listen: str = f"127.0.0.1:{API_PORT}",
                      ipv6: bool = True) -> Config:
        """The lab's router's failover.toml: the WAN's path probed at three targets beyond the ISP
        (STAMP at the internet host, ICMP echo at the two echo-only hosts); on a dual-stack lab
        (``ipv6``) the same three at their IPv6 addresses too, so each family has its own path
        verdict (``path.reliability`` in each), and the gateways' address6."""
        six = ipv6 and self.ipv6
        return Config.model_validate({
            "wan": {"interface": "wan0", **wan_targets(self.internet.host, reliability=self.path.reliability,
                                                       stamp6=self.internet.host6 if six else None)},
            "failover": {"table": 100, "priority": 1000, "lan_interface": "lan0"},
            "control": {"socket": control_socket, "gateway_port": CONTROL_PORT},
            "heartbeat": {"port": STAMP_PORT, "interval_ms": 20, "detect_multiplier": 3, "recover_count": 10},
            "election": {"switch_margin": 0.2, "hold_ms": 2000},
            "gateway": [{"name": g.name, "address": g.address,
                         **({"address6": g.address6} if six and g.address6 else {})}
                        for g in self.gateway],
            "api": {"listen": listen, "token_file": token_file},
        })

    def network(self, *, config: str, flow_file: str | None, fault_command: str | None = None,
                proxy_port: int | None = None, flow6_file: str | None = None, ipv6: bool = True) -> Topology:
        """The lab as the engine's data. ``config`` is the router's failover.toml; ``flow_file``
        the demo flow's counters (None: no demo flow); ``fault_command`` (the dashboard's lab
        buttons) and ``proxy_port`` (a relay of the dashboard to this machine's 127.0.0.1) are the
        namespace lab's extras. A dual-stack file (``prefix6`` everywhere; ``ipv6=False`` leaves
        IPv6 out) adds IPv6 to every interface, route and NAT, the agents and the reflector listen
        on both families, and ``flow6_file`` is the IPv6 demo flow's counters.

            client ─┐                                   ┌─ alt1 ── up-alt1 ─┐
                    ├─ lan0 (bridge) router wan0 ═ isp0 ISP up0 ═ eth0 internet host ─ up-alt2 ── alt2
            altN ───┘                            │                          └─ up-alt3 ── alt3
                                                 ├ tgt1 ═ eth0 icmp1 (echo only)
                                                 └ tgt2 ═ eth0 icmp2 (echo only)

        The router's path check probes the internet host (STAMP) and icmp1/icmp2 (ICMP echo), each
        in a network of its own (failover/lab/targets.py), in each family of the lab.
        """
        lan, wan, inet = self.lan, self.wan, self.internet
        six = ipv6 and self.ipv6
        if not six:  # the same data as an IPv4-only file's
            lan, wan, inet = (seg.model_copy(update={"prefix6": None}) for seg in (lan, wan, inet))
        target_nodes, target_segments, target_routes = icmp_hosts("isp", ipv6=six)
        nodes = [
            # Masquerading out of the WAN like a home router: the flows failover strands are real.
            Node("router", forwarding=True, rp_filter=False, nat=(Nat("wan0"),)),
            Node("isp", forwarding=True, rp_filter=False),
            Node("internet", rp_filter=False),
            Node("client", rp_filter=False),
            # A gateway forwards only once its agent is told "up"; its uplink is NATed, so replies
            # come back through it.
            *(Node(g.name, rp_filter=False, nat=(Nat("up0"),)) for g in self.gateway),
            *target_nodes,
        ]
        segments = [
            spec.Segment("lan", bridge=Iface("router", "lan0", f"{lan.router}/{lan.length}",
                                             addresses6=lan.cidr6(lan.router6)),
                    ends=(Iface("client", "eth0", f"{lan.client}/{lan.length}", addresses6=lan.cidr6(lan.client6)),
                          *(Iface(g.name, "eth0", f"{g.address}/{lan.length}", addresses6=lan.cidr6(g.address6))
                            for g in self.gateway)),
                         net=lan.prefix),
            self.wan_segment((100, 200), ipv6=six),
            spec.Segment("internet", (Iface("isp", "up0", f"{inet.isp}/{inet.length}", addresses6=inet.cidr6(inet.isp6)),
                                 Iface("internet", "eth0", f"{inet.host}/{inet.length}",
                                       addresses6=inet.cidr6(inet.host6))), net=inet.prefix),
            *(spec.Segment(f"uplink-{g.name}", (
                Iface(g.name, "up0", f"{g.uplink_gateway}/{g.uplink_net.prefixlen}",
                      addresses6=g.uplink6_ends[:1] if six else ()),
                Iface("internet", f"up-{g.name}", f"{g.uplink_internet}/{g.uplink_net.prefixlen}",
                      addresses6=g.uplink6_ends[1:] if six else ())), net=g.uplink)
              for g in self.gateway),
            *target_segments,
        ]
        routes = [
            Route("router", "default", wan.isp),
            Route("isp", lan.prefix, wan.router),  # the ISP routes the LAN back to the router
            Route("client", "default", lan.router),
            Route("internet", "default", inet.isp),
            *(Route(g.name, "default", g.uplink_internet) for g in self.gateway),
            *target_routes,
        ]
        if six:  # the same routes in IPv6; the router NATs both families out of the WAN (NAT66 for the ULA LAN)
            routes += [
                Route("router", "default", wan.isp6),
                Route("isp", lan.prefix6, wan.router6),
                Route("client", "default", lan.router6),
                Route("internet", "default", inet.isp6),
                *(Route(g.name, "default", g.uplink6_ends[1].split("/")[0]) for g in self.gateway if g.uplink6),
            ]
        also6 = (lambda a: ("--listen", a) if six and a else ())
        router = ["failover", "run", "--config", config]
        if fault_command:
            router += ["--lab-fault-command", fault_command]
        if flow_file:
            router += ["--lab-flow-file", flow_file]
        if flow6_file and six:
            router += ["--lab-flow6-file", flow6_file]
        processes = [
            *(Process(f"agent-{g.name}", g.name, ("failover", "agent", "--listen", g.address, *also6(g.address6),
                                                  "--allow", lan.router, *(("--allow", lan.router6) if six else ()),
                                                  "--lab-delay-ms", str(g.delay_ms)), listen=CONTROL_PORT)
              for g in self.gateway),
            Process("reflector-internet", "internet", ("failover", "agent", "--listen", inet.host, *also6(inet.host6)),
                    listen=CONTROL_PORT),
            # Bound to the host's address: a reply to a gateway's NATed uplink must leave from it,
            # or the gateway's conntrack does not match it and drops it.
            Process("flow-echo", "internet", ("failover", "lab", "echo", "--port", str(self.flow.port),
                                              "--bind", inet.host)),
            *((Process("flow-echo6", "internet", ("failover", "lab", "echo", "--port", str(self.flow.port),
                                                  "--bind", inet.host6)),) if six else ()),
            Process("router", "router", tuple(router)),
        ]
        if flow_file:
            processes.append(Process("flow", "client", ("failover", "lab", "flow", "--to", f"{inet.host}:{self.flow.port}",
                                                        "--rate", str(self.flow.rate_pps), "--stats", flow_file)))
        if flow6_file and six:
            processes.append(Process("flow6", "client", ("failover", "lab", "flow", "--to", f"[{inet.host6}]:{self.flow.port}",
                                                         "--rate", str(self.flow.rate_pps), "--stats", flow6_file)))
        if proxy_port is not None:
            processes.append(Process("proxy", None, ("failover", "lab", "proxy", "--netns", self.ns("router"),
                                                     "--port", str(API_PORT), "--listen-port", str(proxy_port))))
        return Topology(self.prefix, tuple(nodes), tuple(segments), tuple(routes), tuple(processes))

    def wan_segment(self, index: tuple[int, int] | None, ipv6: bool = True) -> spec.Segment:
        """router wan0 == isp0 on the ISP (``index``: their ifindexes; a WAN made again takes new ones)."""
        w = self.wan if ipv6 and self.ipv6 else self.wan.model_copy(update={"prefix6": None})
        return spec.Segment("wan", (Iface("router", "wan0", f"{w.router}/{w.length}", index=index and index[0],
                                          addresses6=w.cidr6(w.router6)),
                               Iface("isp", "isp0", f"{w.isp}/{w.length}", index=index and index[1],
                                     addresses6=w.cidr6(w.isp6))), net=w.prefix)


@dataclass(frozen=True)
class LabError(Exception):
    message: str

    def __str__(self) -> str:
        return self.message


def load(path: str | Path = DEFAULT_LAB) -> LabTopology:
    from pydantic import ValidationError

    try:
        data = tomllib.loads(Path(path).read_text())
        topo = LabTopology.model_validate(data)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise LabError(f"{path}: {e}") from None
    except ValidationError as e:
        fields = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())
        raise LabError(f"{path}: {fields}") from None
    for seg, addrs in ((topo.lan, [topo.lan.router, topo.lan.client, *(g.address for g in topo.gateway)]),
                       (topo.wan, [topo.wan.router, topo.wan.isp]),
                       (topo.internet, [topo.internet.isp, topo.internet.host])):
        for a in addrs:
            if not seg.contains(a):
                raise LabError(f"{path}: {a} is outside {seg.prefix}")
    segs6 = (topo.lan, topo.wan, topo.internet)
    if any(seg.prefix6 for seg in segs6) and not topo.ipv6:
        raise LabError(f"{path}: prefix6 on lan, wan and internet, or on none (the lab is dual-stack or IPv4 only)")
    if topo.ipv6:
        for seg, addrs in ((topo.lan, [*topo.lan.addresses6(), *(g.address6 for g in topo.gateway if g.address6)]),
                           (topo.wan, topo.wan.addresses6()), (topo.internet, topo.internet.addresses6())):
            for a in addrs:
                if a is None:
                    raise LabError(f"{path}: a segment with prefix6 {seg.prefix6} needs each of its IPv6 addresses")
                if ipaddress.ip_address(a).version != 6 or not seg.contains(a):
                    raise LabError(f"{path}: {a} is outside {seg.prefix6}")
        for g in topo.gateway:
            if g.uplink6 is not None and ipaddress.ip_network(g.uplink6).version != 6:
                raise LabError(f"{path}: gateway {g.name}: uplink6 {g.uplink6} is not an IPv6 network")
    # The echo-only targets' networks are fixed (failover/lab/targets.py): the file's may not cover them.
    nets = sorted((ipaddress.IPv4Network(s.prefix), s.name) for s in topo.network(config="", flow_file=None).segments)
    for (a, an), (b, bn) in zip(nets, nets[1:]):
        if a.overlaps(b):
            raise LabError(f"{path}: networks {an} ({a}) and {bn} ({b}) overlap")
    return topo
