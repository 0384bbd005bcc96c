"""A small fake of the measuring core's interface (failover.sidecar.coreview.CoreView) for the dashboard's
browser tests, which drive the real app (api.app.create_app) over it.

The fake holds the state and gateways in the REST shape (dicts), so a test can say what the page
should show; its snapshot converts them into the core's views, and its pin/unpin/log emit the
core's events. A fake lab (:class:`FakeLab`) stands in for the fault command, and
:class:`RequestRecorder` (an ASGI wrapper) notes the mutating calls the page made, as the server
received them. Every mutation must run on the server's loop (conftest's ``Sidecar.call``).

Run it alone with ``python -m tests.browser.fake_sidecar [port]`` to look at the page.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from failover.core.views import (
    Counters,
    ElectedView,
    GatewayDown,
    GatewayView,
    Snapshot,
    StateView,
    TargetView,
    UnknownGateway,
)
from failover.core.events import Event, LogEvent, PinChanged, StateChanged, Subscribers
from api.models import LabFlow

TOKEN = "lab-token"


def default_gateways() -> list[dict[str, Any]]:
    return [
        {"name": "alt1", "address": "10.10.0.11", "status": "up", "rtt_ms": 4.2,
         "jitter_ms": 0.3, "loss": 0.0, "score": 4.8, "elected": True},
        {"name": "alt2", "address": "10.10.0.12", "status": "up", "rtt_ms": 18.5,
         "jitter_ms": 1.1, "loss": 0.0, "score": 20.7, "elected": False},
        {"name": "lte", "address": "10.10.0.13", "status": "up", "rtt_ms": 42.0,
         "jitter_ms": 6.4, "loss": 0.02, "score": 58.3, "elected": False},
    ]


def default_state() -> dict[str, Any]:
    return {
        "wan": {"interface": "wan0", "carrier": True, "path": True, "up": True},
        "failover": {"active": False, "since": None, "rule": False},
        "elected": {"address": "10.10.0.11", "name": "alt1", "pinned": False},
        "changes": 0,
        "daemon": {"connected": True, "message": "connected to /run/failover/control.sock"},
        "ipv6": {"path": True, "up": True, "failover": False, "rule": False},
    }


def deep_merge(dst: dict, patch: dict) -> None:
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            deep_merge(dst[k], v)
        else:
            dst[k] = v


@dataclass(frozen=True, slots=True, kw_only=True)
class PageLogEvent(LogEvent):
    """Any log entry a test wants on the page (kind, message and free fields such as ``reason``)."""

    kind: str = "wan"  # type: ignore[assignment]  # per instance here, a class constant in the core
    text: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return self.text

    def fields(self) -> dict[str, Any]:
        return dict(self.extra)


def state_view(s: dict[str, Any]) -> StateView:
    w, f, e, d, v6 = s["wan"], s["failover"], s["elected"], s["daemon"], s["ipv6"]
    return StateView(interface=w["interface"], carrier=w["carrier"], path=w["path"], wan_up=w["up"],
                     failover_active=f["active"], failover_since=f["since"], rule=f["rule"],
                     elected=ElectedView(e["address"], e["name"], e["pinned"]), changes=s["changes"],
                     daemon_connected=d["connected"], daemon_message=d["message"],
                     wan6_up=v6["up"], path6=v6["path"], failover6_active=v6["failover"], rule6=v6["rule"])


class FakeCore:
    """CoreView over in-memory, REST-shaped state."""

    def __init__(self) -> None:
        self.state = default_state()
        self.gateways = default_gateways()
        #: The path check's targets, REST-shaped (``GET /api/v1/targets``); none by default.
        self.targets: list[dict[str, Any]] = []
        self.wobble = False
        #: As the real sidecar under load: a pin shows in the state (and is pushed) ``pin_delay``
        #: after the pin answered, once "the daemon" applied it; a GET of the state answers the
        #: state as of the request, ``state_delay`` late (:class:`LateStateAnswers`).
        self.pin_delay = 0.0
        self.state_delay = 0.0
        self.log: list[LogEvent] = []
        self._subscribers = Subscribers()
        #: The serving loop while the app runs: mutations from a test's thread go through it.
        self.loop: asyncio.AbstractEventLoop | None = None

    # -- CoreView ------------------------------------------------------------------------------
    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        self.loop = None

    def snapshot(self) -> Snapshot:
        if self.wobble:
            self._wobble()
        gws = tuple(GatewayView(**{"reachable": True, "usable": g["status"] != "down", "sent": 0, "received": 0,
                                   **{k: v for k, v in g.items() if not k.startswith("_")}})
                    for g in self.gateways)
        return Snapshot(state_view(self.state), gws, Counters(), None,
                        tuple(TargetView(**t) for t in self.targets))

    def history(self) -> list[LogEvent]:
        return self.log[-200:]

    def subscribe(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        return self._subscribers.subscribe(listener)

    async def pin(self, address: str) -> ElectedView:
        gw = next((g for g in self.gateways if g["address"] == address), None)
        if gw is None:
            raise UnknownGateway(f"{address} is not a configured gateway")
        if gw["status"] != "up":
            raise GatewayDown(f"{gw['name']} {address} is {gw['status']}: cannot pin it")
        self._emit(PinChanged(address=address, name=gw["name"], pinned=True))
        if self.pin_delay:
            asyncio.get_running_loop().call_later(self.pin_delay, self._elect, address, True)
        else:
            self._elect(address, pinned=True)
        return ElectedView(address, gw["name"], True)

    async def unpin(self) -> ElectedView:
        e = self.state["elected"]
        e["pinned"] = False
        self.state["changes"] += 1
        self._emit(PinChanged(address=e["address"], name=e["name"], pinned=False))
        self.patch_state({})
        return ElectedView(e["address"], e["name"], False)

    # -- what tests do -------------------------------------------------------------------------
    def patch_state(self, patch: dict[str, Any]) -> None:
        deep_merge(self.state, patch)
        self._emit(StateChanged(state=state_view(self.state)))

    def add_log(self, kind: str, message: str, **extra: Any) -> None:
        self._emit(PageLogEvent(kind=kind, text=message, extra=extra))

    def set_wan(self, *, carrier: bool, path: bool) -> None:
        wan = self.state["wan"]
        was_up = wan["up"]
        wan.update(carrier=carrier, path=path, up=carrier and path)
        if was_up != wan["up"]:
            self.add_log("wan", f"WAN {'up' if wan['up'] else 'down'}",
                         reason=f"carrier {'up' if carrier else 'down'}, path {'up' if path else 'down'}")
            active = not wan["up"]
            self.state["failover"] = {"active": active, "since": time.time() if active else None, "rule": active}
            self.state["changes"] += 1
            self.add_log("failover", f"failover {'on' if active else 'off'}",
                         reason="WAN down" if active else "WAN back up", gateway=self.state["elected"]["address"])
        self.patch_state({})

    def public_gateways(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in g.items() if not k.startswith("_")} for g in self.gateways]

    # -- internals -----------------------------------------------------------------------------
    def _elect(self, address: str, pinned: bool) -> None:
        gw = next(g for g in self.gateways if g["address"] == address)
        for g in self.gateways:
            g["elected"] = g["address"] == address
        self.state["changes"] += 1
        self.patch_state({"elected": {"address": address, "name": gw["name"], "pinned": pinned}})

    def _emit(self, event: Event) -> None:
        if isinstance(event, LogEvent):
            self.log.append(event)
        self._subscribers.publish(event)

    def _wobble(self) -> None:
        for g in self.gateways:
            if g["status"] != "up" or g["rtt_ms"] is None:
                continue
            base = g.setdefault("_base", g["rtt_ms"])
            g["rtt_ms"] = round(max(0.2, base * (1 + random.uniform(-0.15, 0.15))), 2)
            g["jitter_ms"] = round(abs(g["rtt_ms"] - base) + random.uniform(0, base * 0.05), 2)
            g["loss"] = round(max(0.0, min(1.0, (g["loss"] or 0) + random.uniform(-0.01, 0.01))), 3)
            g["score"] = round(g["rtt_ms"] + 2 * g["jitter_ms"] + 100 * g["loss"], 2)


class FakeLab:
    """The lab's fault injection, acting on the fake core; off until a test turns it on."""

    def __init__(self, core: FakeCore) -> None:
        self.core = core
        self.enabled = False
        #: The demo flows' counters (LabFlow-shaped), as the lab's senders would write them.
        self.flow_counters: dict[str, Any] | None = None
        self.flow6_counters: dict[str, Any] | None = None

    def flow(self) -> LabFlow | None:
        return None if self.flow_counters is None else LabFlow(**self.flow_counters)

    def flow6(self) -> LabFlow | None:
        return None if self.flow6_counters is None else LabFlow(**self.flow6_counters)

    async def inject(self, kind: str) -> None:
        wan = self.core.state["wan"]
        if kind == "wan-carrier":
            self.core.set_wan(carrier=False, path=wan["path"])
        elif kind == "wan-path":
            self.core.set_wan(carrier=wan["carrier"], path=False)
        elif kind.startswith("target-"):
            # the lab silences its first echo-only target: the path stays as it is
            silenced = next((t for t in self.core.targets if t["kind"] == "icmp"), None)
            if silenced is not None:
                silenced["status"] = "down" if kind == "target-silence" else "up"
        else:
            self.core.set_wan(carrier=True, path=True)
            for t in self.core.targets:
                t["status"] = "up"


