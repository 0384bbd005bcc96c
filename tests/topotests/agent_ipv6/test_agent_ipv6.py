"""The agent on IPv6 beside IPv4 (`failover agent --listen 10.10.0.11 --listen fd00:10::11`), on the
dual-stack topology, driven from the router's and gw2's namespaces over real sockets.

Expected, per scenario:

    up over IPv6:          "ok"; gw1 forwards IPv4 and IPv6; down over IPv4 turns both off
    --allow:               the router's IPv6 address commands; gw2 (not allowed) gets "err not allowed"
                           over IPv6 and IPv4, and nothing changes
    --key-file:            plain "up" over IPv6 gets "err authentication required"; a signed one "ok"
    STAMP over IPv6:       the reply echoes the sender's sequence and the hop limit it arrived with
"""

from __future__ import annotations

import secrets
import socket
import time

from failover.core.gatewayline import sign
from failover.core.stamp import SenderPacket, StampCodec, unix_ns_to_ntp
from failover.lab.nsocket import socket_in

import pytest

from failover.lab.routerlab import ROUTER_LAN, gateway_address, gateway_address6

GW1, GW1_6, GW2_6 = gateway_address(1), gateway_address6(1), gateway_address6(2)
ROUTER_LAN6 = "fd00:10::1"


def command(topo, role: str, address: str, line: str, port: int = 7070) -> str:
    """One up/down exchange from ``role``'s namespace; the agent's reply line."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket_in(topo.nets.ns(role), family, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect((address, port))
        s.sendall(line.encode() + b"\n")
        return s.makefile("rb").readline().decode().rstrip("\n")


def forwarding6(topo, i: int) -> str:
    return topo.nets.read_sysctl(f"gw{i}", "net.ipv6.conf.all.forwarding")


@pytest.fixture
def topo(topo6):
    """Every scenario here on the dual-stack topology."""
    return topo6


def dual_agent(topo, *extra: str) -> None:
    """gw1's agent, on both families as the dual-stack topology starts it, with ``extra`` options."""
    topo.stop_agent(1)
    topo.start_agent(1, *extra)


def test_up_over_ipv6_and_down_over_ipv4(topo):
    dual_agent(topo)
    assert (topo.forwarding(1), forwarding6(topo, 1)) == ("0", "0")
    assert command(topo, "router", GW1_6, "up") == "ok"
    assert (topo.forwarding(1), forwarding6(topo, 1)) == ("1", "1")
    assert command(topo, "router", GW1, "down") == "ok"
    assert (topo.forwarding(1), forwarding6(topo, 1)) == ("0", "0")


def test_allow_holds_on_ipv6_as_on_ipv4(topo):
    dual_agent(topo, "--allow", ROUTER_LAN, "--allow", ROUTER_LAN6)
    assert command(topo, "gw2", GW1_6, "up") == "err not allowed"
    assert command(topo, "gw2", GW1, "up") == "err not allowed"
    assert (topo.forwarding(1), forwarding6(topo, 1)) == ("0", "0")
    assert command(topo, "router", GW1_6, "up") == "ok"
    assert (topo.forwarding(1), forwarding6(topo, 1)) == ("1", "1")


def test_signed_lines_only_on_ipv6_too(topo, tmp_path):
    key = secrets.token_hex(32).encode()  # the file's bytes are the key
    (tmp_path / "gw.key").write_bytes(key + b"\n")
    dual_agent(topo, "--key-file", str(tmp_path / "gw.key"))
    assert command(topo, "router", GW1_6, "up") == "err authentication required"
    assert forwarding6(topo, 1) == "0"
    line = sign(key, "up", time.time_ns() // 1_000_000, secrets.token_hex(16))
    assert command(topo, "router", GW1_6, line) == "ok"
    assert forwarding6(topo, 1) == "1"
    assert command(topo, "router", GW1_6, line) == "err replayed nonce"


def test_stamp_is_reflected_over_ipv6_with_the_hop_limit(topo):
    dual_agent(topo)
    codec = StampCodec(None)
    with socket_in(topo.nets.ns("router"), socket.AF_INET6, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 17)
        t1 = unix_ns_to_ntp(time.time_ns())
        s.sendto(codec.encode_sender(SenderPacket(4242, t1)), (GW1_6, 862))
        reply, peer = s.recvfrom(1024)
    r = codec.decode_reflector(reply)
    assert peer[0] == GW1_6
    assert (r.sender_sequence, r.sender_timestamp, r.sender_ttl) == (4242, t1, 17)
    assert r.receive_timestamp >= t1
