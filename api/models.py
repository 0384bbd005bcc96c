"""The REST API's JSON shapes (docs/design.md, "REST"), as pydantic models: one schema for the
responses, the request bodies' validation (a bad body is a 422 that changes nothing) and
/openapi.json."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Body(BaseModel):
    # Request bodies: an unknown key is a mistake worth a 422, not something to ignore.
    model_config = ConfigDict(extra="forbid")


class WanState(BaseModel):
    interface: str
    carrier: bool
    path: bool
    up: bool


class FailoverState(BaseModel):
    active: bool
    since: float | None = Field(description="unix seconds when failover was seen to start; null when off")
    rule: bool


class ElectedState(BaseModel):
    address: str | None
    name: str | None
    pinned: bool


class DaemonStatus(BaseModel):
    connected: bool
    message: str


class State(BaseModel):
    wan: WanState
    failover: FailoverState
    elected: ElectedState
    changes: int
    daemon: DaemonStatus


GatewayStatus = Literal["up", "down", "unknown"]


class Gateway(BaseModel):
    name: str
    address: str
    status: GatewayStatus
    rtt_ms: float | None
    jitter_ms: float | None
    loss: float
    score: float | None
    elected: bool
    reachable: bool | None = Field(
        description="the daemon's up/down exchanges with it answer; false after failed ones "
                    "(kernel/failover/gateway.lua), null while no daemon is connected")
    usable: bool = Field(description="the election may choose it: heartbeat not down and reachable not false")


class Target(BaseModel):
    """A path-check target (``[[wan.target]]``, or the one ``wan.probe`` means)."""

    address: str
    kind: Literal["stamp", "icmp"]
    status: GatewayStatus
    rtt_ms: float | None
    loss: float


class ElectRequest(_Body):
    address: str = Field(description="IPv4 address of a configured gateway")

    @field_validator("address")
    @classmethod
    def _ipv4(cls, v: str) -> str:
        try:
            return str(ipaddress.IPv4Address(v))
        except ValueError:
            raise ValueError(f"not an IPv4 address: {v!r}") from None


class LogEvent(BaseModel):
    model_config = ConfigDict(extra="allow")  # kind-specific fields ride along

    ts: float
    kind: Literal["wan", "failover", "election", "gateway"]
    message: str


class LabFlow(BaseModel):
    """The lab's demo flow (client -> internet host, UDP echo), as its sender last wrote it."""

    sent: int
    received: int
    loss: float
    rtt_ms: float | None
    outage_ms: float
    longest_outage_ms: float
    last_echo: float | None


class LabStatus(BaseModel):
    enabled: bool
    flow: LabFlow | None = None


class LabFault(_Body):
    # target-silence: one path-check target stops answering (a target fault, not a failover);
    # clear undoes every fault, target-clear that one.
    kind: Literal["wan-carrier", "wan-path", "target-silence", "target-clear", "clear"]


class Ok(BaseModel):
    ok: bool = True


class Problem(BaseModel):
    detail: str
