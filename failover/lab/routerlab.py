"""The router every namespace scenario and most benchmarks run on, as data, built by the engine.

    isp ── isp0 ═══ wan0 ── router ── lan0 (bridge 10.10.0.1/24) ─┬─ gw1 eth0 10.10.0.11
    198.51.100.1/24   198.51.100.2/24                               ├─ gw2 eth0 10.10.0.12
                                                                    └─ gwN …
  with ``internet``:  isp ── inet0 ═══ eth0 ── internet 203.0.113.1 (a STAMP reflector: the path check's target)
  with ``flows``:     client 10.10.0.100 on lan0; NAT on wan0; each gwN's own NATed uplink
                      up0 100.64.N.2 ═══ up-gwN 100.64.N.1 on the internet host; TCP/UDP echoes

  with ``ipv6``:      every one of those interfaces dual-stack, the same shape in IPv6 (ULA):
                      LAN fd00:10::/64 (router ::1, gwN ::1N, client ::100; the router also holds
                      2001:db8:10::1/64, a global prefix), WAN fd00:198:51:100::/64 (ISP ::1,
                      router ::2), internet fd00:203:0:113::/64 (ISP ::fe, host ::1), gwN's uplink
                      fd00:100:64:N::/64 (gwN ::2, host ::1); routes and NAT alike in both families

Normal routing in the router: ``default via 198.51.100.1 dev wan0`` in main (and, with ``ipv6``,
``default via fd00:198:51:100::1 dev wan0``). Each gateway runs
``failover agent`` (TCP 7070 up/down); its forwarding starts off. ``RouterTopology`` drives what
runs on it (the daemon, its control socket) and reads the routing state back.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Config, to_toml
from ..core.controlline import STATE, state_fields
from ..net.control_client import request_blocking
from .builder import REPO, Network, build
from .netns import wait_for
from .spec import Iface, Nat, Node, Process, Route, Segment, Topology

ISP = "198.51.100.1"
WAN = "198.51.100.2"
LAN_PREFIX = "10.10.0.0/24"
ROUTER_LAN = "10.10.0.1"
INTERNET = "203.0.113.1"
ISP_INTERNET = "203.0.113.254"
CLIENT = "10.10.0.100"
ECHO_PORT, LAN_PORT = 9000, 9001   # the internet host's TCP/UDP echo; the router's (a LAN-local flow)
# IPv6 (``ipv6=True``): the same roles, ULA, plus a global prefix on the LAN (table T takes both).
ISP6 = "fd00:198:51:100::1"
WAN6 = "fd00:198:51:100::2"
LAN6_PREFIXES = ("fd00:10::/64", "2001:db8:10::/64")
ROUTER_LAN6 = ("fd00:10::1/64", "2001:db8:10::1/64")
INTERNET6 = "fd00:203:0:113::1"
ISP_INTERNET6 = "fd00:203:0:113::fe"
CLIENT6 = "fd00:10::100"
AGENT_PORT = 7070
TABLE = 100
PRIORITY = 1000
# The host's error wording as kernels >= 6.7 give it, and as older ones do ("(efault)" for all).
ERROR_STYLES = ["names", "pre-6.7"]
LONGFLOWS = ("python", "-m", "failover.lab.longflows")
#: [dampening] whose penalty never suppresses: only min_clean_ms (1 s) holds failback. Trials that
#: follow each other every few seconds would otherwise be held for tens of seconds after the
#: second (penalty 1000, suppress 1500, half-life 15 s); failover itself is never held by
#: dampening (docs/design.md), so this changes nothing in a failover, only the wait between trials.
NO_HOLD = {"penalty": 1, "suppress": 1_000_000, "max_penalty": 1_000_000, "reuse": 0, "min_clean_ms": 1000}


def gateway_address(i: int) -> str:
    return f"10.10.0.{10 + i}"


def gateway_address6(i: int) -> str:
    return f"fd00:10::{10 + i}"


def uplink(i: int) -> tuple[str, str]:
    """gwN's end and the internet host's end of gwN's uplink."""
    return f"100.64.{i}.2", f"100.64.{i}.1"


def uplink6(i: int) -> tuple[str, str]:
    return f"fd00:100:64:{i}::2", f"fd00:100:64:{i}::1"


def _v6(ipv6: bool, *cidrs: str) -> tuple[str, ...]:
    return cidrs if ipv6 else ()


def gateway_end(i: int, ipv6: bool = False) -> Iface:
    return Iface(f"gw{i}", "eth0", f"{gateway_address(i)}/24", addresses6=_v6(ipv6, f"{gateway_address6(i)}/64"),
                 port=f"lan0p{i}")


