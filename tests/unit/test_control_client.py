"""The control socket's lines (failover/core/controlline.py), then the client against real unix
sockets.

The peer is a small stand-in speaking the daemon's line protocol (docs/design.md, "Control socket")
with the same parser and formatter; the lines are checked against the contract's text here, and
the real daemon is exercised with this client in tests/topotests/sidecar/.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from failover.core import controlline
from failover.core.controlline import DaemonState, format_state, parse_request, parse_state, state_fields
from failover.net import control_client
from failover.net.control_client import DaemonLink, DaemonUnavailable, request


GOOD = "ok wan=up carrier=up path=down failover=off elected=10.10.0.11 rule=absent changes=3"


class LineDaemon:
    """Answers like the daemon: state / elect <ip> / path up|down; records every request."""

    def __init__(self, path: str, elected: str = "10.10.0.11") -> None:
        self.path, self.elected, self.up = path, elected, True
        self.requests: list[str] = []
        self.server: asyncio.base_events.Server | None = None
        self.slow: dict[str, float] = {}  # verb -> seconds its reply takes

    async def handle(self, reader, writer):
        line = (await reader.readline()).decode().strip()
        self.requests.append(line)
        await asyncio.sleep(self.slow.get(line.split(" ")[0], 0))
        try:
            r = parse_request(line)
        except ValueError as e:
            reply = f"err {e}"
        else:
            if r.verb == "state":
                reply = format_state(DaemonState(wan=self.up, carrier=True, path=self.up, failover=not self.up,
                                                 elected=self.elected, rule=False, changes=0))
            elif r.verb == "elect":
                self.elected, reply = r.argument, "ok"
            elif r.verb == "path":
                self.up, reply = r.argument == "up", "ok"
            else:
                reply = "ok"
        writer.write(reply.encode() + b"\n")
        await writer.drain()
        writer.close()

    async def start(self):
        self.server = await asyncio.start_unix_server(self.handle, self.path)

    async def stop(self):
        self.server.close()
        await self.server.wait_closed()
        os.unlink(self.path)


def test_parse_state_types_every_field():
    s = parse_state(GOOD)
    assert (s.wan, s.carrier, s.path, s.failover, s.elected, s.rule, s.changes) == (
        True, True, False, False, "10.10.0.11", False, 3)
    assert parse_state(GOOD.replace("elected=10.10.0.11", "elected=none")).elected is None


def test_parse_state_reads_the_appended_unreachable_field():
    assert parse_state(GOOD).unreachable == frozenset()  # a daemon without the field: nobody
    assert parse_state(GOOD + " unreachable=none").unreachable == frozenset()
    s = parse_state(GOOD + " unreachable=10.10.0.11,10.10.0.13")
    assert s.unreachable == {"10.10.0.11", "10.10.0.13"}


@pytest.mark.parametrize("line", [
    "", "err unknown command", "ok", GOOD.replace("wan=up", "wan=sideways"),
    GOOD.replace("elected=10.10.0.11", "elected=10.10.0.999"), GOOD.replace("changes=3", "changes=x"),
    GOOD + " unreachable=", GOOD + " unreachable=10.10.0.11,", GOOD + " unreachable=gw1",
])
def test_parse_state_rejects_malformed_replies(line):
    with pytest.raises(ValueError):
        parse_state(line)


def test_state_lines_round_trip_and_read_as_the_contract_writes_them():
    s = DaemonState(wan=False, carrier=True, path=False, failover=True, elected="10.10.0.12", rule=True,
                    changes=7, unreachable=frozenset({"10.10.0.13", "10.10.0.9"}))
    line = format_state(s)
    assert line == ("ok wan=down carrier=up path=down failover=on elected=10.10.0.12 rule=present changes=7 "
                    "unreachable=10.10.0.9,10.10.0.13 wan6=up path6=up failover6=off rule6=absent")
    assert parse_state(line) == s
    assert state_fields(line)["elected"] == "10.10.0.12"
    nobody = DaemonState(wan=True, carrier=True, path=True, failover=False, elected=None, rule=False, changes=0)
    assert "elected=none rule=absent changes=0 unreachable=none " in format_state(nobody)
    assert parse_state(format_state(nobody)) == nobody


def test_state_appends_the_ipv6_fields_in_the_contracts_order():
    s = DaemonState(wan=True, carrier=True, path=True, failover=False, elected="10.10.0.12", rule=False,
                    changes=2, wan6=False, path6=False, failover6=True, rule6=True)
    line = format_state(s)
    assert line.split()[1:] == [
        "wan=up", "carrier=up", "path=up", "failover=off", "elected=10.10.0.12", "rule=absent", "changes=2",
        "unreachable=none", "wan6=down", "path6=down", "failover6=on", "rule6=present"]
    assert parse_state(line) == s
    # a daemon from before IPv6 leaves it alone: up, not failed over
    old = "ok wan=up carrier=up path=up failover=off elected=10.10.0.12 rule=absent changes=0 unreachable=none"
    assert (parse_state(old).wan6, parse_state(old).failover6, parse_state(old).rule6) == (True, False, False)
    with pytest.raises(ValueError, match="rule6"):
        parse_state(line.replace("rule6=present", "rule6=maybe"))


def test_requests_are_the_contracts_lines():
    assert (controlline.STATE, controlline.elect("10.10.0.12"), controlline.path(True), controlline.path(False),
            controlline.reassert("10.10.0.13"), controlline.path6(False), controlline.elect("fd00:10::12")) == (
        "state", "elect 10.10.0.12", "path up", "path down", "reassert 10.10.0.13", "path6 down",
        "elect fd00:10::12")
    assert controlline.serve6("10.10.0.12") == "serve6 10.10.0.12"
    for line in ("state", "elect 10.10.0.12", "path up", "path down", "reassert 10.10.0.13", "path6 up",
                 "path6 down", "elect fd00:10::12", "reassert 2001:db8::7", "serve6 10.10.0.12",
                 "serve6 fd00:10::12"):
        r = parse_request(line)
        assert " ".join(filter(None, (r.verb, r.argument))) == line


@pytest.mark.parametrize("line", ["", "STATE", "state now", "elect", "elect 999.1.1.1", "elect gw1",
                                  "path sideways", "path  up", "reassert", "flush", "path6", "path6 sideways",
                                  "elect fd00::1::2", "elect fe80::1%lan", "path7 up",
                                  "serve6", "serve6 none", "serve6 fd00::1::2"])
def test_malformed_requests_are_refused(line):
    with pytest.raises(ValueError):
        parse_request(line)


def test_request_without_daemon_says_so(tmp_path):
    with pytest.raises(DaemonUnavailable, match="daemon not there"):
        asyncio.run(request(str(tmp_path / "none.sock"), "state"))


def test_request_to_silent_peer_times_out(tmp_path):
    async def main():
        async def silent(reader, writer):
            await asyncio.sleep(5)

        server = await asyncio.start_unix_server(silent, str(tmp_path / "s.sock"))
        async with server:
            with pytest.raises(DaemonUnavailable, match="no reply within"):
                await request(str(tmp_path / "s.sock"), "state", timeout=0.2)

    asyncio.run(main())


def test_link_reports_missing_daemon_and_keeps_going(tmp_path):
    async def main():
        seen = []
        link = DaemonLink(str(tmp_path / "c.sock"), on_state=seen.append)
        await link.elect("10.10.0.12")  # nobody there: remembered, not raised
        assert await link.poll() is None
        assert not link.connected and "daemon not there" in link.message
        assert seen == [None, None]
        assert link.elect_to == "10.10.0.12"

    asyncio.run(main())


def test_link_resends_election_and_path_when_daemon_comes_back(tmp_path):
    path = str(tmp_path / "c.sock")

    async def main():
        link = DaemonLink(path)
        await link.elect("10.10.0.12")
        await link.set_path(False)
        daemon = LineDaemon(path)  # starts with its defaults: first gateway, path up
        await daemon.start()
        state = await link.poll()
        assert link.connected and link.message == "connected"
        assert (state.elected, state.path) == ("10.10.0.12", False)
        assert daemon.requests[:3] == ["state", "elect 10.10.0.12", "path down"]
        # A restart between two polls: the daemon is back with its defaults.
        await daemon.stop()
        daemon = LineDaemon(path)
        await daemon.start()
        state = await link.poll()
        assert (state.elected, state.path) == ("10.10.0.12", False)
        await daemon.stop()

    asyncio.run(main())


def test_link_resends_the_ipv6_server_on_connect_and_every_refresh(tmp_path, monkeypatch):
    """serve6 is not in the state line: the link sends it again on (re)connect and periodically,
    so a daemon that restarted unseen hears the sidecar's choice again."""
    path = str(tmp_path / "c.sock")

    async def main():
        link = DaemonLink(path)
        await link.serve6("10.10.0.12")  # nobody there: remembered
        daemon = LineDaemon(path)
        await daemon.start()
        await link.poll()
        assert daemon.requests[:2] == ["state", "serve6 10.10.0.12"]
        await link.poll()
        assert daemon.requests.count("serve6 10.10.0.12") == 1, "re-sent before the refresh period"
        monkeypatch.setattr(control_client, "SERVE6_REFRESH_S", 0.0)
        await link.poll()
        assert daemon.requests.count("serve6 10.10.0.12") == 2
        await daemon.stop()

    asyncio.run(main())


def test_a_resend_never_follows_a_newer_verdict_with_an_older_one(tmp_path):
    """The poll finds the daemon behind (elect, path) and re-sends; while its first re-send is in
    flight, the path check says up again. The daemon must end with "up": a stale "path down"
    sent after it would fail the WAN over for a poll's time (it once was the value read at the
    poll, not the value wanted when the line went out)."""
    path = str(tmp_path / "c.sock")

    async def main():
        link = DaemonLink(path)
        await link.elect("10.10.0.12")
        await link.set_path(False)
        daemon = LineDaemon(path)  # its defaults: gw1, path up
        daemon.slow["elect"] = 0.1
        await daemon.start()
        poll = asyncio.create_task(link.poll())
        while "elect 10.10.0.12" not in daemon.requests:
            await asyncio.sleep(0.005)
        await link.set_path(True)  # the newer verdict, queued behind the re-sent election
        await poll
        assert daemon.up is True, daemon.requests
        assert [r for r in daemon.requests if r.startswith("path")][-1] == "path up", daemon.requests
        await daemon.stop()

    asyncio.run(main())
