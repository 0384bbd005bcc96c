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

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        return str(ipaddress.IPv4Network(v))

    def contains(self, address: str) -> bool:
        return ipaddress.IPv4Address(address) in ipaddress.IPv4Network(self.prefix)

    @property
    def length(self) -> int:
        return ipaddress.IPv4Network(self.prefix).prefixlen


class Lan(Segment):
    router: str
    client: str


class Wan(Segment):
    router: str
    isp: str


class Internet(Segment):
    isp: str
    host: str


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

    def router_config(self, control_socket: str, token_file: str, listen: str = f"127.0.0.1:{API_PORT}") -> Config:
        """The lab's router's failover.toml: the WAN's path probed at three targets beyond the ISP
        (STAMP at the internet host, ICMP echo at the two echo-only hosts)."""
        return Config.model_validate({
            "wan": {"interface": "wan0", **wan_targets(self.internet.host, reliability=self.path.reliability)},
            "failover": {"table": 100, "priority": 1000, "lan_interface": "lan0"},
            "control": {"socket": control_socket, "gateway_port": CONTROL_PORT},
            "heartbeat": {"port": STAMP_PORT, "interval_ms": 20, "detect_multiplier": 3, "recover_count": 10},
            "election": {"switch_margin": 0.2, "hold_ms": 2000},
            "gateway": [{"name": g.name, "address": g.address} for g in self.gateway],
            "api": {"listen": listen, "token_file": token_file},
        })

    def network(self, *, config: str, flow_file: str | None, fault_command: str | None = None,
                proxy_port: int | None = None) -> Topology:
        """The lab as the engine's data. ``config`` is the router's failover.toml; ``flow_file``
        the demo flow's counters (None: no demo flow); ``fault_command`` (the dashboard's lab
        buttons) and ``proxy_port`` (a relay of the dashboard to this machine's 127.0.0.1) are the
        namespace lab's extras.

            client ─┐                                   ┌─ alt1 ── up-alt1 ─┐
                    ├─ lan0 (bridge) router wan0 ═ isp0 ISP up0 ═ eth0 internet host ─ up-alt2 ── alt2
            altN ───┘                            │                          └─ up-alt3 ── alt3
                                                 ├ tgt1 ═ eth0 icmp1 (echo only)
                                                 └ tgt2 ═ eth0 icmp2 (echo only)

        The router's path check probes the internet host (STAMP) and icmp1/icmp2 (ICMP echo), each
        in a network of its own (failover/lab/targets.py).
        """
        lan, wan, inet = self.lan, self.wan, self.internet
        target_nodes, target_segments, target_routes = icmp_hosts("isp")
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
            spec.Segment("lan", bridge=Iface("router", "lan0", f"{lan.router}/{lan.length}"),
                    ends=(Iface("client", "eth0", f"{lan.client}/{lan.length}"),
                          *(Iface(g.name, "eth0", f"{g.address}/{lan.length}") for g in self.gateway)),
                         net=lan.prefix),
            self.wan_segment((100, 200)),
            spec.Segment("internet", (Iface("isp", "up0", f"{inet.isp}/{inet.length}"),
                                 Iface("internet", "eth0", f"{inet.host}/{inet.length}")), net=inet.prefix),
            *(spec.Segment(f"uplink-{g.name}", (
                Iface(g.name, "up0", f"{g.uplink_gateway}/{g.uplink_net.prefixlen}"),
                Iface("internet", f"up-{g.name}", f"{g.uplink_internet}/{g.uplink_net.prefixlen}")), net=g.uplink)
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
        router = ["failover", "run", "--config", config]
        if fault_command:
            router += ["--lab-fault-command", fault_command]
        if flow_file:
            router += ["--lab-flow-file", flow_file]
        processes = [
            *(Process(f"agent-{g.name}", g.name, ("failover", "agent", "--listen", g.address, "--allow", lan.router,
                                                  "--lab-delay-ms", str(g.delay_ms)), listen=CONTROL_PORT)
              for g in self.gateway),
            Process("reflector-internet", "internet", ("failover", "agent", "--listen", inet.host), listen=CONTROL_PORT),
            # Bound to the host's address: a reply to a gateway's NATed uplink must leave from it,
            # or the gateway's conntrack does not match it and drops it.
            Process("flow-echo", "internet", ("failover", "lab", "echo", "--port", str(self.flow.port),
                                              "--bind", inet.host)),
            Process("router", "router", tuple(router)),
        ]
        if flow_file:
            processes.append(Process("flow", "client", ("failover", "lab", "flow", "--to", f"{inet.host}:{self.flow.port}",
                                                        "--rate", str(self.flow.rate_pps), "--stats", flow_file)))
        if proxy_port is not None:
            processes.append(Process("proxy", None, ("failover", "lab", "proxy", "--netns", self.ns("router"),
                                                     "--port", str(API_PORT), "--listen-port", str(proxy_port))))
        return Topology(self.prefix, tuple(nodes), tuple(segments), tuple(routes), tuple(processes))

    def wan_segment(self, index: tuple[int, int] | None) -> spec.Segment:
        """router wan0 == isp0 on the ISP (``index``: their ifindexes; a WAN made again takes new ones)."""
        w = self.wan
        return spec.Segment("wan", (Iface("router", "wan0", f"{w.router}/{w.length}", index=index and index[0]),
                               Iface("isp", "isp0", f"{w.isp}/{w.length}", index=index and index[1])), net=w.prefix)


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
    # The echo-only targets' networks are fixed (failover/lab/targets.py): the file's may not cover them.
    nets = sorted((ipaddress.IPv4Network(s.prefix), s.name) for s in topo.network(config="", flow_file=None).segments)
    for (a, an), (b, bn) in zip(nets, nets[1:]):
        if a.overlaps(b):
            raise LabError(f"{path}: networks {an} ({a}) and {bn} ({b}) overlap")
    return topo
