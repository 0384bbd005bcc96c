"""The agent's TCP control port under abuse: random and huge lines, half-open, half-closed and
idle connections (100 of them at once). The agent, a real process in gw1's namespace, keeps
answering a well-behaved router promptly throughout, acts on nothing else, and leaks nothing."""

from __future__ import annotations

import os
import random
import socket
import threading
import time

import pytest

from failover.lab.nsocket import socket_in
from failover.lab.routerlab import gateway_address

pytestmark = pytest.mark.netns

GW1, PORT = gateway_address(1), 7070


def connect(t, timeout: float = 3.0) -> socket.socket:
    s = socket_in(t.nets.ns("router"), socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((GW1, PORT))
    return s


def exchange(t, line: bytes) -> tuple[str, float]:
    t0 = time.monotonic()
    with connect(t) as s:
        s.sendall(line)
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        reply = b""
        try:
            while not reply.endswith(b"\n"):
                chunk = s.recv(256)
                if not chunk:
                    break
                reply += chunk
        except ConnectionResetError:
            pass
    return reply.decode(errors="replace").strip(), time.monotonic() - t0


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def random_line(rng: random.Random) -> bytes:
    kind = rng.random()
    if kind < 0.4:
        line = rng.randbytes(rng.randrange(0, 200)).replace(b"\n", b"") + b"\n"
    elif kind < 0.7:   # near misses
        line = rng.choice([b"UP", b"Up", b"up ", b" up", b"up\r", b"down\x00", b"upp", b"dow", b"u\np",
                           b"upup", b"\n", b""]) + b"\n"
    else:              # printable noise, several lines
        line = "".join(rng.choice("updown \t\n\r0123456789abcdef") for _ in range(rng.randrange(1, 250))).encode()
    # The agent reads one line: a first line of exactly "up"/"down" would be a real command.
    if line.split(b"\n", 1)[0] in (b"up", b"down"):
        return b"noise " + line
    return line


def test_abusive_clients_do_not_stop_the_agent_serving_the_router(topo1):
    t = topo1
    agent = t.start_agent(1)
    base_fds = open_fds(agent.pid)
    rng = random.Random(7)
    held: list[socket.socket] = []
    huge_threads = []
    try:
        # 100 idle connections, 20 half-open lines (no newline, kept open), 20 half-closed ones.
        for _ in range(100):
            held.append(connect(t))
        for _ in range(20):
            s = connect(t)
            s.sendall(b"u")
            held.append(s)
        for _ in range(20):
            s = connect(t)
            s.sendall(b"do")
            s.shutdown(socket.SHUT_WR)
            held.append(s)

        # Huge lines (8 MiB each, no newline) from 5 clients in parallel.
        def huge():
            try:
                with connect(t, timeout=10) as s:
                    s.sendall(b"x" * (8 << 20))
            except OSError:
                pass  # the agent gave up on us: that is the point

        huge_threads = [threading.Thread(target=huge) for _ in range(5)]
        for th in huge_threads:
            th.start()

        # Meanwhile the router is served, promptly.
        reply, took_up = exchange(t, b"up\n")
        assert reply == "ok" and t.forwarding(1) == "1"
        reply, took_down = exchange(t, b"down\n")
        assert reply == "ok" and t.forwarding(1) == "0"
        assert max(took_up, took_down) < 0.5, (took_up, took_down)

        # 1000 random lines: every one refused, nothing changes.
        t0 = time.monotonic()
        for _ in range(1000):
            reply, _ = exchange(t, random_line(rng))
            assert reply.startswith("err "), reply
        random_s = time.monotonic() - t0
        assert t.forwarding(1) == "0"
        reply, took = exchange(t, b"up\n")
        assert reply == "ok" and took < 0.5 and t.forwarding(1) == "1"

        for th in huge_threads:
            th.join(15)
        assert exchange(t, b"x" * 300 + b"\n")[0] == "err line too long"

        # The idle and half-open ones are closed by the agent at its read timeout (2 s).
        time.sleep(2.5)
        replies = set()
        for s in held:
            try:
                replies.add(s.recv(256).decode().strip())
            except OSError as e:
                replies.add(type(e).__name__)
        assert replies <= {"err timeout", "err expected up or down"}, replies
        print(f"\nagent TCP: up/down with 140 abusive connections open in {took_up * 1000:.1f}/"
              f"{took_down * 1000:.1f} ms; 1000 random lines in {random_s:.1f} s")
    finally:
        for s in held:
            s.close()
        for th in huge_threads:
            th.join(15)

    assert agent.poll() is None
    # Nothing leaked: the agent's descriptors are back to where they were.
    deadline = time.monotonic() + 5
    while open_fds(agent.pid) > base_fds and time.monotonic() < deadline:
        time.sleep(0.1)
    assert open_fds(agent.pid) <= base_fds
