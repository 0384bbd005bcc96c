"""The agent's control-path security: allow-list and signed up/down lines (HMAC, time, nonce).

The line's one formatter checked against the wire description, the pure checks
(:class:`ControlAuth`) with an injected clock, then a real agent on loopback
(in a thread) whose hooks record what it did, talked to over real TCP from allowed and
non-allowed source addresses. The namespace version with the real daemon is
tests/topotests/gateway_auth/test_gateway_auth.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import secrets
import socket
import subprocess
import sys
import threading
import time

import pytest

from failover.agent import Agent, AgentConfig, ControlAuth, parse_allow, peer_allowed
from failover.core.gatewayline import LineRefused, sign

KEY = b"0123456789abcdef-shared-key"
NOW = 1_750_000_000_000


def signed(cmd: str, ms: int, nonce: str | None = None, key: bytes = KEY) -> bytes:
    return (sign(key, cmd, ms, nonce or secrets.token_hex(16)) + "\n").encode()


def auth(clock=lambda: NOW, **kw) -> ControlAuth:
    return ControlAuth(KEY, clock=clock, **kw)


# -- the pure checks ---------------------------------------------------------------------

def test_valid_signed_lines_are_accepted():
    a = auth()
    assert a.check(signed("up", NOW)) == "up"
    assert a.check(signed("down", NOW - 29_000)) == "down"
    assert a.check(signed("up", NOW + 29_000)) == "up"


def test_the_signed_line_is_the_wire_description():
    """Built here by hand from docs/design.md ("Gateway control"), not with the code under test."""
    text = f"up {NOW} {'ab' * 16}"
    assert sign(KEY, "up", NOW, "ab" * 16) == f"{text} {hmac.new(KEY, text.encode(), hashlib.sha256).hexdigest()}"


@pytest.mark.parametrize("line,kind", [
    (b"up\n", "unauthenticated"),
    (b"down", "unauthenticated"),
    (signed("up", NOW, key=b"another-key-0123456789"), "bad_mac"),
    (signed("up", NOW)[:-3] + b"00\n", "bad_mac"),                    # tampered MAC
    (signed("up", NOW).replace(b"up", b"down", 1), "bad_mac"),        # tampered command
    (signed("up", NOW - 30_001), "stale"),
    (signed("up", NOW + 30_001), "stale"),
    (signed("up", 0), "stale"),
    (signed("UP", NOW), "malformed"),
    (signed("up", NOW).upper(), "malformed"),
    (signed("up", NOW).replace(b" ", b"  ", 1), "malformed"),
    (signed("up", NOW, nonce="ab" * 8), "malformed"),                 # short nonce
    (signed("up", NOW)[:-1] + b" extra\n", "malformed"),
    (signed("up", NOW) + b"up\n", "malformed"),                        # two lines
    (b"up " + str(NOW).encode() + b"\n", "malformed"),
    (b"", "malformed"),
    (b"\xff\xfe" * 40, "malformed"),
])
def test_refused_lines_name_the_reason(line, kind):
    with pytest.raises(LineRefused) as e:
        auth().check(line)
    assert e.value.kind == kind


def test_a_replayed_line_is_refused_within_the_window_and_stale_after():
    now = [NOW]
    a = auth(clock=lambda: now[0])
    line = signed("up", NOW)
    assert a.check(line) == "up"
    for dt in (0, 1, 15_000, 30_000):
        now[0] = NOW + dt
        with pytest.raises(LineRefused) as e:
            a.check(line)
        assert e.value.kind == "replayed"
    now[0] = NOW + 30_001
    with pytest.raises(LineRefused) as e:
        a.check(line)
    assert e.value.kind == "stale"


def test_the_nonce_cache_is_bounded_and_forgets_only_expired_nonces():
    now = [NOW]
    a = auth(clock=lambda: now[0], max_nonces=4)
    lines = [signed("up", NOW) for _ in range(4)]
    for line in lines:
        a.check(line)
    with pytest.raises(LineRefused) as e:
        a.check(signed("up", NOW))  # full of live nonces: refuse rather than forget one
    assert e.value.kind == "busy"
    with pytest.raises(LineRefused) as e:
        a.check(lines[0])
    assert e.value.kind == "replayed"
    now[0] = NOW + 30_001           # all expired: room again
    assert a.check(signed("down", now[0])) == "down"
    assert len(a._nonces) == 1


def test_bad_macs_never_reach_the_nonce_cache():
    a = auth(max_nonces=2)
    for _ in range(100):
        with pytest.raises(LineRefused):
            a.check(signed("up", NOW, key=b"attacker-key-0123456789"))
    assert a._nonces == {}


def test_replay_window_is_configurable():
    a = ControlAuth(KEY, 5, clock=lambda: NOW)
    assert a.check(signed("up", NOW - 5_000)) == "up"
    with pytest.raises(LineRefused):
        a.check(signed("up", NOW - 5_001))
    with pytest.raises(ValueError):
        ControlAuth(KEY, 0)


def test_allow_list():
    nets = parse_allow(["10.10.0.1", "192.0.2.0/28"])
    assert peer_allowed(("10.10.0.1", 5000), nets)
    assert peer_allowed(("192.0.2.9", 5000), nets)
    assert peer_allowed(("::ffff:10.10.0.1", 5000, 0, 0), nets)
    assert not peer_allowed(("10.10.0.2", 5000), nets)
    assert not peer_allowed(("192.0.2.16", 5000), nets)
    assert not peer_allowed(None, nets)
    assert peer_allowed(("10.10.0.2", 5000), ())
    with pytest.raises(ValueError, match="--allow"):
        parse_allow(["10.10.0.300"])


# -- a real agent on loopback ------------------------------------------------------------

@contextlib.contextmanager
def agent_thread(tmp_path, **kw):
    log = tmp_path / "actions"
    log.write_text("")
    cfg = AgentConfig("127.0.0.1", 0, 0, on_up=f"sh -c 'echo up >> {log}'",
                      on_down=f"sh -c 'echo down >> {log}'", **kw)
    agent = Agent(cfg)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box = {}

    async def main():
        server = await asyncio.start_server(agent.handle, "127.0.0.1", 0, limit=256)
        box["port"] = server.sockets[0].getsockname()[1]
        ready.set()
        async with server:
            await server.serve_forever()

    def run():
        asyncio.set_event_loop(loop)
        box["task"] = loop.create_task(main())
        try:
            loop.run_until_complete(box["task"])
        except asyncio.CancelledError:
            pass

    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert ready.wait(5)
    agent.port = box["port"]
    agent.actions = lambda: log.read_text().split()
    try:
        yield agent
    finally:
        loop.call_soon_threadsafe(box["task"].cancel)
        t.join(5)


def send(port: int, line: bytes, source: str = "127.0.0.1") -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=3, source_address=(source, 0)) as s:
        s.sendall(line)
        s.shutdown(socket.SHUT_WR)
        return s.makefile("rb").readline().decode().strip()


def test_without_a_key_the_contract_holds_exactly(tmp_path):
    with agent_thread(tmp_path) as a:
        assert send(a.port, b"up\n") == "ok"
        assert send(a.port, signed("down", int(time.time() * 1000))).startswith("err ")
        assert send(a.port, b"down\n") == "ok"
        assert a.actions() == ["up", "down"]


def test_non_allowed_sources_get_err_and_change_nothing(tmp_path):
    with agent_thread(tmp_path, allow=("127.0.0.1",)) as a:
        assert send(a.port, b"up\n", source="127.0.0.5") == "err not allowed"
        assert a.actions() == []
        assert send(a.port, b"up\n", source="127.0.0.1") == "ok"
        assert a.actions() == ["up"]
        assert a.control["not_allowed"] == 1


def test_with_a_key_only_fresh_signed_lines_act(tmp_path):
    with agent_thread(tmp_path, key=KEY, allow=("127.0.0.1",)) as a:
        now = int(time.time() * 1000)
        good_up = signed("up", now)
        assert send(a.port, b"up\n") == "err authentication required"
        assert send(a.port, signed("up", now, key=b"forged-key-0123456789")) == "err bad signature"
        assert send(a.port, signed("up", now - 31_000)) == "err timestamp outside the replay window"
        assert send(a.port, good_up, source="127.0.0.9") == "err not allowed"
        assert a.actions() == []
        assert send(a.port, good_up) == "ok"
        assert send(a.port, signed("down", now)) == "ok"
        assert send(a.port, good_up) == "err replayed nonce"
        assert a.actions() == ["up", "down"]
        c = a.control
        assert (c["accepted"], c["unauthenticated"], c["bad_mac"], c["stale"], c["not_allowed"], c["replayed"]) \
            == (2, 1, 1, 1, 1, 1)


@pytest.mark.parametrize("argv,message", [
    (["--key-file", "/nonexistent/key"], "--key-file: cannot read"),
    (["--key-file", "SHORT"], "--key-file:"),
    (["--stamp-key-file", "SHORT"], "--stamp-key-file:"),
    (["--allow", "not-an-address"], "--allow"),
    (["--replay-window-s", "0"], "--replay-window-s"),
    (["--lease", "-1"], "--lease"),
    (["--lease", "nan"], "--lease"),
])
def test_bad_agent_options_exit_2_naming_the_option(tmp_path, argv, message):
    short = tmp_path / "short"
    short.write_text("tooshort\n")
    argv = [str(short) if a == "SHORT" else a for a in argv]
    p = subprocess.run([sys.executable, "-m", "failover.cli", "agent", "--listen", "127.0.0.1", *argv],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2, p.stderr
    assert message in p.stderr
