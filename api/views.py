"""The core's views (:mod:`failover.core.views` dataclasses) as the REST API's pydantic models, and
the rendered answers of the read endpoints, made once per core snapshot.

A read request costs a dictionary look-up and a write of ready bytes: however many clients ask,
the core is not asked again (it hands the API a snapshot when something changed, or at its
snapshot rate), and the JSON is not rebuilt per request.
"""

from __future__ import annotations

import json
from failover.core.views import ElectedView, GatewayView, Snapshot, StateView, TargetView

from . import metrics
from .models import DaemonStatus, ElectedState, FailoverState, Gateway, Ipv6State, State, Target, WanState


def elected_model(e: ElectedView) -> ElectedState:
    return ElectedState(address=e.address, name=e.name, pinned=e.pinned)


def state_model(s: StateView) -> State:
    return State(
        wan=WanState(interface=s.interface, carrier=s.carrier, path=s.path, up=s.wan_up),
        failover=FailoverState(active=s.failover_active, since=s.failover_since, rule=s.rule),
        elected=elected_model(s.elected),
        changes=s.changes,
        daemon=DaemonStatus(connected=s.daemon_connected, message=s.daemon_message),
        ipv6=Ipv6State(path=s.path6, up=s.wan6_up, failover=s.failover6_active, rule=s.rule6),
    )


def gateway_model(g: GatewayView) -> Gateway:
    return Gateway(name=g.name, address=g.address, status=g.status, rtt_ms=g.rtt_ms, jitter_ms=g.jitter_ms,
                   loss=g.loss, score=g.score, elected=g.elected, reachable=g.reachable, usable=g.usable,
                   address6=g.address6, status6=g.status6, rtt6_ms=g.rtt6_ms, serves6=g.serves6)


def target_model(t: TargetView) -> Target:
    return Target(address=t.address, kind=t.kind, status=t.status, rtt_ms=t.rtt_ms, loss=t.loss)


class Rendered:
    """The answers of one snapshot; ``/metrics`` is rendered on first demand only."""

    __slots__ = ("snapshot", "state", "state_json", "gateways_json", "targets_json", "_metrics")

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.state = state_model(snapshot.state)
        self.state_json = self.state.model_dump_json().encode()
        self.gateways_json = json.dumps([gateway_model(g).model_dump() for g in snapshot.gateways],
                                        separators=(",", ":")).encode()
        self.targets_json = json.dumps([target_model(t).model_dump() for t in snapshot.targets],
                                       separators=(",", ":")).encode()
        self._metrics: bytes | None = None

    @property
    def metrics(self) -> bytes:
        if self._metrics is None:
            self._metrics = metrics.render(self.snapshot)
        return self._metrics


class RenderCache:
    def __init__(self, source) -> None:
        self._source = source  # () -> Snapshot
        self._rendered: Rendered | None = None

    def get(self) -> Rendered:
        snap = self._source()
        r = self._rendered
        if r is None or r.snapshot is not snap:
            r = self._rendered = Rendered(snap)
        return r
