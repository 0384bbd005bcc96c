"""A test double of the sidecar's HTTP surface, for testing the dashboard in a browser.

It implements the API the page uses (state, gateways, log, lab, events, elect, lab/fault) with
in-memory state, serves the real ``api/static`` files (``/`` → index.html, ``/static/…``), and
adds control endpoints under ``/test/`` so a test can drive it over HTTP:

    POST   /test/state        deep-merges a partial state object, pushes ``event: state``
    PUT    /test/gateways     replaces the gateway list (pushed on the next tick)
    POST   /test/log          appends a log event and pushes it as ``event: <kind>``
    PUT    /test/lab          {"enabled": bool}
    PUT    /test/reachable    {"reachable": false} → every /api/ call answers 503, streams end
    PUT    /test/tick         {"interval": s, "wobble": bool} gateways push period, random drift
    PUT    /test/delays       {"pin_s": s, "state_s": s} as the real sidecar under load: a pin shows
                              in the state (and is pushed) pin_s after POST elect answers, once
                              "the daemon" applied it; GET state answers the state as of the
                              request, state_s late
    GET    /test/requests     mutating API calls seen, with their Authorization header and status
    DELETE /test/requests

No routing, heartbeats or daemon behind it: the real sidecar is tested elsewhere.
Run it alone with ``python tests/browser/fake_sidecar.py [port]`` to look at the page.
"""

from __future__ import annotations

import asyncio
import copy
import hmac
import json
import random
import time
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from sse_starlette import EventSourceResponse

STATIC_DIR = Path(__file__).resolve().parents[2] / "api" / "static"
TOKEN = "lab-token"


def default_gateways() -> list[dict[str, Any]]:
    return [
        {"name": "alt1", "address": "10.10.0.11", "status": "up", "rtt_ms": 4.2,
         "jitter_ms": 0.3, "loss": 0.0, "score": 4.8, "elected": True, "reachable": True, "usable": True},
        {"name": "alt2", "address": "10.10.0.12", "status": "up", "rtt_ms": 18.5,
         "jitter_ms": 1.1, "loss": 0.0, "score": 20.7, "elected": False, "reachable": True, "usable": True},
        {"name": "lte", "address": "10.10.0.13", "status": "up", "rtt_ms": 42.0,
         "jitter_ms": 6.4, "loss": 0.02, "score": 58.3, "elected": False, "reachable": True, "usable": True},
    ]


def default_state() -> dict[str, Any]:
    return {
        "wan": {"interface": "wan0", "carrier": True, "path": True, "up": True},
        "failover": {"active": False, "since": None, "rule": False},
        "elected": {"address": "10.10.0.11", "name": "alt1", "pinned": False},
        "changes": 0,
        "daemon": {"connected": True, "message": "connected to /run/failover/control.sock"},
    }


def deep_merge(dst: dict, patch: dict) -> None:
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            deep_merge(dst[k], v)
        else:
            dst[k] = v


class ElectBody(BaseModel):
    address: str


class FaultBody(BaseModel):
    kind: Literal["wan-carrier", "wan-path", "clear"]


