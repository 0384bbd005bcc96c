"""The measuring core as its interface shows it (:mod:`failover.sidecar.coreview`): one
:class:`Snapshot` (state, gateways, counters, the path check; one consistent moment) and the
errors of its commands. Plain data, no I/O: the core builds these, the link between the core's
and the API's processes carries them, the API renders them, the domain events carry the state.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CoreUnavailable",
    "Counters",
    "ElectedView",
    "GatewayDown",
    "GatewayView",
    "PathProbeView",
    "Snapshot",
    "StateView",
    "TargetView",
    "UnknownGateway",
]


class UnknownGateway(LookupError):
    """pin: the address is not a configured gateway."""


class GatewayDown(RuntimeError):
    """pin: the gateway is not up, or the daemon cannot tell it up/down."""


class CoreUnavailable(RuntimeError):
    """A command could not reach the core (its process is gone, or did not answer in time)."""


@dataclass(frozen=True, slots=True)
class ElectedView:
    address: str | None
    name: str | None
    pinned: bool


@dataclass(frozen=True, slots=True)
class StateView:
    """``GET /api/v1/state``, field for field."""

    interface: str
    carrier: bool
    path: bool
    wan_up: bool
    failover_active: bool
    failover_since: float | None
    rule: bool
    elected: ElectedView
    changes: int
    daemon_connected: bool
    daemon_message: str
    #: IPv6 (``ipv6`` in the REST state), from the daemon's state line: wan6, path6, failover6,
    #: rule6 (without a daemon: up and not failed over, as the daemon leaves a family it has not judged).
    wan6_up: bool = True
    path6: bool = True
    failover6_active: bool = False
    rule6: bool = False


@dataclass(frozen=True, slots=True)
class GatewayView:
    name: str
    address: str
    status: str
    rtt_ms: float | None
    jitter_ms: float | None
    loss: float
    score: float | None
    elected: bool
    sent: int
    received: int
    #: The daemon's up/down exchanges with it answer (False after failed ones; None: no daemon).
    reachable: bool | None
    #: The election may choose it: heartbeat not down and reachable not False.
    usable: bool
    #: Its IPv6 address and IPv6 heartbeat (all None without an address6).
    address6: str | None = None
    status6: str | None = None
    rtt6_ms: float | None = None
    jitter6_ms: float | None = None
    loss6: float | None = None
    sent6: int = 0
    received6: int = 0
    #: It carries IPv6 (failover/core/election.py serve_ipv6): the elected one, or the one IPv6 went to.
    serves6: bool = False


@dataclass(frozen=True, slots=True)
class PathProbeView:
    interface: str
    probe: str
    rtt_ms: float | None
    loss: float
    #: Replies that came after the blackout detect time: late, not lost (failover/core/silence.py).
    late: int = 0


@dataclass(frozen=True, slots=True)
class TargetView:
    """One path-check target (``GET /api/v1/targets`` shows the first five fields)."""

    address: str
    kind: str
    status: str
    rtt_ms: float | None
    loss: float
    jitter_ms: float | None = None
    sent: int = 0
    received: int = 0
    #: ICMP errors (unreachable, TTL exceeded) that quoted our probes to it.
    errors: int = 0
    #: Times it went down while the quorum still answered (target faults, never a failover).
    faults: int = 0
    #: Why its verdict last moved.
    reason: str = ""
    #: The family whose path it judges ("ipv4", "ipv6").
    family: str = "ipv4"


@dataclass(frozen=True, slots=True)
class Counters:
    failover_transitions: int = 0
    election_changes: int = 0
    gateway_transitions: int = 0
    garbage: int = 0
    send_errors: int = 0
    stalls: int = 0
    hook_runs: int = 0      # failover/sidecar/hooks.py: programs run and URLs posted
    hook_failures: int = 0  # timeouts, non-zero exits, failed POST attempts
    hook_drops: int = 0     # events a hook never got: queue full, every POST attempt failed


@dataclass(frozen=True, slots=True)
class Snapshot:
    state: StateView
    gateways: tuple[GatewayView, ...]
    counters: Counters
    path: PathProbeView | None
    targets: tuple[TargetView, ...] = ()
    #: Path-check confirmation bursts started, and targets they found silent.
    confirmation_rounds: int = 0
    confirmed_silent: int = 0
