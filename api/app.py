"""The sidecar's FastAPI application: REST (DESIGN.md "REST"), live events, metrics, dashboard.

``create_app`` wires a :class:`failover.sidecar.Sidecar` (started and stopped with the app) to
the HTTP surface. Reads are open; every mutating call needs the bearer token of
``api.token_file`` (:mod:`api.auth`). Bad bodies are answered 422 by pydantic before anything
changes. The dashboard's files (``api/static``) are served at ``/`` and ``/static``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shlex
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Request, Response, status
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from sse_starlette.sse import EventSourceResponse

from failover.config import Config
from failover.sidecar import GatewayDown, Sidecar, UnknownGateway

from . import auth, metrics
from .events import EventHub
from .models import ElectedState, ElectRequest, Gateway, LabFault, LabFlow, LabStatus, LogEvent, Ok, Problem, State

log = logging.getLogger("failover.api")

STATIC = Path(__file__).with_name("static")
GATEWAYS_EVERY_S = 1.0
LAB_FAULT_TIMEOUT_S = 30.0


def _read_flow(path: str | None) -> LabFlow | None:
    """The demo flow's counters; absent or half-written files are just "no data yet"."""
    if path is None:
        return None
    try:
        return LabFlow.model_validate_json(Path(path).read_bytes())
    except (OSError, ValueError):
        return None


def create_app(
    cfg: Config,
    *,
    sidecar: Sidecar | None = None,
    lab_fault_command: str | None = None,
    lab_flow_file: str | None = None,
    token: str | None = None,
) -> FastAPI:
    sidecar = sidecar or Sidecar(cfg, EventHub())
    hub = sidecar.hub
    require_token = auth.BearerToken(token if token is not None else auth.load_or_create(cfg.api.token_file))
    registry = metrics.registry_for(sidecar)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        await sidecar.start()
        try:
            yield
        finally:
            await sidecar.stop()

    app = FastAPI(
        title="Adaptive Failover sidecar",
        version="0.1.0",
        description="Heartbeats, election and state of an adaptive-routing WAN failover router.",
        lifespan=lifespan,
    )
    app.state.sidecar = sidecar
    authorized = [Depends(require_token)]
    problems = {404: {"model": Problem}, 409: {"model": Problem}, 401: {"model": Problem}}

    def elected() -> ElectedState:
        return sidecar.state().elected

    # Read-only views are async: a sync handler would hop to the thread pool (and the GIL) on
    # every request, which costs more than the view itself under load (bench/api_latency).
    @app.get("/api/v1/state", response_model=State)
    async def get_state() -> State:
        return sidecar.state()

    @app.get("/api/v1/gateways", response_model=list[Gateway])
    async def get_gateways() -> list[Gateway]:
        return sidecar.gateways()

    @app.post("/api/v1/elect", response_model=ElectedState, dependencies=authorized, responses=problems)
    async def pin(body: ElectRequest) -> ElectedState:
        try:
            await sidecar.pin(body.address)
        except UnknownGateway as e:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from None
        except GatewayDown as e:
            raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from None
        return elected_now(body.address)

    @app.delete("/api/v1/elect", response_model=ElectedState, dependencies=authorized,
                responses={401: {"model": Problem}})
    async def unpin() -> ElectedState:
        decision = await sidecar.unpin()
        return elected_now(decision.address)

    def elected_now(address: str) -> ElectedState:
        # The daemon applies the election within one poll; answer with the decision itself.
        d = sidecar.decision
        return ElectedState(address=address, name=sidecar.name_of(address),
                            pinned=bool(d and d.pinned and d.address == address))

    @app.get("/api/v1/log", response_model=list[LogEvent])
    async def get_log() -> list[dict]:
        return list(hub.history)

    @app.get("/api/v1/events", response_class=EventSourceResponse,
             responses={200: {"content": {"text/event-stream": {}},
                              "description": "events: state, gateways, wan, failover, election, gateway"}})
    async def events(request: Request) -> EventSourceResponse:
        return EventSourceResponse(stream(request), ping=15)

    async def stream(request: Request):
        loop = asyncio.get_running_loop()
        sub = hub.subscribe()
        try:
            yield {"event": "state", "data": sidecar.state().model_dump_json()}
            yield {"event": "gateways", "data": gateways_json()}
            next_gateways = loop.time() + GATEWAYS_EVERY_S
            while not sub.dropped:
                try:
                    # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
                    # (a client leaving, a shutdown) that races with a queued event.
                    async with asyncio.timeout(max(0.0, next_gateways - loop.time())):
                        kind, data = await sub.queue.get()
                except TimeoutError:
                    next_gateways = loop.time() + GATEWAYS_EVERY_S
                    yield {"event": "gateways", "data": gateways_json()}
                    continue
                yield {"event": kind, "data": json.dumps(data)}
        finally:
            hub.unsubscribe(sub)

    def gateways_json() -> str:
        return json.dumps([g.model_dump() for g in sidecar.gateways()])

    @app.get("/metrics", response_class=Response,
             responses={200: {"content": {metrics.CONTENT_TYPE: {}}, "description": "Prometheus exposition"}})
    def get_metrics() -> Response:
        return Response(metrics.render(registry), media_type=metrics.CONTENT_TYPE)

    @app.get("/api/v1/lab", response_model=LabStatus)
    def lab() -> LabStatus:
        return LabStatus(enabled=lab_fault_command is not None, flow=_read_flow(lab_flow_file))

    @app.post("/api/v1/lab/fault", response_model=Ok, dependencies=authorized,
              responses={404: {"model": Problem}, 502: {"model": Problem}, 401: {"model": Problem}})
    async def lab_fault(body: LabFault) -> Ok:
        if lab_fault_command is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "the lab is not enabled (--lab-fault-command)")
        argv = [*shlex.split(lab_fault_command), body.kind]
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        except OSError as e:
            raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"{argv[0]}: {e.strerror or e}") from None
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), LAB_FAULT_TIMEOUT_S)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise HTTPException(status.HTTP_502_BAD_GATEWAY,
                                f"{shlex.join(argv)} timed out after {LAB_FAULT_TIMEOUT_S:g} s") from None
        if proc.returncode != 0:
            tail = out.decode(errors="replace").strip()[-500:]
            raise HTTPException(status.HTTP_502_BAD_GATEWAY,
                                f"{shlex.join(argv)} exited {proc.returncode}: {tail}")
        log.info("lab fault %s injected by the REST API", body.kind)
        return Ok()

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        index = STATIC / "index.html"
        if not index.is_file():
            raise HTTPException(status.HTTP_404_NOT_FOUND, "dashboard not installed (api/static/index.html)")
        return FileResponse(index)

    # The dashboard may refer to its files as /static/x or relative to / (x): serve both.
    # Mounted last, so the API's routes always win.
    if STATIC.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC), name="static")
        app.mount("/", StaticFiles(directory=STATIC), name="dashboard")
    else:
        log.warning("no dashboard files in %s: / answers 404", STATIC)
    return app