class FakeSidecar:
    def __init__(self, *, token: str = TOKEN, lab_enabled: bool = False, tick: float = 1.0) -> None:
        self.token = token
        self.lab_enabled = lab_enabled
        self.tick = tick
        self.wobble = False
        self.reachable = True
        self.state = default_state()
        self.gateways = default_gateways()
        self.log: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.subscribers: set[asyncio.Queue] = set()
        self.pin_delay = 0.0
        self.state_delay = 0.0

    # -- helpers -------------------------------------------------------------------------------
    def publish(self, event: str, data: Any) -> None:
        for q in list(self.subscribers):
            q.put_nowait((event, data))

    def add_log(self, kind: str, message: str, **extra: Any) -> dict[str, Any]:
        e = {"ts": time.time(), "kind": kind, "message": message, **extra}
        self.log.append(e)
        del self.log[:-200]
        self.publish(kind, e)
        return e

    def set_elected(self, address: str, pinned: bool) -> None:
        gw = next(g for g in self.gateways if g["address"] == address)
        self.state["elected"] = {"address": address, "name": gw["name"], "pinned": pinned}
        for g in self.gateways:
            g["elected"] = g["address"] == address
        self.state["changes"] += 1

    def set_wan(self, *, carrier: bool, path: bool) -> None:
        wan = self.state["wan"]
        was_up = wan["up"]
        wan.update(carrier=carrier, path=path, up=carrier and path)
        if was_up != wan["up"]:
            self.add_log("wan", f"WAN {'up' if wan['up'] else 'down'}",
                         reason=f"carrier {'up' if carrier else 'down'}, path {'up' if path else 'down'}")
            active = not wan["up"]
            self.state["failover"] = {"active": active, "since": time.time() if active else None,
                                      "rule": active}
            self.state["changes"] += 1
            elected = self.state["elected"]
            self.add_log("failover", f"failover {'on' if active else 'off'}",
                         reason="WAN down" if active else "WAN back up", gateway=elected["address"])
        self.publish("state", self.state)

    def authorized(self, request: Request) -> bool:
        got = request.headers.get("authorization", "")
        return hmac.compare_digest(got.encode(), f"Bearer {self.token}".encode())

    def record(self, request: Request, body: Any, status: int) -> None:
        self.requests.append({"method": request.method, "path": request.url.path,
                              "authorization": request.headers.get("authorization"),
                              "body": body, "status": status})

    def tick_gateways(self) -> None:
        if not self.wobble:
            return
        for g in self.gateways:
            if g["status"] != "up" or g["rtt_ms"] is None:
                continue
            base = g.setdefault("_base", g["rtt_ms"])
            g["rtt_ms"] = round(max(0.2, base * (1 + random.uniform(-0.15, 0.15))), 2)
            g["jitter_ms"] = round(abs(g["rtt_ms"] - base) + random.uniform(0, base * 0.05), 2)
            g["loss"] = round(max(0.0, min(1.0, (g["loss"] or 0) + random.uniform(-0.01, 0.01))), 3)
            g["score"] = round(g["rtt_ms"] + 2 * g["jitter_ms"] + 100 * g["loss"], 2)

    def public_gateways(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in g.items() if not k.startswith("_")} for g in self.gateways]


