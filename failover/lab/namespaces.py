"""The namespace lab: conf/lab.toml's topology (``LabTopology.network``) built by the engine.

The registry of every process started is kept in the state folder (pids.json), so ``down`` can
stop exactly those after a crash or from another process; namespaces carry the lab's prefix and
go with them.
"""

from __future__ import annotations

import secrets
import shutil
import sys
from pathlib import Path

from ..config import to_toml
from .builder import Network, build
from .netns import existing, sh, wait_for
from .registry import Registry
from .topology import API_PORT, LabTopology

STATE = Path("/run/failover-lab")


# Added then deleted in one batch: the table goes whether or not it was there.
_UNSILENCE_TARGET = "add table ip labfault\ndelete table ip labfault\n"
_SILENCE_TARGET = _UNSILENCE_TARGET + """table ip labfault {
 chain input {
  type filter hook input priority 0;
  icmp type echo-request drop
 }
}
"""


# The ISP stops forwarding IPv6 (its IPv4 untouched): each family's own path verdict at work.
_UNCUT_PATH6 = "add table ip6 labpath6\ndelete table ip6 labpath6\n"
_CUT_PATH6 = _UNCUT_PATH6 + """table ip6 labpath6 {
 chain forward {
  type filter hook forward priority 0; policy drop;
 }
}
"""


class Lab:
    """``demo=False`` leaves out what would collide with another lab or disturb a measurement:
    the relay of the dashboard to this machine's 127.0.0.1, the demo flow and the router's lab
    hooks (the benchmarks' lab, bench/labnet.py)."""

    def __init__(self, topo: LabTopology, state: Path = STATE, api_port: int = API_PORT, demo: bool = True) -> None:
        self.topo = topo
        self.state = state
        self.api_port = api_port  # where the dashboard appears on this machine's 127.0.0.1
        self.logs = state / "logs"
        self.control_socket = state / "control.sock"
        self.token_file = state / "token"
        self.flow_file = state / "flow.json"
        self.flow6_file = state / "flow6.json"   # the IPv6 demo flow's (a dual-stack lab)
        self.config_file = state / "router.toml"
        self.pidfile = state / "pids.json"
        fault = f"{sys.executable} -m failover.cli lab --prefix {topo.prefix} fault"
        self.spec = topo.network(config=str(self.config_file), flow_file=str(self.flow_file) if demo else None,
                                 fault_command=fault if demo else None, proxy_port=api_port if demo else None,
                                 flow6_file=str(self.flow6_file) if demo else None)
        self._net: Network | None = None

    @property
    def net(self) -> Network:
        """The built network, or the one another process built (``lab down``/``status``/``fault``)."""
        if self._net is None:
            self._net = Network(self.spec, self.logs, Registry.reopen(self.topo.prefix, self.pidfile))
        return self._net

    # -- building -----------------------------------------------------------------------------

    def build(self, config: str | None = None) -> None:
        """Namespaces, links, routes and NAT; the token and the router's config (``config``: its
        text, default the lab's own)."""
        if existing(self.topo.prefix):
            raise RuntimeError(f"a lab with prefix {self.topo.prefix} exists: run `failover lab down` first")
        self.state.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        self.token_file.write_text(secrets.token_urlsafe(24) + "\n")
        self.token_file.chmod(0o600)
        self.config_file.write_text(config if config is not None else to_toml(self.router_config()))
        self._net = build(self.spec, self.logs, registry=Registry(self.topo.prefix, self.pidfile), start=False)

    def router_config(self):
        return self.topo.router_config(str(self.control_socket), str(self.token_file))

    def start(self) -> None:
        self.net.start_all()
        if self.spec.processes[-1].name == "proxy":
            wait_for(self._dashboard_up, timeout=30, interval=0.2, what=f"the dashboard on {self.url}")

    def add_wan(self, index: tuple[int, int]) -> None:
        """wan0 == isp0 made again with new ifindexes, its addresses and the routes through it,
        as after a PPPoE reconnect."""
        self.net.restore(self.topo.wan_segment(index))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def _dashboard_up(self) -> bool:
        import urllib.request

        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/state", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    # -- faults -------------------------------------------------------------------------------

    def fault(self, kind: str) -> None:
        n = self.net
        if kind == "wan-carrier":
            n.ip("isp", "link", "set", "isp0", "down")
        elif kind == "wan-path":
            n.forwarding("isp", False)  # carrier stays up, nothing beyond the ISP answers
        elif kind == "wan-path6":
            n.nft("isp", _CUT_PATH6)  # IPv6 beyond the ISP goes dark, IPv4 keeps flowing
        elif kind == "target-silence":
            # One path-check target stops answering (its kernel drops echo requests), the rest of
            # the path untouched: a target fault, while the other two keep the path up.
            n.nft(self.topo.fault_target[0], _SILENCE_TARGET)
        elif kind == "target-clear":
            n.nft(self.topo.fault_target[0], _UNSILENCE_TARGET)
        elif kind == "clear":
            n.ip("isp", "link", "set", "isp0", "up")
            # Taking isp0 down deleted the ISP's routes back to the LAN (both families): put them back.
            wan = self.spec.segment("wan")
            for route in self.spec.routes:
                if route.node == "isp" and wan.carries(route.via):
                    n.route(route, "replace")
            n.forwarding("isp", True)
            n.nft("isp", _UNCUT_PATH6)
            n.nft(self.topo.fault_target[0], _UNSILENCE_TARGET)
        else:
            raise ValueError(f"unknown fault {kind!r}: wan-carrier, wan-path, wan-path6, target-silence, target-clear or clear")

    # -- teardown -----------------------------------------------------------------------------

    def down(self) -> list[str]:
        """Stop the processes this lab started, delete its namespaces and state; report what went."""
        gone = self.net.teardown()
        for ns in existing(self.topo.prefix):  # left by a build that crashed before recording them
            sh("ip", "netns", "del", ns, check=False)
            gone.append(f"namespace {ns}")
        shutil.rmtree(self.state, ignore_errors=True)
        return gone
