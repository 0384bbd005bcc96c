"""The router topology every namespace scenario runs on (built once per test, torn down always).

    isp ── isp0 ═══ wan0 ── router ── lan0 (bridge 10.10.0.1/24) ─┬─ gw1 eth0 10.10.0.11
    198.51.100.1/24   198.51.100.2/24                               ├─ gw2 eth0 10.10.0.12
                                                                    └─ gwN …

Normal routing in the router: ``default via 198.51.100.1 dev wan0`` in main.
Each gateway runs ``failover agent`` (TCP 7070 up/down); forwarding starts off.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import textwrap
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from failover.net.control_client import request_blocking
from failover.lab.netns import Namespaces, sh, wait_for

REPO = Path(__file__).resolve().parents[2]
ISP = "198.51.100.1"
WAN = "198.51.100.2"
LAN_PREFIX = "10.10.0.0/24"
ROUTER_LAN = "10.10.0.1"
TABLE = 100
PRIORITY = 1000
# The host's error wording as kernels >= 6.7 give it, and as older ones do ("(efault)" for all).
ERROR_STYLES = ["names", "pre-6.7"]


def gateway_address(i: int) -> str:
    return f"10.10.0.{10 + i}"


@dataclass
class RouterTopology:
    nets: Namespaces
    tmp: Path
    gateways: list[str] = field(default_factory=list)  # addresses, gw1 first
    agents: dict[int, object] = field(default_factory=dict)  # gateway number -> its agent process
    host: object = None
    socket_path: str = ""
    error_style: str = "names"          # FAILOVER_HOST_ERRORS: "pre-6.7" words every errno "(efault)"
    clock_offset_file: Path | None = None  # FAILOVER_HOST_CLOCK_OFFSET_FILE, see shift_clock

    # -- building -------------------------------------------------------------------------

    @classmethod
    def build(cls, tmp: Path, n_gateways: int = 2, agents: bool = True, urgent_wan: bool = True) -> RouterTopology:
        """``urgent_wan=False`` leaves the WAN veth's ifindexes to the kernel (equal: see _add_wan)."""
        nets = Namespaces(f"af{uuid.uuid4().hex[:6]}")
        topo = cls(nets, tmp)
        try:
            topo._build(n_gateways, agents, urgent_wan)
        except BaseException:
            nets.cleanup()
            raise
        return topo

    def _build(self, n_gateways: int, agents: bool, urgent_wan: bool = True) -> None:
        n = self.nets
        for role in ("router", "isp"):
            n.add(role)
        self._add_wan((100, 200) if urgent_wan else None)
        n.ip("router", "link", "add", "lan0", "type", "bridge")
        n.ip("router", "link", "set", "lan0", "up")
        n.ip("router", "addr", "add", f"{ROUTER_LAN}/24", "dev", "lan0")
        for i in range(1, n_gateways + 1):
            self.add_gateway(i, agent=agents)

    def _add_wan(self, index: tuple[int, int] | None) -> None:
        n = self.nets
        # Distinct ifindexes: a veth whose ifindex equals its peer's (2 and 2 in two fresh
        # namespaces) is not "urgent" for the kernel's linkwatch, which then delays its carrier
        # changes by up to a second, as on a physical NIC.
        n.veth("router", "wan0", "isp", "isp0", index=index)
        n.ip("router", "addr", "add", f"{WAN}/24", "dev", "wan0")
        n.ip("isp", "addr", "add", f"{ISP}/24", "dev", "isp0")
        n.ip("router", "route", "add", "default", "via", ISP, "dev", "wan0")

    def delete_wan(self) -> None:
        """wan0 destroyed (with its peer isp0), as when PPPoE drops or a USB modem re-enumerates."""
        self.nets.ip("router", "link", "del", "wan0")

    def recreate_wan(self, index: tuple[int, int]) -> None:
        """wan0 created again under the same name with the ifindex given; addresses and the
        default route restored, as a PPPoE client or ifupdown would."""
        self._add_wan(index)

    def wan_ifindex(self) -> int:
        return json.loads(self.nets.ip("router", "-j", "link", "show", "wan0").stdout)[0]["ifindex"]

    def add_gateway(self, i: int, agent: bool = True) -> str:
        n, role, address = self.nets, f"gw{i}", gateway_address(i)
        n.add(role)
        n.veth("router", f"lan0p{i}", role, "eth0")
        n.ip("router", "link", "set", f"lan0p{i}", "master", "lan0")
        n.ip(role, "addr", "add", f"{address}/24", "dev", "eth0")
        n.sysctl(role, "net.ipv4.ip_forward", 0)
        if agent:
            self.start_agent(i)
        self.gateways.append(address)
        return address

    def start_agent(self, i: int, *extra: str):
        role, address = f"gw{i}", gateway_address(i)
        proc = self.nets.spawn(
            role, [sys.executable, "-m", "failover.cli", "agent", "--listen", address, *extra],
            log=self.tmp / f"{role}-agent.log", cwd=REPO,
        )
        wait_for(lambda: self._listening(role, 7070), what=f"agent on {address}")
        self.agents[i] = proc
        return proc

    def stop_agent(self, i: int, sig: int = signal.SIGTERM) -> None:
        self.nets.stop(self.agents.pop(i), sig)

    def _listening(self, role: str, port: int) -> bool:
        out = self.nets.exec(role, "ss", "-Htln", f"sport = :{port}", check=False).stdout
        return bool(out.strip())

    def config(self, gateways: list[str] | None = None, **sections: str) -> Path:
        """Write a failover.toml for this topology; returns its path."""
        self.socket_path = str(self.tmp / "control.sock")
        gws = gateways if gateways is not None else self.gateways
        text = textwrap.dedent(f"""
            [wan]
            interface = "wan0"
            [failover]
            table = {TABLE}
            priority = {PRIORITY}
            lan_interface = "lan0"
            [control]
            socket = "{self.socket_path}"
            """)
        for i, address in enumerate(gws, start=1):
            text += f'[[gateway]]\nname = "gw{i}"\naddress = "{address}"\n'
        for name, body in sections.items():
            text += f"[{name}]\n{textwrap.dedent(body)}\n"
        path = self.tmp / "failover.toml"
        path.write_text(text)
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
        self.host = self.nets.spawn("router", argv, log=self.tmp / "host.log", **spawn)
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
        rc = self.nets.stop(self.host)
        self.host = None
        return rc

    def log(self, name: str) -> str:
        p = self.tmp / f"{name}.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def control(self, line: str | bytes, timeout: float = 2.0) -> str:
        data = line if isinstance(line, bytes) else line.encode() + b"\n"
        return request_blocking(self.socket_path, data, timeout)

    def state(self) -> dict[str, str]:
        reply = self.control("state")
        assert reply.startswith("ok "), reply
        return dict(kv.split("=", 1) for kv in reply.split()[1:])

    # -- observing routing state ----------------------------------------------------------

    def has_failover_rule(self) -> bool:
        """Exactly one rule at the failover priority, and it looks up table T."""
        rules = self.rules()
        return len(rules) == 1 and rules[0].get("table") == str(TABLE)

    def rules(self) -> list[dict]:
        """Rules at the failover priority, as ``ip -j rule`` reports them."""
        out = self.nets.ip("router", "-d", "-j", "-4", "rule", "show").stdout
        return [r for r in json.loads(out) if r.get("priority") == PRIORITY]

    def table_routes(self) -> list[dict]:
        proc = self.nets.ip("router", "-j", "-4", "route", "show", "table", str(TABLE), check=False)
        # A table that does not exist yet fails, after printing a lone "[".
        return json.loads(proc.stdout) if proc.returncode == 0 and proc.stdout.strip() else []

    def default_via(self) -> str | None:
        for r in self.table_routes():
            if r.get("dst") == "default":
                return r.get("gateway")
        return None

    def add_raw_rule(self, table: int = TABLE, priority: int = PRIORITY) -> None:
        """A rule added without NLM_F_EXCL: duplicates are possible, as after old tools."""
        self.nets.exec("router", sys.executable, str(Path(__file__).with_name("rawrule.py")), str(table), str(priority))

    def forwarding(self, i: int) -> str:
        return self.nets.read_sysctl(f"gw{i}", "net.ipv4.ip_forward")

    def set_isp(self, up: bool) -> None:
        """Carrier on wan0 follows the ISP side of the veth."""
        self.nets.ip("isp", "link", "set", "isp0", "up" if up else "down")

    def cleanup(self) -> None:
        self.nets.cleanup()