def agent(i: int, *extra: str, ipv6: bool = False) -> Process:
    """gwN's agent; on a dual-stack LAN it listens on its IPv6 address too (and forwards IPv6 when up)."""
    also = ("--listen", gateway_address6(i)) if ipv6 else ()
    return Process(f"gw{i}-agent", f"gw{i}", ("failover", "agent", "--listen", gateway_address(i), *also, *extra),
                   listen=AGENT_PORT)


def router_topology(prefix: str, n_gateways: int = 2, *, agents: bool = True, urgent_wan: bool = True,
                    internet: bool = False, flows: bool = False, nat: str = "masquerade",
                    ipv6: bool = False) -> Topology:
    """``urgent_wan=False`` leaves the WAN veth's ifindexes to the kernel (equal: see spec.Iface.index).
    ``flows`` (needs ``internet``): the client, NAT where a home network has it (``nat``:
    "masquerade" or "snat" to the WAN address on the router), each gateway's uplink, the echoes.
    ``ipv6``: dual-stack (the module's docstring); masquerade NATs both families, ``snat`` IPv4
    to WAN and IPv6 to WAN6."""
    gws = range(1, n_gateways + 1)
    asym = not flows  # failover makes flows' paths asymmetric: no reverse-path filter then
    if nat == "masquerade":
        router_nat = (Nat("wan0"),)
    else:
        router_nat = (Nat("wan0", f"snat to {WAN}"), *((Nat("wan0", f"snat to {WAN6}"),) if ipv6 else ()))
    nodes = [Node("router", forwarding=flows, rp_filter=asym, nat=router_nat if flows else ()),
             Node("isp", forwarding=internet, rp_filter=asym),
             *(Node(f"gw{i}", rp_filter=asym, nat=(Nat("up0"),) if flows else ()) for i in gws)]
    index = (100, 200) if urgent_wan else (None, None)
    segments = [Segment("wan", (Iface("router", "wan0", f"{WAN}/24", addresses6=_v6(ipv6, f"{WAN6}/64"), index=index[0]),
                                Iface("isp", "isp0", f"{ISP}/24", addresses6=_v6(ipv6, f"{ISP6}/64"), index=index[1]))),
                Segment("lan", bridge=Iface("router", "lan0", f"{ROUTER_LAN}/24", addresses6=_v6(ipv6, *ROUTER_LAN6)),
                        ends=tuple(gateway_end(i, ipv6) for i in gws))]
    routes = [Route("router", "default", ISP, "wan0"), *((Route("router", "default", ISP6, "wan0"),) if ipv6 else ())]
    processes = [agent(i, ipv6=ipv6) for i in gws] if agents else []
    if internet:
        nodes.append(Node("internet", rp_filter=asym))
        segments.append(Segment("internet", (Iface("isp", "inet0", f"{ISP_INTERNET}/24", addresses6=_v6(ipv6, f"{ISP_INTERNET6}/64")),
                                             Iface("internet", "eth0", f"{INTERNET}/24", addresses6=_v6(ipv6, f"{INTERNET6}/64")))))
        routes.append(Route("internet", "default", ISP_INTERNET))
        if ipv6:
            routes.append(Route("internet", "default", ISP_INTERNET6))
        processes.append(Process("internet-agent", "internet", ("failover", "agent", "--listen", INTERNET),
                                 listen=AGENT_PORT))
    if flows:
        nodes.append(Node("client"))
        lan = segments[1]
        segments[1] = Segment("lan", bridge=lan.bridge,
                              ends=(*lan.ends, Iface("client", "eth0", f"{CLIENT}/24", addresses6=_v6(ipv6, f"{CLIENT6}/64"),
                                                     port="lan0p9")))
        for i in gws:
            gw_end, net_end = uplink(i)
            gw_end6, net_end6 = uplink6(i)
            segments.append(Segment(f"uplink-gw{i}", (Iface(f"gw{i}", "up0", f"{gw_end}/30", addresses6=_v6(ipv6, f"{gw_end6}/64")),
                                                      Iface("internet", f"up-gw{i}", f"{net_end}/30",
                                                            addresses6=_v6(ipv6, f"{net_end6}/64")))))
            routes.append(Route(f"gw{i}", "default", net_end))
            if ipv6:
                routes.append(Route(f"gw{i}", "default", net_end6))
        routes.append(Route("client", "default", ROUTER_LAN))
        if ipv6:
            routes.append(Route("client", "default", ROUTER_LAN6[0].split("/")[0]))
        echo_hosts = f"{INTERNET},{INTERNET6}" if ipv6 else INTERNET
        processes += [Process("echo-internet", "internet", (*LONGFLOWS, "echo", echo_hosts, str(ECHO_PORT)),
                              listen=ECHO_PORT),
                      Process("echo-router", "router", (*LONGFLOWS, "echo", ROUTER_LAN, str(LAN_PORT)),
                              listen=LAN_PORT)]
    return Topology(prefix, tuple(nodes), tuple(segments), tuple(routes), tuple(processes))


