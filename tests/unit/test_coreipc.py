"""The core/API link (failover/sidecar/coreipc.py) over a real socketpair: every event and the snapshot
cross it unchanged, commands come back with their answers, bad lines change nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket

import pytest

from failover.sidecar.coreipc import CoreServer, RemoteCore, decode_event, decode_snapshot, encode_event, encode_snapshot
from failover.core.views import (
    Counters,
    ElectedView,
    GatewayDown,
    GatewayView,
    PathProbeView,
    Snapshot,
    StateView,
    TargetView,
    UnknownGateway,
)
from failover.core.events import (
    LOG_EVENTS,
    ElectionChanged,
    FailoverChanged,
    FlowsMoved,
    GatewayReachabilityChanged,
    GatewayStatusChanged,
    Ipv6ServerChanged,
    PathVerdict,
    PinChanged,
    StateChanged,
    Subscribers,
    TargetFaulted,
    TargetStatusChanged,
    WanChanged,
    log_entry,
)

STATE = StateView(interface="wan0", carrier=True, path=False, wan_up=False, failover_active=True,
                  failover_since=1.5, rule=True, elected=ElectedView("10.0.0.2", "b", True), changes=3,
                  daemon_connected=True, daemon_message="ok", wan6_up=False, path6=False, failover6_active=True,
                  rule6=True)
SNAPSHOT = Snapshot(STATE, (GatewayView("a", "10.0.0.1", "up", 1.25, 0.5, 0.0, 2.25, False, 10, 9, True, True),
                            GatewayView("b", "10.0.0.2", "down", None, None, 1.0, None, True, 5, 0, None, False,
                                        "fd00::2", "up", 1.5, 0.25, 0.0, 8, 8, True)),
                    Counters(1, 2, 3, 4, 5, 6), PathProbeView("wan0", "192.0.2.1", 3.5, 0.01),
                    (TargetView("192.0.2.1", "stamp", "up", 3.5, 0.01, 0.2, 100, 99, 0, 0, "10 consecutive replies"),
                     TargetView("192.0.2.53", "icmp", "down", None, 1.0, None, 7, 0, 2, 1, "ICMP error: x")), 3, 1)
EVENTS = [
    GatewayStatusChanged(name="a", address="10.0.0.1", status="down", previous="up", reason="blackout",
                         rtt_ms=None, loss=0.5),
    GatewayReachabilityChanged(name="a", address="10.0.0.1", reachable=False),
    ElectionChanged(address="10.0.0.2", name="b", pinned=False, pinned_down=False, reason="r", moved=True),
    PinChanged(address="10.0.0.2", name="b", pinned=True),
    Ipv6ServerChanged(address="10.0.0.1", address6="fd00::1", name="a", elected=False,
                      reason="the elected gateway b (no address6) has no address6: IPv6 via a"),
    PathVerdict(up=False, reason="silence"),
    TargetStatusChanged(address="192.0.2.53", target_kind="icmp", status="down", previous="up", reason="blackout"),
    TargetFaulted(address="192.0.2.53", target_kind="icmp", reason="blackout", up=2, targets=3, reliability=2),
    WanChanged(interface="wan0", carrier=False, path=True, up=False),
    FailoverChanged(active=True, elected="10.0.0.2", elected_name="b", carrier=False, path=True, rule=True),
    FlowsMoved(transition="failover", text="flows: ...", removed=2, flows=("f1", "f2"), error=None),
]


def test_every_log_event_and_the_snapshot_cross_unchanged():
    assert {type(e).__name__ for e in EVENTS} == set(LOG_EVENTS), "an event class has no example here"
    for e in EVENTS:
        wire = json.loads(json.dumps(encode_event(e)))
        assert decode_event(wire) == e and log_entry(decode_event(wire)) == log_entry(e)
    assert decode_snapshot(json.loads(json.dumps(encode_snapshot(SNAPSHOT)))) == SNAPSHOT


class Core:
    """A CoreView in memory: the server's side of the test."""

    def __init__(self) -> None:
        self.subscribers = Subscribers()
        self.snap = SNAPSHOT
        self.pins: list[str | None] = []

    def snapshot(self):
        return self.snap

    def history(self):
        return EVENTS[:2]

    def subscribe(self, listener):
        return self.subscribers.subscribe(listener)

    async def pin(self, address):
        if address == "10.9.9.9":
            raise UnknownGateway("10.9.9.9 is not a configured gateway")
        if address == "10.0.0.2":
            raise GatewayDown("b 10.0.0.2 is down: cannot pin it")
        self.pins.append(address)
        self.snap = dataclasses.replace(self.snap, state=dataclasses.replace(
            STATE, elected=ElectedView(address, "a", True)))
        return ElectedView(address, "a", True)

    async def unpin(self):
        self.pins.append(None)
        return ElectedView("10.0.0.1", "a", False)


async def _link():
    core = Core()
    ours, theirs = socket.socketpair()
    server = CoreServer(core, ours)
    await server.start()
    lost = asyncio.Event()
    remote = RemoteCore(theirs, on_lost=lost.set)
    await remote.start()
    return core, server, remote, lost


def test_hello_events_commands_and_a_closed_core():
    async def scenario():
        core, server, remote, lost = await _link()
        assert remote.snapshot() == SNAPSHOT and list(remote.history()) == EVENTS[:2]
        seen = []
        remote.subscribe(seen.append)
        for e in EVENTS[2:]:
            core.subscribers.publish(e)
        core.subscribers.publish(StateChanged(state=STATE))  # a snapshot follows; same state: no event
        await asyncio.sleep(0.2)
        assert seen == EVENTS[2:] and list(remote.history()) == EVENTS

        # A pin's answer comes after the snapshot that shows it.
        assert await remote.pin("10.0.0.1") == ElectedView("10.0.0.1", "a", True)
        assert remote.snapshot().state.elected.pinned is True
        assert isinstance(seen[-1], StateChanged) and seen[-1].state.elected.address == "10.0.0.1"
        with pytest.raises(UnknownGateway, match="not a configured gateway"):
            await remote.pin("10.9.9.9")
        with pytest.raises(GatewayDown, match="cannot pin it"):
            await remote.pin("10.0.0.2")
        assert await remote.unpin() == ElectedView("10.0.0.1", "a", False)
        assert core.pins == ["10.0.0.1", None]

        await server.close()
        async with asyncio.timeout(2):
            await lost.wait()
        await remote.stop()

    asyncio.run(scenario())


def test_bad_lines_from_the_api_change_nothing_and_the_link_stays():
    async def scenario():
        core = Core()
        ours, theirs = socket.socketpair()
        server = CoreServer(core, ours)
        await server.start()
        reader, writer = await asyncio.open_connection(sock=theirs)
        json.loads(await reader.readline())  # hello
        for bad in (b"not json\n", b"[]\n", b'{"t": "pin", "id": 1}\n', b'{"t": "pin", "id": 2, "address": 7}\n',
                    b'{"t": "reboot", "id": 3}\n', b'{"id": 4}\n'):
            writer.write(bad)
        writer.write(b'{"t": "unpin", "id": 5}\n')
        async with asyncio.timeout(2):
            while (msg := json.loads(await reader.readline()))["t"] != "reply":
                pass
        assert msg["id"] == 5 and core.pins == [None]
        writer.close()
        async with asyncio.timeout(2):
            await server.wait_closed()
        await server.close()

    asyncio.run(scenario())
