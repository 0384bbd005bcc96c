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


class Ipv6State(BaseModel):
    """IPv6 over the same WAN, from the daemon's state line (wan6, path6, failover6, rule6)."""

    path: bool = Field(description="the IPv6 path verdict as last reported (path6)")
    up: bool = Field(description="IPv6 usable: admin, carrier and its own or followed path verdict (wan6)")
    failover: bool = Field(description="IPv6 failed over (failover6)")
    rule: bool = Field(description="the IPv6 rule P -> T is in the FIB (rule6)")


class State(BaseModel):
    wan: WanState
    failover: FailoverState
    elected: ElectedState
    changes: int
    daemon: DaemonStatus
    ipv6: Ipv6State


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
    address6: str | None = Field(description="its IPv6 address on the LAN; null without one")
    status6: GatewayStatus | None = Field(description="its IPv6 heartbeat's verdict; null without an address6")
    rtt6_ms: float | None = Field(description="its IPv6 heartbeat's smoothed RTT; null without one")
    serves6: bool = Field(description="it carries IPv6: the elected gateway, or the one IPv6 went to because "
                                      "the elected one has no address6 or its IPv6 heartbeat is down")


class Target(BaseModel):
    """A path-check target (``[[wan.target]]``, or the one ``wan.probe`` means)."""

    address: str
    kind: Literal["stamp", "icmp"]
    status: GatewayStatus
    rtt_ms: float | None
    loss: float


class ElectRequest(_Body):
    address: str = Field(description="a configured gateway's IPv4 address or its address6")

    @field_validator("address")
    @classmethod
    def _ip(cls, v: str) -> str:
        try:
            address = ipaddress.ip_address(v)
        except ValueError:
            raise ValueError(f"not an IPv4 or IPv6 address: {v!r}") from None
        # a gateway's address6 is global or ULA: a scoped (link-local) address names none
        if getattr(address, "scope_id", None) is not None:
            raise ValueError(f"a scoped IPv6 address names no gateway: {v!r}")
        return str(address)


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
    #: The IPv6 demo flow (client -> internet host over IPv6) of a dual-stack lab.
    flow6: LabFlow | None = None


class LabFault(_Body):
    # target-silence: one path-check target stops answering (a target fault, not a failover);
    # wan-path6: IPv6 stops beyond the ISP, IPv4 works (IPv6 fails over on its own);
    # clear undoes every fault, target-clear that one.
    kind: Literal["wan-carrier", "wan-path", "wan-path6", "target-silence", "target-clear", "clear"]


class Ok(BaseModel):
    ok: bool = True


class Problem(BaseModel):
    detail: str
