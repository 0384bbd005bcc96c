"""Shared set-up for the lab-based benchmarks (bench.outage, bench.brownout).

``BenchLab`` is failover/lab/namespaces.py's ``Lab`` (same topology, same processes) with a
private prefix and state folder, so it runs beside a `failover lab up` lab. Its ``start`` is the
lab's minus the two things that would collide or disturb a measurement: the host-side proxy on
127.0.0.1:8080 (one per machine) and the 50 packet/s demo flow (the benchmark runs its own).
It may append a ``[dampening]`` section to the router's config (see ``NO_HOLD``).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from failover.net.control_client import request_blocking
from failover.lab.namespaces import Lab
from failover.lab.topology import load
from failover.lab.netns import wait_for

#: Failback hold-down that never holds: trials follow each other every few seconds, and the default
#: dampening (penalty 1000, suppress 1500, half-life 15 s) would hold failback for tens of seconds
#: after the second trial. Failover itself is never held by dampening (docs/design.md, kernel/failover/
#: dampening.lua), so this changes nothing in what is measured, only the wait between trials.
NO_HOLD = ("[dampening]\npenalty = 1\nsuppress = 1000000\nmax_penalty = 1000000\nreuse = 0\n"
           "min_clean_ms = 1000\n")


def log_errors(text: str) -> list[str]:
    """Tracebacks and errors in a router's log: a benchmark with any is not a clean run."""
    return [line for line in text.splitlines() if "Traceback" in line or " ERROR " in line]


def print_errors(errors: list[str]) -> None:
    """Show the first of a router's logged errors, if any, after a benchmark's figures."""
    if errors:
        print("router log errors:", *errors[:10], sep="\n  ")


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


class BenchLab(Lab):
    def __init__(self, extra_config: str = NO_HOLD, prefix: str | None = None) -> None:
        topo = load("conf/lab.toml")
        topo = topo.model_copy(update={"prefix": prefix or f"afb{secrets.token_hex(2)}"})
        self._tmp = Path(tempfile.mkdtemp(prefix="bench-lab-"))
        super().__init__(topo, state=self._tmp / "state")
        self.extra_config = extra_config
        #: A module and its arguments (``python -m``) to run as the path check's target instead of
        #: the agent's reflector, e.g. bench.spike_reflector; set before start().
        self.internet_reflector: list[str] | None = None
        self.nets.names = {role: topo.ns(role) for role in topo.roles}

    def ns(self, role: str) -> str:
        return self.topo.ns(role)

    def start(self) -> None:
        t = self.topo
        cli = [sys.executable, "-m", "failover.cli"]
        self.token_file.write_text(secrets.token_urlsafe(24) + "\n")
        self.token_file.chmod(0o600)
        config = self.state / "router.toml"
        config.write_text(t.router_config(str(self.control_socket), str(self.token_file)) + self.extra_config)
        for g in t.gateway:
            self.start_agent(g.name)
        reflector = ([sys.executable, "-u", "-m", *self.internet_reflector] if self.internet_reflector
                     else [*cli, "agent", "--listen", t.internet.host])
        self._spawn("internet", "reflector-internet", reflector)
        # Bound to the host's address: a reply to a gateway's NATed uplink must leave from
        # 203.0.113.1, or the gateway's conntrack does not match it and drops it.
        self._spawn("internet", "flow-echo",
                    [*cli, "lab", "echo", "--port", str(t.flow.port), "--bind", t.internet.host])
        self._spawn("router", "router", [*cli, "run", "--config", str(config)])
        wait_for(lambda: self.state_or_none() is not None, timeout=30, interval=0.1, what="the daemon")
        wait_for(self.steady, timeout=30, interval=0.1, what="WAN up, path up, failover off")

    def start_agent(self, name: str) -> None:
        g = next(g for g in self.topo.gateway if g.name == name)
        self._spawn(g.name, f"agent-{g.name}", [sys.executable, "-m", "failover.cli", "agent", "--listen",
                                                g.address, "--lab-delay-ms", str(g.delay_ms)])

    def stop_agent(self, name: str, sig: int = signal.SIGTERM) -> None:
        """Stop the agent this lab started on gateway ``name`` (its process group), and wait."""
        pid = self._pids()[f"agent-{name}"]
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        wait_for(lambda: not os.path.exists(f"/proc/{pid}") or _zombie(pid), timeout=10, interval=0.01,
                 what=f"agent-{name} stopped")

    def log(self, name: str) -> str:
        p = self.logs / f"{name}.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def router_errors(self) -> list[str]:
        """Tracebacks and errors the router logged: a benchmark with any is not a clean run."""
        return log_errors(self.log("router"))

    # -- the daemon's view ---------------------------------------------------------------------

    def control(self, line: str, timeout: float = 2.0) -> str:
        return request_blocking(str(self.control_socket), line.encode() + b"\n", timeout)

    def state_or_none(self) -> dict[str, str] | None:
        try:
            reply = self.control("state")
        except OSError:
            return None
        if not reply.startswith("ok "):
            return None
        return dict(kv.split("=", 1) for kv in reply.split()[1:])

    def steady(self) -> bool:
        s = self.state_or_none()
        return bool(s) and s["wan"] == "up" and s["path"] == "up" and s["failover"] == "off" \
            and s["rule"] == "absent"

    # -- faults -------------------------------------------------------------------------------

    def isp_forwarding(self, on: bool) -> None:
        self.nets.sysctl("isp", "net.ipv4.ip_forward", 1 if on else 0)

    def isp_carrier(self, up: bool) -> None:
        """wan0 loses carrier when the ISP's end of the veth goes down. Taking isp0 down also
        deletes the ISP's route back to the LAN, so it is put back with the carrier (the lab's own
        `fault clear` does not, and the client's traffic via the ISP stays broken afterwards)."""
        self.nets.ip("isp", "link", "set", "isp0", "up" if up else "down")
        if up:
            self.nets.ip("isp", "route", "replace", self.topo.lan.prefix, "via", self.topo.wan.router)

    def delete_wan(self) -> None:
        """wan0 destroyed (its veth peer isp0 with it), as when PPPoE drops or a modem re-enumerates."""
        self.nets.ip("router", "link", "del", "wan0")

    # created again: Lab.add_wan(index) with a new index

    def isp_loss(self, percent: int | None, both: bool = False) -> None:
        """Random loss in the ISP's forward chain (nftables numgen), or none."""
        ns = self.ns("isp")
        subprocess.run(["ip", "netns", "exec", ns, "nft", "delete", "table", "ip", "benchloss"],
                       capture_output=True)
        if percent is None:
            return
        match = "" if both else 'iifname "isp0" '
        rules = ("table ip benchloss {\n chain forward_loss {\n  type filter hook forward priority 0; policy accept;\n"
                 f"  {match}numgen random mod 100 < {percent} drop\n }}\n}}\n")
        proc = subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=rules,
                              capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(f"nft in the ISP: {proc.stderr.strip()}")

    def cleanup(self) -> None:
        try:
            self.down()
        finally:
            subprocess.run(["rm", "-rf", str(self._tmp)])
