"""The topology engine (failover/lab): data in, namespaces and processes out, nothing left after.

Observed from outside the engine: ``ip netns list``, ``ip -j addr/route``, /proc.
"""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest

from failover.lab.builder import build
from failover.lab.netns import existing, wait_for
from failover.lab.registry import Registry
from failover.lab.spec import Iface, Node, Process, Route, Segment, Topology


def two_hosts(prefix: str, *, route_via: str = "10.99.0.1") -> Topology:
    return Topology(
        prefix,
        nodes=(Node("a", forwarding=True), Node("b"), Node("c")),
        segments=(Segment("ab", (Iface("a", "ab0", "10.99.0.1/24"), Iface("b", "eth0", "10.99.0.2/24"))),
                  Segment("lan", bridge=Iface("a", "br0", "10.98.0.1/24"),
                          ends=(Iface("c", "eth0", "10.98.0.2/24"),))),
        routes=(Route("b", "10.98.0.0/24", route_via),),
        processes=(Process("sleeper", "c", ("sleep", "600")),),
    )


def ip_json(ns: str, *args: str) -> list[dict]:
    return json.loads(subprocess.run(["ip", "-n", ns, "-j", *args], capture_output=True, text=True,
                                     check=True).stdout or "[]")


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_built_as_written_and_torn_down_to_nothing(tmp_path):
    prefix = f"te{uuid.uuid4().hex[:5]}"
    net = build(two_hosts(prefix), tmp_path)
    try:
        assert sorted(existing(prefix)) == sorted(f"{prefix}-{n}" for n in "abc")
        addrs = {(i["ifname"], a["local"]) for i in ip_json(f"{prefix}-a", "addr") for a in i["addr_info"]}
        assert {("ab0", "10.99.0.1"), ("br0", "10.98.0.1")} <= addrs
        [port] = [i for i in ip_json(f"{prefix}-a", "link") if i.get("master") == "br0"]
        assert port["ifname"] == "br0p0"
        assert {(r["dst"], r.get("gateway")) for r in ip_json(f"{prefix}-b", "route")} >= {("10.98.0.0/24", "10.99.0.1")}
        assert net.read_sysctl("a", "net.ipv4.ip_forward") == "1"
        assert net.read_sysctl("b", "net.ipv4.ip_forward") == "0"
        # reachable across the bridge and the veth, through a forwarding node
        net.ip("c", "route", "add", "default", "via", "10.98.0.1")
        net.exec("b", "python3", "-c", "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                                       "s.connect(('10.98.0.2', 9)); print(s.getsockname()[0])")
        pid = net.registry.pids()["sleeper"]
        assert alive(pid)
    finally:
        gone = net.teardown()
    assert existing(prefix) == []
    assert not alive(pid)
    assert f"process sleeper ({pid})" in gone


def test_a_failed_build_leaves_nothing(tmp_path):
    prefix = f"te{uuid.uuid4().hex[:5]}"
    # a route through an address on no segment of b: `ip route add` fails after namespaces,
    # links and addresses were made
    with pytest.raises(Exception, match="route"):
        build(two_hosts(prefix, route_via="10.97.0.1"), tmp_path)
    assert existing(prefix) == []


def test_a_process_that_dies_at_start_is_reported_and_nothing_is_left(tmp_path):
    prefix = f"te{uuid.uuid4().hex[:5]}"
    t = two_hosts(prefix).replacing_process(Process("sleeper", "c", ("sleep", "611.25"))).adding(processes=(Process("broken", "a", ("sh", "-c", "echo no such thing; exit 3"),
                                                    listen=7),))
    registry = Registry(prefix)
    with pytest.raises(RuntimeError, match="broken exited 3"):
        build(t, tmp_path, registry=registry)
    assert existing(prefix) == []
    assert registry.pids() == {}
    # the process started before the failing one is gone too
    assert subprocess.run(["pgrep", "-xf", "sleep 611.25"], capture_output=True, text=True).stdout == ""


def test_the_registry_is_read_back_by_another_process(tmp_path):
    """`failover lab down` from another shell: the pidfile and the prefix find everything."""
    prefix = f"te{uuid.uuid4().hex[:5]}"
    pidfile = tmp_path / "pids.json"
    # a command line the registry recognises as one of the lab's (ours() reads /proc/PID/cmdline)
    sleeper = Process("sleeper", "c", ("python", "-c", "import time; time.sleep(600)  # failover"))
    net = build(two_hosts(prefix).replacing_process(sleeper), tmp_path, registry=Registry(prefix, pidfile))
    pid = net.registry.pids()["sleeper"]
    try:
        again = Registry.reopen(prefix, pidfile)
        assert again.pids() == {"sleeper": pid}, (again.pids(), pid)
        # While `ip netns exec` execs the program its command line reads empty for an instant: a
        # lab is taken down long after it started, so the process has settled by then.
        wait_for(lambda: again.running("sleeper"), timeout=5, what="the sleeper recognised as ours")
        again.teardown()
        assert existing(prefix) == []
        net.registry.children["sleeper"].wait(5)
        assert not alive(pid)
    finally:
        net.teardown()