def failover_rule(topo: RouterTopology) -> list[dict] | bool:
    """The one failover rule (as ``ip -j rule`` lists it) if it is the only one and looks up T."""
    rules = topo.rules()
    return len(rules) == 1 and rules[0].get("table") == str(TABLE) and rules



def config_model(socket_path: str, gateways: list[str], address6: dict[int, str] | None = None,
                 **sections: dict | list[dict]) -> Config:
    """The scenarios' failover.toml as a model: the router's interfaces, its table and priority,
    the gateways (gw1, gw2, … in order; ``address6``: gwN's IPv6 address by N) and any section
    given as a dict of fields (merged into the section's defaults here) or a list of them (``hook``)."""
    address6 = address6 or {}
    data: dict = {"wan": {"interface": "wan0"},
                  "failover": {"table": TABLE, "priority": PRIORITY, "lan_interface": "lan0"},
                  "control": {"socket": socket_path},
                  "gateway": [{"name": f"gw{i}", "address": a, **({"address6": address6[i]} if i in address6 else {})}
                              for i, a in enumerate(gateways, start=1)]}
    for name, fields in sections.items():
        data[name] = fields if isinstance(fields, list) else {**data.get(name, {}), **fields}
    return Config.model_validate(data)


@dataclass
class RouterTopology:
    net: Network
    tmp: Path
    gateways: list[str] = field(default_factory=list)  # addresses, gw1 first
    host: object = None
    socket_path: str = ""
    error_style: str = "names"          # FAILOVER_HOST_ERRORS: "pre-6.7" words every errno "(efault)"
    clock_offset_file: Path | None = None  # FAILOVER_HOST_CLOCK_OFFSET_FILE, see shift_clock
    ipv6: bool = False                  # dual-stack (router_topology's ``ipv6``)

    # -- building -------------------------------------------------------------------------

    @classmethod
    def build(cls, tmp: Path, n_gateways: int = 2, agents: bool = True, urgent_wan: bool = True,
              **options) -> RouterTopology:
        """Built and its processes started; on any failure, nothing is left."""
        spec = router_topology(f"af{uuid.uuid4().hex[:6]}", n_gateways, agents=agents, urgent_wan=urgent_wan,
                               **options)
        return cls(build(spec, tmp), tmp, gateways=[gateway_address(i) for i in range(1, n_gateways + 1)],
                   ipv6=options.get("ipv6", False))

    @property
    def nets(self) -> Network:
        return self.net

    def delete_wan(self) -> None:
        """wan0 destroyed (with its peer isp0), as when PPPoE drops or a USB modem re-enumerates."""
        self.net.ip("router", "link", "del", "wan0")

    def recreate_wan(self, index: tuple[int, int]) -> None:
        """wan0 created again under the same name with the ifindex given; addresses and the
        default route restored, as a PPPoE client or ifupdown would."""
        a, b = self.net.topology.segment("wan").ends
        self.net.restore(Segment("wan", (dataclasses.replace(a, index=index[0]),
                                         dataclasses.replace(b, index=index[1]))))

    def wan_ifindex(self) -> int:
        return json.loads(self.net.ip("router", "-j", "link", "show", "wan0").stdout)[0]["ifindex"]

    def add_gateway(self, i: int, agent: bool = True) -> str:
        """gw<i> joins the LAN at run time (its agent started unless ``agent=False``)."""
        self.net.add_node(Node(f"gw{i}"))
        self.net.attach(self.net.topology.segment("lan"), gateway_end(i, self.ipv6))
        if agent:
            self.start_agent(i)
        self.gateways.append(gateway_address(i))
        return gateway_address(i)

    def start_agent(self, i: int, *extra: str):
        return self.net.start(agent(i, *extra, ipv6=self.ipv6))

    def stop_agent(self, i: int, sig: int = signal.SIGTERM) -> None:
        self.net.stop(f"gw{i}-agent", sig)

    def _listening(self, role: str, port: int) -> bool:
        return self.net.listening(role, port)

    def config(self, gateways: list[str] | None = None, address6: dict[int, str] | None = None,
               **sections: dict) -> Path:
        """Write a failover.toml for this topology (``config_model``); returns its path."""
        self.socket_path = str(self.tmp / "control.sock")
        cfg = config_model(self.socket_path, gateways if gateways is not None else self.gateways, address6,
                           **sections)
        path = self.tmp / "failover.toml"
        path.write_text(to_toml(cfg))
        return path

    # -- the system under test ------------------------------------------------------------

    def start_host(self, config: Path | None = None, root: str | None = None, *, cli: list[str] | None = None,
                   command: str = "host", **spawn):
        """``failover host`` (or ``command``: ``run``) on the router, until its control socket answers.

        ``cli`` is how to call ``failover`` (default: this interpreter's); ``root`` the script
        root (default: the package's); ``spawn`` goes to Popen (``cwd``, ``env``).
        """
        config = config or self.config()
        argv = [*(cli or [sys.executable, "-m", "failover.cli"]), command, "--config", str(config)]
        if root is not None:
            argv += ["--root", root]
        spawn.setdefault("cwd", REPO)
        env = spawn.setdefault("env", dict(os.environ))
        env.setdefault("FAILOVER_HOST_ERRORS", self.error_style)
        if self.clock_offset_file is not None:
            env.setdefault("FAILOVER_HOST_CLOCK_OFFSET_FILE", str(self.clock_offset_file))
        self.host = self.net.spawn("router", argv, log=self.tmp / "host.log", name="host", **spawn)
        wait_for(lambda: self._control_ready(), timeout=10, what="the daemon's control socket")
        return self.host

    def _control_ready(self) -> bool:
        if self.host is not None and self.host.poll() is not None:
            raise RuntimeError(f"host exited {self.host.returncode}:\n{self.log('host')}")
        try:
            return self.control("state").startswith("ok")
        except OSError:
            return False

    def shift_clock(self, ms: int) -> None:
        """Step the host's wall clock (linux.time()) to real time + ms, while it runs."""
        assert self.clock_offset_file is not None, "set clock_offset_file before start_host"
        tmp = self.clock_offset_file.with_suffix(".new")
        tmp.write_text(f"{ms}\n")
        tmp.rename(self.clock_offset_file)

    def stop_host(self) -> int:
        rc = self.net.stop(self.host)
        self.host = None
        return rc

    def log(self, name: str) -> str:
        p = self.tmp / f"{name}.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def control(self, line: str | bytes, timeout: float = 2.0) -> str:
        return request_blocking(self.socket_path, line, timeout)

    def state(self) -> dict[str, str]:
        return state_fields(self.control(STATE))

    # -- observing routing state ----------------------------------------------------------

    def has_failover_rule(self) -> bool:
        """Exactly one rule at the failover priority, and it looks up table T."""
        rules = self.rules()
        return len(rules) == 1 and rules[0].get("table") == str(TABLE)

    def rules(self, family: int = 4) -> list[dict]:
        """Rules at the failover priority, as ``ip -j -<family> rule`` reports them."""
        out = self.net.ip("router", "-d", "-j", f"-{family}", "rule", "show").stdout
        return [r for r in json.loads(out) if r.get("priority") == PRIORITY]

    def table_routes(self, family: int = 4) -> list[dict]:
        proc = self.net.ip("router", "-j", f"-{family}", "route", "show", "table", str(TABLE), check=False)
        # A table that does not exist yet fails, after printing a lone "[".
        return json.loads(proc.stdout) if proc.returncode == 0 and proc.stdout.strip() else []

    def default_via(self) -> str | None:
        for r in self.table_routes():
            if r.get("dst") == "default":
                return r.get("gateway")
        return None

    def routing(self, family: int = 4) -> dict:
        """The router's routing state of one family as a scenario's expected.toml writes it: the
        rules at the failover priority, table T's routes (``dst = "via GW dev DEV"``), each
        gateway's forwarding of that family."""
        table = {r["dst"]: (f"via {r['gateway']} " if r.get("gateway") else "") + f"dev {r['dev']}"
                 for r in self.table_routes(family)}
        read = self.forwarding if family == 4 else self.forwarding6
        return {"rules": [{"priority": r["priority"], "table": r.get("table")} for r in self.rules(family)],
                "table": table,
                "forwarding": {f"gw{i}": read(i) for i in range(1, len(self.gateways) + 1)}}

    def routing_is(self, expected: dict, family: int = 4) -> bool:
        """The routing state is ``expected`` in every part it names (rules, table, forwarding)."""
        state = self.routing(family)
        return all(state[part] == want for part, want in expected.items())

    def add_raw_rule(self, table: int = TABLE, priority: int = PRIORITY) -> None:
        """A rule added without NLM_F_EXCL: duplicates are possible, as after old tools."""
        self.net.exec("router", sys.executable, "-m", "failover.lab.rawrule", str(table), str(priority))

    def forwarding(self, i: int) -> str:
        return self.net.read_sysctl(f"gw{i}", "net.ipv4.ip_forward")

    def forwarding6(self, i: int) -> str:
        return self.net.read_sysctl(f"gw{i}", "net.ipv6.conf.all.forwarding")

    def set_isp(self, up: bool) -> None:
        """Carrier on wan0 follows the ISP side of the veth."""
        self.net.ip("isp", "link", "set", "isp0", "up" if up else "down")

    def isp_forwarding(self, on: bool) -> None:
        """The ISP forwards to the internet, or silently stops (carrier stays up)."""
        self.net.forwarding("isp", on)

    def cleanup(self) -> None:
        self.net.teardown()
