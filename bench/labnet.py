"""Shared set-up for the lab-based benchmarks (bench.outage, bench.brownout, ...).

``BenchLab`` is failover/lab/namespaces.py's ``Lab`` (conf/lab.toml's topology, built by the
engine in failover/lab) with ``demo=False`` — no relay of the dashboard to 127.0.0.1:8080 (one per
machine) and no 50 packet/s demo flow (the benchmark runs its own) — under a private prefix and
state folder, so it runs beside a `failover lab up` lab. Its router probes the internet host
alone (``wan.probe``), as the lab benchmarks' published figures were measured. Its router's config may carry a
``[dampening]`` section (see ``NO_HOLD``).
"""

from __future__ import annotations

import secrets
import shutil
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from failover.config import Config, Dampening, Wan, to_toml
from failover.core.controlline import STATE, state_fields
from failover.lab.namespaces import Lab
from failover.lab.netns import wait_for
from failover.lab.routerlab import NO_HOLD
from failover.lab.spec import Process
from failover.lab.topology import API_PORT, DEFAULT_LAB, load
from failover.net.control_client import request_blocking



def log_errors(text: str) -> list[str]:
    """Tracebacks and errors in a router's log: a benchmark with any is not a clean run."""
    return [line for line in text.splitlines() if "Traceback" in line or " ERROR " in line]


def print_errors(errors: list[str]) -> None:
    """Show the first of a router's logged errors, if any, after a benchmark's figures."""
    if errors:
        print("router log errors:", *errors[:10], sep="\n  ")


@contextmanager
def running(lab: BenchLab | None = None, internet_reflector: list[str] | None = None) -> Iterator[BenchLab]:
    """A started BenchLab (``lab``, or a plain one) for one benchmark; afterwards what it ``closes``
    is closed, the lab torn down and the router's logged errors printed after the figures."""
    lab = lab or BenchLab()
    lab.internet_reflector = internet_reflector or lab.internet_reflector
    try:
        lab.build()
        lab.start()
        yield lab
    finally:
        for thing in reversed(lab.to_close):
            thing.close()
        lab.router_errors_seen = lab.router_errors()
        lab.cleanup()
        print_errors(lab.router_errors_seen)


class BenchLab(Lab):
    def __init__(self, dampening: dict | None = NO_HOLD, prefix: str | None = None) -> None:
        topo = load(DEFAULT_LAB)
        topo = topo.model_copy(update={"prefix": prefix or f"afb{secrets.token_hex(2)}"})
        self._tmp = Path(tempfile.mkdtemp(prefix="bench-lab-"))
        super().__init__(topo, state=self._tmp / "state", demo=False)
        self.dampening = dampening
        #: A module and its arguments (``python -m``) to run as the path check's target instead of
        #: the agent's reflector, e.g. bench.spike_reflector; set before start().
        self.internet_reflector: list[str] | None = None
        self.to_close: list = []
        self.router_errors_seen: list[str] = []  # what the router logged, kept after cleanup

    def closes(self, thing):
        """``thing`` (a flow, a listener, an HTTP client) is closed before the lab goes."""
        self.to_close.append(thing)
        return thing

    def ns(self, role: str) -> str:
        return self.topo.ns(role)

    def build(self) -> None:
        super().build(config=to_toml(self.router_model()))

    def router_model(self) -> Config:
        """The router's config: the lab's with ``dampening``, its path check the one STAMP probe at the
        internet host (``wan.probe``) the lab benchmarks measure, not the lab's three targets
        (bench.path_targets sets those; a subclass adds what it measures)."""
        cfg = self.router_config()
        cfg = cfg.model_copy(update={"wan": Wan(interface=cfg.wan.interface, probe=self.topo.internet.host)})
        if self.dampening is not None:
            cfg = cfg.model_copy(update={"dampening": Dampening(**self.dampening)})
        return cfg

    def start(self) -> None:
        if self.internet_reflector:
            self.net.topology = self.net.topology.replacing_process(
                Process("reflector-internet", "internet", ("python", "-u", "-m", *self.internet_reflector)))
        super().start()
        wait_for(lambda: self.state_or_none() is not None, timeout=30, interval=0.1, what="the daemon")
        wait_for(self.steady, timeout=30, interval=0.1, what="WAN up, path up, failover off")
        # The REST API is the sidecar's child and may come after the daemon's steady state.
        wait_for(lambda: self.net.listening("router", API_PORT), timeout=30, interval=0.1, what="the REST API")

    def router_toml(self) -> str:
        """The router's failover.toml: the lab's, plus ``extra_config``."""
        return self.topo.router_config(str(self.control_socket), str(self.token_file)) + self.extra_config

    def start_agent(self, name: str) -> None:
        self.net.start(f"agent-{name}")

    def stop_agent(self, name: str, sig: int = signal.SIGTERM) -> None:
        """Stop the agent this lab started on gateway ``name`` (its process group), and wait."""
        self.net.stop(f"agent-{name}", sig)

    def log(self, name: str) -> str:
        return self.net.log(name)

    def router_errors(self) -> list[str]:
        """Tracebacks and errors the router logged: a benchmark with any is not a clean run."""
        return log_errors(self.log("router"))

    # -- the daemon's view ---------------------------------------------------------------------

    def control(self, line: str, timeout: float = 2.0) -> str:
        return request_blocking(str(self.control_socket), line, timeout)

    def state_or_none(self) -> dict[str, str] | None:
        try:
            return state_fields(self.control(STATE))
        except (OSError, ValueError):
            return None

    def steady(self) -> bool:
        s = self.state_or_none()
        return bool(s) and s["wan"] == "up" and s["path"] == "up" and s["failover"] == "off" \
            and s["rule"] == "absent"

    # -- faults -------------------------------------------------------------------------------

    def isp_forwarding(self, on: bool) -> None:
        self.net.forwarding("isp", on)

    def isp_carrier(self, up: bool) -> None:
        """wan0 loses carrier when the ISP's end of the veth goes down. Taking isp0 down also
        deletes the ISP's route back to the LAN, so it is put back with the carrier (the lab's own
        `fault clear` does not, and the client's traffic via the ISP stays broken afterwards)."""
        self.net.ip("isp", "link", "set", "isp0", "up" if up else "down")
        if up:
            self.net.ip("isp", "route", "replace", self.topo.lan.prefix, "via", self.topo.wan.router)

    def delete_wan(self) -> None:
        """wan0 destroyed (its veth peer isp0 with it), as when PPPoE drops or a modem re-enumerates."""
        self.net.ip("router", "link", "del", "wan0")

    # created again: Lab.add_wan(index) with a new index

    def isp_loss(self, percent: int | None, both: bool = False) -> None:
        """Random loss in the ISP's forward chain (nftables numgen), or none."""
        self.net.exec("isp", "nft", "delete", "table", "ip", "benchloss", check=False)
        if percent is None:
            return
        match = "" if both else 'iifname "isp0" '
        self.net.nft("isp", "table ip benchloss {\n chain forward_loss {\n  type filter hook forward priority 0; "
                     f"policy accept;\n  {match}numgen random mod 100 < {percent} drop\n }}\n}}\n")

    def cleanup(self) -> None:
        try:
            self.down()
        finally:
            shutil.rmtree(self._tmp, ignore_errors=True)
