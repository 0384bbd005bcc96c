"""Signed gateway control end to end: the real daemon (`failover host` with control.key_file)
against the real agent (`failover agent --allow <router> --key-file K`) in namespaces.

An attacker on the LAN (gw2's namespace, not allowed) and on the router's own address (as if
spoofed or on the path) tries forged, stale, unauthenticated and replayed lines; the replayed
lines are the daemon's own, captured off the wire with a packet socket in gw1. None of them
changes ip_forward in gw1; the daemon's signed up (carrier loss) and down (carrier back) do.
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import struct
import threading
import time

import pytest

from failover.core.gatewayline import sign
from failover.lab.netns import wait_for
from failover.lab.nsocket import socket_in

from failover.lab.routerlab import ROUTER_LAN, RouterTopology, gateway_address

GW1, ATTACKER = gateway_address(1), gateway_address(2)
PORT = 7070


@pytest.fixture
def lab(tmp_path):
    # gw1 runs the secured agent; gw2 is a namespace on the LAN with no agent: the attacker.
    t = RouterTopology.build(tmp_path, n_gateways=2, agents=False)
    try:
        t.key = secrets.token_hex(32).encode()
        (tmp_path / "gw.key").write_bytes(t.key + b"\n")
        t.stats = tmp_path / "gw1-stats.json"
        t.start_agent(1, "--allow", ROUTER_LAN, "--key-file", str(tmp_path / "gw.key"),
                      "--stats-file", str(t.stats))
        yield t
    finally:
        t.cleanup()


def secured_config(t: RouterTopology):
    return t.config(gateways=[GW1], control={"key_file": str(t.tmp / "gw.key")})


def signed(key: bytes, cmd: str, ms: int | None = None) -> bytes:
    ms = int(time.time() * 1000) if ms is None else ms
    return (sign(key, cmd, ms, secrets.token_hex(16)) + "\n").encode()


#: Every line this test sent, so the sniffer can tell the daemon's own lines from ours.
SENT: set[bytes] = set()


def send(t: RouterTopology, role: str, line: bytes, source: str | None = None) -> str:
    SENT.add(line)
    s = socket_in(t.nets.ns(role), socket.AF_INET, socket.SOCK_STREAM)
    with s:
        s.settimeout(3)
        if source:
            s.bind((source, 0))
        s.connect((GW1, PORT))
        s.sendall(line)
        s.shutdown(socket.SHUT_WR)
        return s.makefile("rb").readline().decode().strip()


class Sniffer:
    """TCP payloads sent to gw1:7070, read off gw1's eth0 with an AF_PACKET socket."""

    def __init__(self, t: RouterTopology) -> None:
        self.sock = socket_in(t.nets.ns("gw1"), socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        self.sock.settimeout(0.1)
        self.lines: list[bytes] = []
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                frame, addr = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            if addr[2] == socket.PACKET_OUTGOING or len(frame) < 34 or frame[12:14] != b"\x08\x00":
                continue
            ip = frame[14:]
            ihl = (ip[0] & 0x0F) * 4
            if ip[9] != 6 or socket.inet_ntoa(ip[16:20]) != GW1:
                continue
            tcp = ip[ihl:]
            dport = struct.unpack_from("!H", tcp, 2)[0]
            payload = tcp[(tcp[12] >> 4) * 4:struct.unpack_from("!H", ip, 2)[0] - ihl]
            if dport == PORT and payload:
                self.lines.append(bytes(payload))

    def from_daemon(self, cmd: str) -> list[bytes]:
        return [line for line in self.lines if line.startswith(cmd.encode() + b" ") and line not in SENT]

    def close(self) -> None:
        self._stop = True
        self._thread.join(2)
        self.sock.close()


def hostile_lines(t: RouterTopology, cmd: str) -> list[tuple[str, bytes, str | None, str]]:
    """(role, line, source, expected reply) for every attack that must change nothing."""
    forged = signed(b"attacker-guess-0123456789abcdef", cmd)
    now = int(time.time() * 1000)
    return [
        ("router", cmd.encode() + b"\n", ROUTER_LAN, "err authentication required"),
        ("router", forged, ROUTER_LAN, "err bad signature"),
        ("router", signed(t.key, cmd, now - 31_000), ROUTER_LAN, "err timestamp outside the replay window"),
        ("router", signed(t.key, cmd, now + 31_000), ROUTER_LAN, "err timestamp outside the replay window"),
        ("router", signed(t.key, cmd).upper(), ROUTER_LAN, "err expected <up|down> <unix ms> <nonce> <hmac>"),
        # A valid signature from an address that is not the router's:
        ("gw2", signed(t.key, cmd), None, "err not allowed"),
        ("gw2", cmd.encode() + b"\n", None, "err not allowed"),
    ]


def attack(t: RouterTopology, cmd: str, forwarding: str, extra=()) -> None:
    for role, line, source, expected in [*hostile_lines(t, cmd), *extra]:
        assert send(t, role, line, source) == expected, line
        assert t.forwarding(1) == forwarding, f"{line!r} changed ip_forward"


def test_only_the_daemons_signed_commands_move_the_gateway(lab):
    t = lab
    sniffer = Sniffer(t)
    try:
        t.start_host(secured_config(t))
        # At start the daemon tells every gateway "down", signed.
        wait_for(lambda: sniffer.from_daemon("down"), timeout=5, what="the daemon's signed down")
        startup_down = sniffer.from_daemon("down")[0]
        assert re.fullmatch(rb"down \d+ [0-9a-f]{32} [0-9a-f]{64}\n", startup_down), startup_down
        assert t.forwarding(1) == "0"

        attack(t, "up", "0")

        t.set_isp(False)  # carrier loss: the daemon fails over and sends its signed up
        wait_for(lambda: t.forwarding(1) == "1", timeout=5, what="gw1 forwarding after the daemon's up")
        daemon_up = wait_for(lambda: sniffer.from_daemon("up"), what="the sniffer saw the daemon's up")[0]

        # Forwarding is on: every hostile down, the replayed startup down included, fails.
        attack(t, "down", "1", extra=[("router", startup_down, ROUTER_LAN, "err replayed nonce")])

        t.set_isp(True)   # carrier back: after the clean time the daemon fails back, signed down
        wait_for(lambda: t.forwarding(1) == "0", timeout=15, what="gw1 forwarding off after failback")
        assert send(t, "router", daemon_up, ROUTER_LAN) == "err replayed nonce"
        assert t.forwarding(1) == "0"
    finally:
        sniffer.close()

    t.stop_host()
    wait_for(lambda: t.stats.exists() and json.loads(t.stats.read_text())["control"].get("replayed") == 2,
             timeout=3, what="the agent's counters")
    c = json.loads(t.stats.read_text())["control"]
    assert c["accepted"] >= 3  # startup down, up, down
    assert c["not_allowed"] == 4 and c["unauthenticated"] == 2 and c["bad_mac"] == 2
    assert c["stale"] == 4 and c["malformed"] == 2 and c["replayed"] == 2
    assert "acknowledged up" in t.log("host") and "acknowledged down" in t.log("host")
