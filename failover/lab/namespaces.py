"""The namespace lab: builds conf/lab.toml's topology with ip netns/veth and starts every process.

    client ─┐                                   ┌─ alt1 ── up-alt1 ─┐
            ├─ lan0 (bridge) router wan0 ═ isp0 ISP up0 ═ eth0 internet host ─ up-alt2 ── alt2
    altN ───┘                                                       └─ up-alt3 ── alt3

Every process started is recorded in the state folder (pids), so ``down`` can stop exactly
those after a crash; namespaces carry the lab's prefix and go with them.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from .netns import Namespaces, existing, sh, wait_for
from .topology import API_PORT, LabTopology

STATE = Path("/run/failover-lab")
REPO = Path(__file__).resolve().parents[2]


def _ip_fw(nets: Namespaces, role: str, on: bool) -> None:
    nets.sysctl(role, "net.ipv4.ip_forward", 1 if on else 0)


class Lab:
    def __init__(self, topo: LabTopology, state: Path = STATE, api_port: int = API_PORT) -> None:
        self.topo = topo
        self.state = state
        self.api_port = api_port  # where the dashboard appears on this machine's 127.0.0.1
        self.nets = Namespaces(topo.prefix)

    # -- paths --------------------------------------------------------------------------------

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def control_socket(self) -> Path:
        return self.state / "control.sock"

    @property
    def token_file(self) -> Path:
        return self.state / "token"

    @property
    def flow_file(self) -> Path:
        return self.state / "flow.json"

    # -- building -----------------------------------------------------------------------------

    def build(self) -> None:
        if existing(self.topo.prefix):
            raise RuntimeError(f"a lab with prefix {self.topo.prefix} exists: run `failover lab down` first")
        self.state.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        t, n = self.topo, self.nets
        for role in t.roles:
            n.add(role)
            for key in ("net.ipv4.conf.all.rp_filter", "net.ipv4.conf.default.rp_filter"):
                n.sysctl(role, key, 0)  # failover makes paths asymmetric on purpose
        self.add_wan((100, 200))
        _ip_fw(n, "router", True)
        # Masquerading out of the WAN like a home router: the flows failover strands are real,
        # and the sidecar's clean-up of them shows in the event log.
        self._masquerade("router", "wan0")
        # LAN: a bridge on the router, one port per host.
        n.ip("router", "link", "add", "lan0", "type", "bridge")
        n.ip("router", "link", "set", "lan0", "up")
        n.ip("router", "addr", "add", f"{t.lan.router}/{t.lan.length}", "dev", "lan0")
        hosts = [("client", t.lan.client)] + [(g.name, g.address) for g in t.gateway]
        for i, (role, address) in enumerate(hosts):
            n.veth("router", f"lan0p{i}", role, "eth0")
            n.ip("router", "link", "set", f"lan0p{i}", "master", "lan0")
            n.ip(role, "addr", "add", f"{address}/{t.lan.length}", "dev", "eth0")
        n.ip("client", "route", "add", "default", "via", t.lan.router)
        # ISP to the internet host; the ISP routes the LAN back to the router.
        n.veth("isp", "up0", "internet", "eth0")
        n.ip("isp", "addr", "add", f"{t.internet.isp}/{t.internet.length}", "dev", "up0")
        n.ip("internet", "addr", "add", f"{t.internet.host}/{t.internet.length}", "dev", "eth0")
        n.ip("internet", "route", "add", "default", "via", t.internet.isp)
        _ip_fw(n, "isp", True)
        # Each gateway's own uplink to the internet host, NATed so replies come back through it.
        for g in t.gateway:
            n.veth(g.name, "up0", "internet", f"up-{g.name}")
            n.ip(g.name, "addr", "add", f"{g.uplink_gateway}/{g.uplink_net.prefixlen}", "dev", "up0")
            n.ip("internet", "addr", "add", f"{g.uplink_internet}/{g.uplink_net.prefixlen}", "dev", f"up-{g.name}")
            n.ip(g.name, "route", "add", "default", "via", g.uplink_internet)
            self._masquerade(g.name)
            _ip_fw(n, g.name, False)  # until its agent is told "up"

    def add_wan(self, index: tuple[int, int]) -> None:
        """wan0 == isp0 with their addresses, the router's default and the ISP's route to the LAN
        (also to create the WAN again after it was deleted, as a PPPoE reconnect does)."""
        t, n = self.topo, self.nets
        # Distinct ifindexes keep the veth's carrier changes "urgent" for linkwatch.
        n.veth("router", "wan0", "isp", "isp0", index=index)
        n.ip("router", "addr", "add", f"{t.wan.router}/{t.wan.length}", "dev", "wan0")
        n.ip("isp", "addr", "add", f"{t.wan.isp}/{t.wan.length}", "dev", "isp0")
        n.ip("router", "route", "add", "default", "via", t.wan.isp)
        n.ip("isp", "route", "add", t.lan.prefix, "via", t.wan.router)

    def _masquerade(self, role: str, ifname: str = "up0") -> None:
        rules = ("table ip lab {\n chain post {\n  type nat hook postrouting priority 100;\n"
                 f"  oifname \"{ifname}\" masquerade\n }}\n}}\n")
        proc = subprocess.run(["ip", "netns", "exec", self.nets.ns(role), "nft", "-f", "-"],
                              input=rules, capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(f"nft in {role}: {proc.stderr.strip()}")

    # -- processes ----------------------------------------------------------------------------

    def _spawn(self, role: str | None, name: str, argv: list[str]) -> int:
        log = open(self.logs / f"{name}.log", "ab")
        cmd = argv if role is None else ["ip", "netns", "exec", self.nets.ns(role), *argv]
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True)
        pids = self._pids()
        pids[name] = proc.pid
        (self.state / "pids.json").write_text(json.dumps(pids))
        return proc.pid

    def _pids(self) -> dict[str, int]:
        try:
            return json.loads((self.state / "pids.json").read_text())
        except (OSError, ValueError):
            return {}

    def start(self) -> None:
        t = self.topo
        cli = [sys.executable, "-m", "failover.cli"]
        self.token_file.write_text(secrets.token_urlsafe(24) + "\n")
        self.token_file.chmod(0o600)
        config = self.state / "router.toml"
        config.write_text(t.router_config(str(self.control_socket), str(self.token_file)))
        for g in t.gateway:
            self._spawn(g.name, f"agent-{g.name}", [*cli, "agent", "--listen", g.address, "--allow", t.lan.router,
                                                    "--lab-delay-ms", str(g.delay_ms)])
        self._spawn("internet", "reflector-internet", [*cli, "agent", "--listen", t.internet.host])
        self._spawn("internet", "flow-echo", [*cli, "lab", "echo", "--port", str(t.flow.port), "--bind", t.internet.host])
        self._spawn("router", "router", [*cli, "run", "--config", str(config),
                                          "--lab-fault-command", f"{sys.executable} -m failover.cli lab --prefix {t.prefix} fault",
                                          "--lab-flow-file", str(self.flow_file)])
        self._spawn("client", "flow", [*cli, "lab", "flow", "--to", f"{t.internet.host}:{t.flow.port}",
                                        "--rate", str(t.flow.rate_pps), "--stats", str(self.flow_file)])
        self._spawn(None, "proxy", [*cli, "lab", "proxy", "--netns", t.ns("router"), "--port", str(API_PORT),
                                    "--listen-port", str(self.api_port)])
        wait_for(self._dashboard_up, timeout=30, interval=0.2, what=f"the dashboard on {self.url}")

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
        n = self.nets
        n.names = {role: self.topo.ns(role) for role in self.topo.roles}
        if kind == "wan-carrier":
            n.ip("isp", "link", "set", "isp0", "down")
        elif kind == "wan-path":
            _ip_fw(n, "isp", False)  # carrier stays up, nothing beyond the ISP answers
        elif kind == "clear":
            n.ip("isp", "link", "set", "isp0", "up")
            # Taking isp0 down deleted the ISP's route back to the LAN: put it back.
            n.ip("isp", "route", "replace", self.topo.lan.prefix, "via", self.topo.wan.router)
            _ip_fw(n, "isp", True)
        else:
            raise ValueError(f"unknown fault {kind!r}: wan-carrier, wan-path or clear")

    # -- teardown -----------------------------------------------------------------------------

    def down(self) -> list[str]:
        """Stop the processes this lab started, delete its namespaces and state; report what went."""
        gone = []
        for name, pid in self._pids().items():
            if _ours(pid):
                try:
                    os.killpg(pid, signal.SIGTERM)
                    gone.append(f"process {name} ({pid})")
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 10
        for pid in self._pids().values():
            while _ours(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _ours(pid):
                os.killpg(pid, signal.SIGKILL)
        for ns in existing(self.topo.prefix):
            sh("ip", "netns", "del", ns, check=False)
            gone.append(f"namespace {ns}")
        if self.state.exists():
            for p in sorted(self.state.rglob("*"), reverse=True):
                p.unlink() if not p.is_dir() else p.rmdir()
            self.state.rmdir()
        return gone


def _ours(pid: int) -> bool:
    """Alive and still one of our commands (a pid may have been reused since): the lab's are
    `failover ...`, the benchmarks' own (bench/labnet.py) `python -m bench....`."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"failover" in cmdline or b"\0bench." in cmdline