class LateStateAnswers:
    """ASGI wrapper: ``GET /api/v1/state`` answered as computed at once, sent ``state_delay`` late."""

    def __init__(self, app, core: FakeCore) -> None:
        self.app = app
        self.core = core

    async def __call__(self, scope, receive, send) -> None:
        delay = self.core.state_delay
        if scope["type"] != "http" or scope["path"] != "/api/v1/state" or not delay:
            await self.app(scope, receive, send)
            return
        held: list = []

        async def hold(message):
            held.append(message)

        await self.app(scope, receive, hold)
        await asyncio.sleep(delay)
        for message in held:
            await send(message)


class RequestRecorder:
    """ASGI wrapper: the mutating /api/ calls received, with their Authorization, body and status."""

    MUTATING: ClassVar[set[str]] = {"POST", "PUT", "DELETE"}

    def __init__(self, app) -> None:
        self.app = app
        self.requests: list[dict[str, Any]] = []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] not in self.MUTATING or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        auth = dict(scope["headers"]).get(b"authorization")
        body = bytearray()
        entry: dict[str, Any] = {"method": scope["method"], "path": scope["path"],
                                 "authorization": auth.decode() if auth else None, "body": None, "status": None}

        async def recv():
            message = await receive()
            if message["type"] == "http.request":
                body.extend(message.get("body", b""))
                if not message.get("more_body"):
                    entry["body"] = json.loads(body) if body else None
            return message

        async def snd(message):
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
            await send(message)

        self.requests.append(entry)
        await self.app(scope, recv, snd)


if __name__ == "__main__":
    import sys

    import uvicorn

    from api.app import create_app

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    demo = FakeCore()
    demo.wobble = True
    lab = FakeLab(demo)
    lab.enabled = True
    print(f"fake core under the real app on http://127.0.0.1:{port}/  token: {TOKEN}")
    uvicorn.run(create_app(demo, token=TOKEN, lab=lab), host="127.0.0.1", port=port)
