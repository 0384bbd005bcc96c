"""Flows across failover: the router scenario with ``flows`` (routerlab.router_topology): a client
on the LAN, NAT where a real home network has it, each gateway's own uplink, TCP/UDP echoes on the
internet host (9000) and on the router (9001, a LAN-local flow the router's conntrack holds).

The ISP knows only the router's WAN address (no route to the LAN), like a real one.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from .builder import REPO
from .netns import wait_for
from .routerlab import CLIENT, ECHO_PORT, INTERNET, LAN_PORT, WAN, uplink
from .sidecarlab import HeartbeatTopology


@dataclass
class FlowTopology:
    hb: HeartbeatTopology
    nat: str = "masquerade"   # the router's NAT on wan0: "masquerade" or "snat" (to the WAN address)
    n_gateways: int = 1

    @classmethod
    def build(cls, tmp: Path, nat: str = "masquerade", n_gateways: int = 1, ipv6: bool = False) -> FlowTopology:
        """``ipv6``: dual-stack (routerlab), the echoes and NAT in both families."""
        return cls(HeartbeatTopology.build(tmp, n_gateways=n_gateways, flows=True, nat=nat, ipv6=ipv6), nat,
                   n_gateways)

    @property
    def nets(self):
        return self.hb.nets

    @property
    def topo(self):
        return self.hb.topo

    # -- flows ------------------------------------------------------------------------------

    def hold(self, name: str, **targets: str) -> Holder:
        """Long-lived connections from the client: ``wan="tcp:203.0.113.1:9000"``,
        ``wan6="udp:[fd00:203:0:113::1]:9000"``, ..."""
        status = self.topo.tmp / f"hold-{name}.json"
        proc = self.nets.spawn("client", [sys.executable, "-m", "failover.lab.longflows", "hold", "--status",
                                          str(status), *[f"{k}={v}" for k, v in targets.items()]],
                               log=self.topo.tmp / f"hold-{name}.log", name=f"hold-{name}", cwd=REPO)
        h = Holder(proc, status)
        wait_for(lambda: h.all_echoing(list(targets)), timeout=10, what=f"{name}: every flow echoing")
        return h

    def conntrack(self) -> list[dict]:
        """The router's conntrack table, both families."""
        out = self.nets.exec("router", sys.executable, "-m", "failover.lab.longflows", "dump").stdout
        return json.loads(out)

    def cleanup(self) -> None:
        self.hb.cleanup()


def fail_over(t: FlowTopology) -> None:
    """The WAN's carrier cut; until the rule is in and gw1 forwards."""
    t.topo.set_isp(False)
    wait_for(lambda: t.topo.rules() and t.topo.forwarding(1) == "1", what="failover via gw1")



def fail_back(t: FlowTopology) -> None:
    """The WAN's carrier back; until the rule is gone."""
    t.topo.set_isp(True)
    wait_for(lambda: not t.topo.rules(), timeout=10, what="failback: rule 1000 gone")



class Holder:
    def __init__(self, proc, status: Path) -> None:
        self.proc, self.path = proc, status

    def status(self) -> dict[str, dict]:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}

    def all_echoing(self, names: list[str]) -> bool:
        s = self.status()
        return all(s.get(n, {}).get("echoed", 0) >= 3 for n in names)

    def echoed(self, name: str) -> int:
        return self.status().get(name, {}).get("echoed", 0)

    def error(self, name: str) -> str | None:
        return self.status().get(name, {}).get("error")

    def sport(self, name: str) -> int:
        return self.status()[name]["sport"]

    def echoes_resume(self, name: str, more: int = 5, timeout: float = 5.0) -> bool:
        start = self.echoed(name)
        wait_for(lambda: self.echoed(name) >= start + more, timeout=timeout, what=f"{name} echoing again")
        return True


__all__ = ["CLIENT", "ECHO_PORT", "FlowTopology", "Holder", "fail_back", "fail_over", "INTERNET", "LAN_PORT", "WAN", "uplink"]
