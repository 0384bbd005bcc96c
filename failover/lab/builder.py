"""The one builder: a ``spec.Topology`` made real with ``ip netns``/``ip link``/nftables.

Dual-stack throughout: IPv6 addresses go on with ``nodad`` and the kernel's link-local ones get no
duplicate address detection either (no second before a test can use them), a forwarding node
forwards both families, and a node's NAT is one nftables ``inet`` table, so ``masquerade`` covers
IPv4 and IPv6 alike.

The commands are those a person would type, so a failing step reads like a shell transcript.
Everything created is recorded in a ``Registry``; a build that fails part-way tears down what it
had made before the error goes on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from .netns import sh, wait_for
from .registry import Registry
from .spec import Iface, Node, Process, Route, Segment, Topology

REPO = Path(__file__).resolve().parents[2]
FAILOVER = [sys.executable, "-m", "failover.cli"]


def command(argv: tuple[str, ...] | list[str]) -> list[str]:
    """A process's argv as run here: ``failover`` is this interpreter's failover.cli, ``python``
    this interpreter."""
    if argv and argv[0] == "failover":
        return [*FAILOVER, *argv[1:]]
    if argv and argv[0] == "python":
        return [sys.executable, *argv[1:]]
    return list(argv)


class Network:
    """A built topology: run commands in its nodes, start and stop its processes, tear it down."""

    def __init__(self, topology: Topology, logs: Path | None = None, registry: Registry | None = None) -> None:
        self.topology = topology
        self.logs = logs
        self.registry = registry or Registry(topology.prefix)

    # -- commands in a node -------------------------------------------------------------------

    def ns(self, node: str) -> str:
        return self.topology.ns(node)

    def ip(self, node: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return sh("ip", "-n", self.ns(node), *args, check=check)

    def exec(self, node: str, *argv: str, check: bool = True, timeout: float = 30,
             input: str | None = None) -> subprocess.CompletedProcess[str]:
        return sh("ip", "netns", "exec", self.ns(node), *argv, check=check, timeout=timeout, input=input)

    def sysctl(self, node: str, key: str, value: str | int) -> None:
        self.exec(node, "sysctl", "-q", "-w", f"{key}={value}")

    def read_sysctl(self, node: str, key: str) -> str:
        return self.exec(node, "sysctl", "-n", key).stdout.strip()

    def forwarding(self, node: str, on: bool) -> None:
        """Both families: a node that forwards IPv4 forwards IPv6 (and one that stops, stops both)."""
        self.sysctl(node, "net.ipv4.ip_forward", 1 if on else 0)
        self.sysctl(node, "net.ipv6.conf.all.forwarding", 1 if on else 0)

    def route(self, route: Route, verb: str = "add") -> None:
        family = ("-6",) if route.family == 6 else ()
        self.ip(route.node, *family, "route", verb, *route.args())

    def addresses(self, end: Iface) -> None:
        if end.address:
            self.ip(end.node, "addr", "add", end.address, "dev", end.name)
        for a in end.addresses6:
            self.ip(end.node, "-6", "addr", "add", a, "dev", end.name, "nodad")

    def nft(self, node: str, rules: str) -> None:
        self.exec(node, "nft", "-f", "-", input=rules)

    def listening(self, node: str, port: int) -> bool:
        return bool(self.exec(node, "ss", "-Htln", f"sport = :{port}", check=False).stdout.strip())

    # -- building -----------------------------------------------------------------------------

    def build(self) -> None:
        t = self.topology
        for node in t.nodes:
            self.add_node(node)
        for seg in t.segments:
            self.add_segment(seg)
        for route in t.routes:
            self.route(route)
        for node in t.nodes:
            if node.nat:
                self.nft(node.name, _nat_table(node))

    def extend(self, nodes=(), segments=(), routes=()) -> None:
        """More of the topology at run time (hosts added to a built network), built the same way."""
        for node in nodes:
            self.add_node(node)
        self.topology = self.topology.adding(segments=segments, routes=routes)
        for seg in segments:
            self.add_segment(seg)
        for route in routes:
            self.route(route)

    def add(self, name: str) -> str:
        """One more plain node (no forwarding, default sysctls), at run time; its namespace's name."""
        self.add_node(Node(name))
        return self.ns(name)

    def add_node(self, node: Node) -> None:
        if node not in self.topology.nodes:  # one joining at run time (a gateway more, a test's box)
            self.topology = self.topology.adding(nodes=(node,))
        ns = self.registry.add_namespace(self.ns(node.name))
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        # A link taken down and up again (a fault: the ISP's side of the WAN) keeps its IPv6
        # addresses, as it keeps its IPv4 ones; by default the kernel would drop them.
        self.sysctl(node.name, "net.ipv6.conf.all.keep_addr_on_down", 1)
        # No duplicate address detection for the link-local addresses the kernel makes either
        # (set before any link exists here: a link takes `default`). A node forwarding IPv6 sends
        # its neighbour solicitation from its link-local address; while that is tentative (0.5-2 s
        # after the link came up) none leaves, and the forwarded packets wait a full 1 s
        # retransmit: a silent IPv6-only outage right after the build.
        for key in ("net.ipv6.conf.all.accept_dad", "net.ipv6.conf.default.accept_dad"):
            self.sysctl(node.name, key, 0)
        if not node.rp_filter:
            for key in ("net.ipv4.conf.all.rp_filter", "net.ipv4.conf.default.rp_filter"):
                self.sysctl(node.name, key, 0)
        self.forwarding(node.name, node.forwarding)

    def add_segment(self, seg: Segment) -> None:
        if seg.bridge is None:
            a, b = seg.ends
            self.veth(a, b)
            return
        br = seg.bridge
        self.ip(br.node, "link", "add", br.name, "type", "bridge")
        self.ip(br.node, "link", "set", br.name, "up")
        self.addresses(br)
        for end in seg.ends:
            self.attach(seg, end)

    def attach(self, seg: Segment, end: Iface) -> None:
        """One more host on a bridged segment (also at run time: a gateway that joins the LAN)."""
        assert seg.bridge is not None, f"segment {seg.name} has no bridge"
        assert end in seg.ends or end.port, f"{end}: a host joining at run time names its bridge port"
        port = Iface(seg.bridge.node, seg.port_name(end) if end in seg.ends else str(end.port))
        self.veth(port, end)
        self.ip(port.node, "link", "set", port.name, "master", seg.bridge.name)

    def restore(self, seg: Segment) -> None:
        """A segment made again after its links were deleted (as a PPPoE reconnect makes the WAN):
        its links and addresses, and the topology's routes through it, which went with them."""
        self.add_segment(seg)
        for r in self.topology.routes:
            if seg.carries(r.via):
                self.route(r, "replace")

    def veth(self, a: Iface, b: Iface) -> None:
        """A veth pair ``a``—``b``, both up, with their addresses."""
        ia = ("index", str(a.index)) if a.index else ()
        ib = ("index", str(b.index)) if b.index else ()
        self.ip(a.node, "link", "add", a.name, *ia, "type", "veth", "peer", "name", b.name, *ib,
                "netns", self.ns(b.node))
        for end in (a, b):
            self.ip(end.node, "link", "set", end.name, "up")
            self.addresses(end)

    # -- processes ----------------------------------------------------------------------------

    def start_all(self) -> None:
        for p in self.topology.processes:
            self.start(p)

    def start(self, process: Process | str, *extra: str, timeout: float = 10, **popen) -> subprocess.Popen:
        """Start a process of the topology (or one given), wait for its port if it has one."""
        p = self.topology.process(process) if isinstance(process, str) else process
        argv = [*command(p.argv), *extra]
        if p.node is not None:
            argv = ["ip", "netns", "exec", self.ns(p.node), *argv]
        if p.env:
            popen["env"] = {**popen.get("env", os.environ), **dict(p.env)}
        popen.setdefault("cwd", REPO)
        assert self.logs is not None, "a network that starts its topology's processes needs a logs folder"
        self.logs.mkdir(parents=True, exist_ok=True)
        proc = self.registry.spawn(p.name, argv, log=self.log_path(p.name), **popen)
        if p.listen is not None:
            assert p.node is not None

            def up() -> bool:
                if proc.poll() is not None:
                    raise RuntimeError(f"{p.name} exited {proc.returncode}:\n{self.log(p.name)}")
                return self.listening(p.node, p.listen)

            wait_for(up, timeout=timeout, interval=0.02, what=f"{p.name} listening on {p.listen}")
        return proc

    def spawn(self, node: str, argv: list[str], *, log: Path | None = None, name: str | None = None,
              **popen) -> subprocess.Popen:
        """A process beside the topology's own (a test's helper, a replacement agent), registered
        like them: ``name`` or one made from the node and a count."""
        name = name or f"{node}-{len(self.registry.children) + 1}"
        while name in self.registry.children:
            name += "+"
        return self.registry.spawn(name, ["ip", "netns", "exec", self.ns(node), *argv], log=log, **popen)

    @property
    def procs(self) -> list[subprocess.Popen]:
        """The processes started and not stopped, oldest first."""
        return list(self.registry.children.values())

    def stop(self, proc: str | subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10) -> int | None:
        """Stop a process by its name or its Popen (its group: SIGTERM, then SIGKILL if it lingers)."""
        if not isinstance(proc, str):
            name = next((n for n, p in self.registry.children.items() if p is proc), None)
            if name is None:  # stopped already
                return proc.wait()
            proc = name
        return self.registry.stop(proc, sig, timeout)

    def log_path(self, name: str) -> Path:
        assert self.logs is not None
        return self.logs / f"{name}.log"

    def log(self, name: str) -> str:
        p = self.log_path(name)
        return p.read_text(errors="replace") if p.exists() else ""

    def teardown(self) -> list[str]:
        return self.registry.teardown()


def _nat_table(node: Node) -> str:
    rules = "".join(f"  {n.rule()}\n" for n in node.nat)
    return f"table inet lab {{\n chain post {{\n  type nat hook postrouting priority 100;\n{rules} }}\n}}\n"


def build(topology: Topology, logs: Path, *, registry: Registry | None = None, start: bool = True) -> Network:
    """Namespaces, links, addresses, routes, NAT, then (``start``) the processes in order.
    On any failure, everything made so far is torn down before the error goes on."""
    net = Network(topology, logs, registry)
    try:
        net.build()
        if start:
            net.start_all()
    except BaseException:
        net.teardown()
        raise
    return net
