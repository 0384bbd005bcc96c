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
from failover.lab.spec import Iface, Nat, Node, Process, Route, Segment, Topology


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


def dual_stack(prefix: str, *, nat: tuple[Nat, ...] = (Nat("ab0"),)) -> Topology:
    """a forwards and NATs out of ab0 for c (on a's bridge) towards b, in both families:

        c eth0 10.98.0.2 fd98::2 ── br0 a (10.98.0.1 fd98::1) ab0 10.99.0.1 fd99::1 ═══ b eth0 10.99.0.2 fd99::2
    """
    return Topology(
        prefix,
        nodes=(Node("a", forwarding=True, nat=nat), Node("b"), Node("c")),
        segments=(Segment("ab", (Iface("a", "ab0", "10.99.0.1/24", addresses6=("fd99::1/64",)),
                                 Iface("b", "eth0", "10.99.0.2/24", addresses6=("fd99::2/64",)))),
                  Segment("lan", bridge=Iface("a", "br0", "10.98.0.1/24", addresses6=("fd98::1/64",)),
                          ends=(Iface("c", "eth0", "10.98.0.2/24", addresses6=("fd98::2/64",)),))),
        routes=(Route("c", "default", "10.98.0.1"), Route("c", "default", "fd98::1")),
    )


# b answers each datagram with the address it came from; c prints what b saw.
ECHO_PEER = ("import socket,sys; f=socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET; "
             "s=socket.socket(f, socket.SOCK_DGRAM); s.bind((sys.argv[1], 9999)); "
             "d, p = s.recvfrom(64); s.sendto(p[0].encode(), p)")
ASK_PEER = ("import socket,sys; f=socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET; "
            "s=socket.socket(f, socket.SOCK_DGRAM); s.settimeout(3); s.sendto(b'?', (sys.argv[1], 9999)); "
            "print(s.recv(64).decode())")


def seen_by_b(net, address: str) -> str:
    """The source address b sees on a datagram from c to ``address`` (b's), through a."""
    echo = net.spawn("b", ["python3", "-c", ECHO_PEER, address])
    try:
        wait_for(lambda: net.exec("b", "ss", "-Hlun", f"sport = :9999").stdout.strip(), what="b's echo")
        return net.exec("c", "python3", "-c", ASK_PEER, address).stdout.strip()
    finally:
        net.stop(echo)


def test_dual_stack_addresses_routes_forwarding_and_nat_in_both_families(tmp_path):
    prefix = f"te{uuid.uuid4().hex[:5]}"
    net = build(dual_stack(prefix), tmp_path)
    try:
        addrs = {(i["ifname"], a["local"]): a for i in ip_json(f"{prefix}-a", "-6", "addr") for a in i["addr_info"]}
        assert {("ab0", "fd99::1"), ("br0", "fd98::1")} <= set(addrs)
        assert not addrs[("ab0", "fd99::1")].get("tentative")  # nodad: usable at once
        assert {(r["dst"], r.get("gateway")) for r in ip_json(f"{prefix}-c", "-6", "route")} >= {("default", "fd98::1")}
        assert net.read_sysctl("a", "net.ipv6.conf.all.forwarding") == "1"
        assert net.read_sysctl("b", "net.ipv6.conf.all.forwarding") == "0"
        assert "table inet lab" in net.exec("a", "nft", "list", "ruleset").stdout
        # b has no route back to c's networks: only a's NAT brings the answers home
        assert seen_by_b(net, "10.99.0.2") == "10.99.0.1"
        assert seen_by_b(net, "fd99::2") == "fd99::1"
    finally:
        net.teardown()
    assert existing(prefix) == []


def test_no_tentative_ipv6_address_anywhere_right_after_the_build(tmp_path):
    """The kernel's link-local addresses too: a forwarding node solicits its neighbours from its
    link-local, and while that is tentative forwarded IPv6 waits a 1 s retransmit (outage6 saw
    its IPv6 path silent for 0.9 s at start-up)."""
    prefix = f"te{uuid.uuid4().hex[:5]}"
    net = build(dual_stack(prefix), tmp_path)
    try:
        tentative = {(n, i["ifname"], a["local"]) for n in "abc" for i in ip_json(f"{prefix}-{n}", "-6", "addr")
                     for a in i["addr_info"] if a.get("tentative")}
        link_locals = {(n, i["ifname"]) for n in "abc" for i in ip_json(f"{prefix}-{n}", "-6", "addr")
                       for a in i["addr_info"] if a["local"].startswith("fe80:")}
        assert tentative == set()
        assert {("a", "ab0"), ("a", "br0"), ("b", "eth0"), ("c", "eth0")} <= link_locals
    finally:
        net.teardown()
    assert existing(prefix) == []


def test_snat_names_its_family():
    assert Nat("wan0", "snat to 198.51.100.2").rule() == 'oifname "wan0" snat ip to 198.51.100.2'
    assert Nat("wan0", "snat to fd00::2").rule() == 'oifname "wan0" snat ip6 to fd00::2'
    assert Nat("wan0").rule() == 'oifname "wan0" masquerade'
    with pytest.raises(ValueError):
        Nat("wan0", "dnat to 1.2.3.4")
    with pytest.raises(ValueError):
        Route("a", "fd00::/64", "10.0.0.1")
