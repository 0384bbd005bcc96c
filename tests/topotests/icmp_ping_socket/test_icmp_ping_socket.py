"""The ICMP path check without CAP_NET_RAW: failover/net/icmpsock.py's ping-socket fallback.

A router runs as root and always gets the raw ICMP socket, so the fallback to the unprivileged
"ping" socket (SOCK_DGRAM, IPPROTO_ICMP) is only taken by a process without CAP_NET_RAW. Here the
path check runs in a child whose capability bounding set lacks CAP_NET_RAW (``setpriv``; its
CapEff is read from /proc), in a namespace whose ``net.ipv4.ping_group_range`` admits group 0
(a new namespace's default, ``1 0``, admits nobody: then no ICMP socket opens at all).

    router ── wan0 ═══ eth0 ── target 10.97.0.2 (the kernel answers echo; nftables silences it)

Expected:

    ping_group_range "1 0", no CAP_NET_RAW:   open_icmp fails (PermissionError): nothing to fall back on
    ping_group_range "0 0", no CAP_NET_RAW:   raw socket refused, open_icmp gives the ping socket
                                              (no IPv4 header on what it reads); the target's echo
                                              requests arrive (an nftables counter in the target);
                                              the path goes up on the replies
    target drops echo requests:               path down
    target answers again:                     path up
    wan0 deleted and made again:              the check binds new sockets to it (no CAP_NET_RAW
                                              needed for that) and the path comes back up
"""

from __future__ import annotations

import json
import shutil
import sys
import uuid
from pathlib import Path

import pytest

from failover.lab.builder import build
from failover.lab.netns import wait_for
from failover.lab.spec import Iface, Node, Segment, Topology

pytestmark = pytest.mark.netns

CHILD = Path(__file__).with_name("pathcheck_child.py")
TARGET = "10.97.0.2"
CAP_NET_RAW = 13  # linux/capability.h
# No CAP_NET_RAW for the child or anything it runs; everything else a root process has stays.
NO_NET_RAW = ["setpriv", "--bounding-set=-net_raw", "--inh-caps=-all", "--no-new-privs", "--"]
SILENCE = ("add table ip silence\ndelete table ip silence\n"
           "table ip silence {\n chain input {\n  type filter hook input priority 0;\n"
           "  icmp type echo-request drop\n }\n}\n")
ANSWER = "add table ip silence\ndelete table ip silence\n"
COUNT = ("table ip seen {\n chain input {\n  type filter hook input priority -10;\n"
         "  icmp type echo-request counter\n }\n}\n")


@pytest.fixture
def net(tmp_path):
    if shutil.which("nft") is None:
        pytest.skip("nft not installed (apt-get install nftables)")
    topo = Topology(f"ps{uuid.uuid4().hex[:5]}", nodes=(Node("router"), Node("target")),
                    segments=(Segment("wan", (Iface("router", "wan0", "10.97.0.1/24"),
                                              Iface("target", "eth0", f"{TARGET}/24"))),))
    (tmp_path / "logs").mkdir()
    n = build(topo, tmp_path / "logs", start=False)
    try:
        yield n
    finally:
        n.teardown()


def effective_caps(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    raise AssertionError("no CapEff")


def said(net, name: str) -> list[dict]:
    return [json.loads(line) for line in net.log(name).splitlines() if line.startswith("{")]


def verdicts(net, name: str) -> list[bool]:
    return [x["path"] for x in said(net, name) if "path" in x]


def echo_requests_seen(net) -> int:
    rules = json.loads(net.exec("target", "nft", "-j", "list", "table", "ip", "seen").stdout)["nftables"]
    return sum(r["rule"]["expr"][-1]["counter"]["packets"] for r in rules if "rule" in r)


def start_check(net):
    proc = net.spawn("router", [*NO_NET_RAW, sys.executable, str(CHILD), TARGET],
                     log=net.log_path("check"), name="check")
    # `ip netns exec` and setpriv exec: the pid is the path check's own process.
    wait_for(lambda: said(net, "check") or proc.poll() is not None, timeout=10, what="the child's first word")
    assert not effective_caps(proc.pid) & (1 << CAP_NET_RAW), "the child still has CAP_NET_RAW"
    return proc


def test_default_ping_group_range_leaves_no_icmp_socket_without_cap_net_raw(net):
    assert net.read_sysctl("router", "net.ipv4.ping_group_range").split() == ["1", "0"]
    r = net.exec("router", *NO_NET_RAW, sys.executable, "-c",
                 "from failover.net.icmpsock import open_icmp; open_icmp('wan0')", check=False)
    assert r.returncode != 0 and "PermissionError" in r.stderr, r.stderr


def test_without_cap_net_raw_the_path_check_probes_through_the_ping_socket(net):
    net.sysctl("router", "net.ipv4.ping_group_range", "0 0")
    net.nft("target", COUNT)
    proc = start_check(net)
    wait_for(lambda: verdicts(net, "check")[-1:] == [True], timeout=10, what="the path up")
    first = said(net, "check")
    assert {"raw": False} in first, first
    [opened] = [x for x in first if "ip_header" in x]
    assert opened["ip_header"] is False  # the ping socket: the kernel strips the IPv4 header
    assert echo_requests_seen(net) > 0
    assert proc.poll() is None

    net.nft("target", SILENCE)
    wait_for(lambda: verdicts(net, "check")[-1:] == [False], timeout=5, what="the path down")
    net.nft("target", ANSWER)
    wait_for(lambda: verdicts(net, "check")[-1:] == [True], timeout=5, what="the path up again")
    assert verdicts(net, "check") == [True, False, True]


def ifindex_of_wan0(net) -> int:
    return json.loads(net.ip("router", "-j", "link", "show", "wan0").stdout)[0]["ifindex"]


def test_without_cap_net_raw_the_path_check_follows_the_wan_device(net):
    """Re-binding a socket that is bound already needs CAP_NET_RAW; the path check makes new ones
    instead, so it follows the device at start and when wan0 is made again (a new ifindex)."""
    net.sysctl("router", "net.ipv4.ping_group_range", "0 0")
    start_check(net)
    wait_for(lambda: verdicts(net, "check")[-1:] == [True], timeout=10, what="the path up")
    first = ifindex_of_wan0(net)
    wait_for(lambda: any(x.get("bound") == first for x in said(net, "check")), timeout=3,
             what=f"the path check bound to wan0 (ifindex {first})")

    net.ip("router", "link", "del", "wan0")
    wait_for(lambda: verdicts(net, "check")[-1:] == [False], timeout=5, what="the path down without wan0")
    net.restore(net.topology.segment("wan"))
    again = ifindex_of_wan0(net)
    assert again != first
    wait_for(lambda: said(net, "check")[-1:] == [{"bound": again}], timeout=5,
             what=f"the path check bound to the new wan0 (ifindex {again})")
    wait_for(lambda: verdicts(net, "check")[-1:] == [True], timeout=10, what="the path up through the new wan0")
    assert "cannot bind" not in net.log("check")
