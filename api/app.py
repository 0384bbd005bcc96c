"""The sidecar's FastAPI application: REST (docs/design.md, "REST"), live events, metrics, dashboard.

``create_app`` puts the HTTP surface over the measuring core's narrow interface
(:class:`failover.sidecar.coreview.CoreView`: a snapshot, the recent log, pin/unpin, subscribe) and
nothing else; the core runs in another process in production (:mod:`failover.sidecar.coreipc`). Read
endpoints answer from the latest snapshot, rendered once (:mod:`api.views`). Reads are open;
every mutating call needs the bearer token (:mod:`api.auth`); clients without it are bounded
(:mod:`api.limits`: 429/503 rather than queueing), the operator with it always gets through.
Bad bodies are answered 422 by pydantic before anything changes. The dashboard's files (``api/static``) are served at ``/`` and
``/static``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Request, Response, status
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from sse_starlette.sse import EventSourceResponse

from failover.core.views import CoreUnavailable, GatewayDown, UnknownGateway
from failover.sidecar.coreview import CoreView
from failover.core.events import log_entry

from . import auth, metrics
from .events import EventHub
from .lab import CommandLab, Lab, LabError
from .limits import LimitMiddleware, Limits
from .models import ElectedState, ElectRequest, Gateway, LabFault, LabStatus, LogEvent, Ok, Problem, State, Target
from .views import RenderCache, elected_model

log = logging.getLogger("failover.api")

STATIC = Path(__file__).with_name("static")
GATEWAYS_EVERY_S = 1.0


def create_app(
    core: CoreView,
    *,
    token: str | None = None,
    token_file: str | None = None,
    lab_fault_command: str | None = None,
    lab_flow_file: str | None = None,
    lab_flow6_file: str | None = None,
    lab: Lab | None = None,
    limits: Limits | None = None,
) -> FastAPI:
    """``token``, or else the one in ``token_file`` (created if missing), guards the mutations;
    ``limits`` bound the clients without it (:mod:`api.limits`). The lab's fault injection is
    ``lab``, or else a :class:`api.lab.CommandLab` when ``lab_fault_command`` is given."""
    if lab is None and lab_fault_command is not None:
        lab = CommandLab(lab_fault_command, lab_flow_file, lab_flow6_file)
    if token is None:
        if token_file is None:
            raise ValueError("create_app: a token or a token file is needed")
        token = auth.load_or_create(token_file)
    require_token = auth.BearerToken(token)
    hub = EventHub()
    rendered = RenderCache(core.snapshot)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        await core.start()
        unsubscribe = core.subscribe(hub.publish)
        try:
            yield
        finally:
            unsubscribe()
            await core.stop()

    app = FastAPI(
        title="Adaptive Failover sidecar",
        version="0.1.0",
        description="Heartbeats, election and state of an adaptive-routing WAN failover router.",
        lifespan=lifespan,
    )
    app.state.core = core
    app.add_middleware(LimitMiddleware, token=token, limits=limits)
    authorized = [Depends(require_token)]
    problems = {404: {"model": Problem}, 409: {"model": Problem}, 401: {"model": Problem}, 503: {"model": Problem}}

    # Read-only views are async: a sync handler would hop to the thread pool on every request,
    # which costs more than the view itself under load (bench/api_latency). They answer ready
    # bytes: the models are declared for the schema, the JSON is made once per snapshot.
    @app.get("/api/v1/state", response_model=State)
    async def get_state() -> Response:
        return Response(rendered.get().state_json, media_type="application/json")

    @app.get("/api/v1/gateways", response_model=list[Gateway])
    async def get_gateways() -> Response:
        return Response(rendered.get().gateways_json, media_type="application/json")

    @app.get("/api/v1/targets", response_model=list[Target])
    async def get_targets() -> Response:
        """The WAN path check's targets: their own verdicts, RTT and loss (empty without a path check)."""
        return Response(rendered.get().targets_json, media_type="application/json")

    @app.post("/api/v1/elect", response_model=ElectedState, dependencies=authorized, responses=problems)
    async def pin(body: ElectRequest) -> ElectedState:
        try:
            return elected_model(await core.pin(body.address))
        except UnknownGateway as e:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from None
        except GatewayDown as e:
            raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from None
        except CoreUnavailable as e:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(e)) from None

    @app.delete("/api/v1/elect", response_model=ElectedState, dependencies=authorized,
                responses={401: {"model": Problem}, 503: {"model": Problem}})
    async def unpin() -> ElectedState:
        try:
            return elected_model(await core.unpin())
        except CoreUnavailable as e:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(e)) from None

    @app.get("/api/v1/log", response_model=list[LogEvent])
    async def get_log() -> list[dict]:
        return [log_entry(e) for e in core.history()]

    @app.get("/api/v1/events", response_class=EventSourceResponse,
             responses={200: {"content": {"text/event-stream": {}},
                              "description": "events: state, gateways, wan, failover, election, gateway"}})
    async def events(request: Request) -> EventSourceResponse:
        return EventSourceResponse(stream(request), ping=15)

    async def stream(request: Request):
        loop = asyncio.get_running_loop()
        sub = hub.subscribe()
        try:
            yield {"event": "state", "data": rendered.get().state_json.decode()}
            yield {"event": "gateways", "data": gateways_json()}
            next_gateways = loop.time() + GATEWAYS_EVERY_S
            while not sub.dropped:
                try:
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
        return rendered.get().gateways_json.decode()

    @app.get("/metrics", response_class=Response,
             responses={200: {"content": {metrics.CONTENT_TYPE: {}}, "description": "Prometheus exposition"}})
    async def get_metrics() -> Response:
        return Response(rendered.get().metrics, media_type=metrics.CONTENT_TYPE)

    @app.get("/api/v1/lab", response_model=LabStatus)
    def get_lab() -> LabStatus:
        if lab is None:
            return LabStatus(enabled=False)
        return LabStatus(enabled=lab.enabled, flow=lab.flow(), flow6=lab.flow6())

    @app.post("/api/v1/lab/fault", response_model=Ok, dependencies=authorized,
              responses={404: {"model": Problem}, 502: {"model": Problem}, 401: {"model": Problem}})
    async def lab_fault(body: LabFault) -> Ok:
        if lab is None or not lab.enabled:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "the lab is not enabled (--lab-fault-command)")
        try:
            await lab.inject(body.kind)
        except LabError as e:
            raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(e)) from None
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