def create_app(fake: FakeSidecar, static_dir: Path = STATIC_DIR) -> FastAPI:
    app = FastAPI(title="fake failover sidecar (tests only)")

    @app.middleware("http")
    async def unreachable(request: Request, call_next):
        if not fake.reachable and request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "fake sidecar: unreachable"}, status_code=503)
        return await call_next(request)

    def unauthorized() -> JSONResponse:
        return JSONResponse({"detail": "missing or wrong bearer token"}, status_code=401,
                            headers={"WWW-Authenticate": "Bearer"})

    # -- the API the page uses ---------------------------------------------------------------------
    @app.get("/api/v1/state")
    async def get_state():
        answer = copy.deepcopy(fake.state)
        if fake.state_delay:
            await asyncio.sleep(fake.state_delay)
        return answer

    @app.get("/api/v1/gateways")
    async def get_gateways():
        return fake.public_gateways()

    @app.get("/api/v1/log")
    async def get_log():
        return fake.log[-100:]

    @app.get("/api/v1/lab")
    async def get_lab():
        return {"enabled": fake.lab_enabled}

    @app.get("/api/v1/events")
    async def events(request: Request):
        q: asyncio.Queue = asyncio.Queue()
        fake.subscribers.add(q)

        async def stream():
            try:
                yield {"event": "state", "data": json.dumps(fake.state)}
                yield {"event": "gateways", "data": json.dumps(fake.public_gateways())}
                next_tick = time.monotonic() + fake.tick
                while fake.reachable:
                    try:
                        item = await asyncio.wait_for(q.get(), max(0.0, next_tick - time.monotonic()))
                    except asyncio.TimeoutError:
                        fake.tick_gateways()
                        yield {"event": "gateways", "data": json.dumps(fake.public_gateways())}
                        next_tick = time.monotonic() + fake.tick
                        continue
                    if item is None:
                        break
                    event, data = item
                    yield {"event": event, "data": json.dumps(data)}
            finally:
                fake.subscribers.discard(q)

        return EventSourceResponse(stream(), ping=15)

    @app.post("/api/v1/elect")
    async def elect(request: Request, body: ElectBody):
        if not fake.authorized(request):
            fake.record(request, body.model_dump(), 401)
            return unauthorized()
        gw = next((g for g in fake.gateways if g["address"] == body.address), None)
        if gw is None:
            fake.record(request, body.model_dump(), 404)
            return JSONResponse({"detail": f"unknown gateway {body.address}"}, status_code=404)
        if gw["status"] == "down":
            fake.record(request, body.model_dump(), 409)
            return JSONResponse({"detail": f"gateway {body.address} is down"}, status_code=409)
        fake.record(request, body.model_dump(), 200)

        def apply() -> None:
            fake.set_elected(body.address, pinned=True)
            fake.add_log("election", f"elected {gw['name']} ({body.address})", reason="pinned by operator")
            fake.publish("state", fake.state)

        if fake.pin_delay:
            asyncio.get_running_loop().call_later(fake.pin_delay, apply)
            return {"address": body.address, "name": gw["name"], "pinned": True}
        apply()
        return fake.state["elected"]

    @app.delete("/api/v1/elect")
    async def unpin(request: Request):
        if not fake.authorized(request):
            fake.record(request, None, 401)
            return unauthorized()
        fake.record(request, None, 200)
        fake.state["elected"]["pinned"] = False
        fake.state["changes"] += 1
        fake.add_log("election", "pin released", reason="unpinned by operator; automatic election")
        fake.publish("state", fake.state)
        return fake.state["elected"]

    @app.post("/api/v1/lab/fault")
    async def lab_fault(request: Request, body: FaultBody):
        if not fake.lab_enabled:
            return JSONResponse({"detail": "not a lab"}, status_code=404)
        if not fake.authorized(request):
            fake.record(request, body.model_dump(), 401)
            return unauthorized()
        fake.record(request, body.model_dump(), 200)
        if body.kind == "wan-carrier":
            fake.set_wan(carrier=False, path=fake.state["wan"]["path"])
        elif body.kind == "wan-path":
            fake.set_wan(carrier=fake.state["wan"]["carrier"], path=False)
        else:
            fake.set_wan(carrier=True, path=True)
        return {"ok": True, "kind": body.kind}

    # -- control endpoints for tests -------------------------------------------------------------
    @app.post("/test/state")
    async def t_state(patch: dict[str, Any]):
        deep_merge(fake.state, patch)
        fake.publish("state", fake.state)
        return fake.state

    @app.put("/test/gateways")
    async def t_gateways(gateways: list[dict[str, Any]]):
        fake.gateways = gateways
        return {"ok": True}

    @app.post("/test/log")
    async def t_log(event: dict[str, Any]):
        e = {"ts": time.time(), **event}
        fake.log.append(e)
        fake.publish(e["kind"], e)
        return e

    @app.put("/test/lab")
    async def t_lab(body: dict[str, Any]):
        fake.lab_enabled = bool(body["enabled"])
        return {"enabled": fake.lab_enabled}

    @app.put("/test/reachable")
    async def t_reachable(body: dict[str, Any]):
        fake.reachable = bool(body["reachable"])
        if not fake.reachable:
            for q in list(fake.subscribers):
                q.put_nowait(None)
        return {"reachable": fake.reachable}

    @app.put("/test/tick")
    async def t_tick(body: dict[str, Any]):
        fake.tick = float(body.get("interval", fake.tick))
        fake.wobble = bool(body.get("wobble", fake.wobble))
        return {"interval": fake.tick, "wobble": fake.wobble}

    @app.put("/test/delays")
    async def t_delays(body: dict[str, Any]):
        fake.pin_delay = float(body.get("pin_s", fake.pin_delay))
        fake.state_delay = float(body.get("state_s", fake.state_delay))
        return {"pin_s": fake.pin_delay, "state_s": fake.state_delay}

    @app.get("/test/requests")
    async def t_requests():
        return fake.requests

    @app.delete("/test/requests")
    async def t_requests_clear():
        fake.requests.clear()
        return {"ok": True}

    # -- the page ---------------------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    async def index():
        return FileResponse(static_dir / "index.html")

    app.mount("/static", StaticFiles(directory=static_dir), name="static")
    return app


if __name__ == "__main__":
    import sys

    import uvicorn

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    demo = FakeSidecar(lab_enabled=True)
    demo.wobble = True
    print(f"fake sidecar on http://127.0.0.1:{port}/  token: {demo.token}")
    uvicorn.run(create_app(demo), host="127.0.0.1", port=port)
