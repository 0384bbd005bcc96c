"""The sidecar's orchestration: heartbeats, WAN path check, election, and the daemon link.

Wiring only; the decisions are made by the pure cores (:mod:`failover.heartbeat`,
:mod:`failover.election`). Every decision is logged (Python logging and the event log the
dashboard shows) with its inputs:

* a gateway's heartbeat verdict moves (``gateway``): the session's reason, then an immediate
  election round, so a dead elected gateway is left at once;
* the election's answer changes, or a pin is set, lifted or falls back because its gateway is
  down (``election``): the election's reason, which lists every candidate's score;
* the path check's verdict moves (``wan``), and the daemon reports a carrier/path/WAN change
  (``wan``) or failover starting or ending (``failover``).

The election runs every ``ELECTION_TICK_S`` as well, so the ``hold_ms`` timer advances without
events. Its result and the path verdict go to the daemon, which owns the routing; the daemon's
``state`` is read back every ``POLL_S`` and is what the REST state shows.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

from api.events import EventHub
from api.models import DaemonStatus, ElectedState, FailoverState, Gateway, State, WanState

from .config import Config, stamp_key
from .conntrack import FlowMover, Report
from .control_client import DaemonLink, DaemonState
from .election import Candidate, Decision, Election, score
from .heartbeat import HeartbeatConfig, SessionStats, Status, StatusChange
from .pathcheck import PathCheck
from .prober import Prober, Target

__all__ = ["GatewayDown", "Sidecar", "UnknownGateway"]

log = logging.getLogger("failover.sidecar")

ELECTION_TICK_S = 0.05
POLL_S = 0.1


class UnknownGateway(LookupError):
    pass


class GatewayDown(RuntimeError):
    pass


def _updown(b: bool) -> str:
    return "up" if b else "down"


class Sidecar:
    def __init__(self, cfg: Config, hub: EventHub | None = None) -> None:
        self.cfg = cfg
        self.hub = hub or EventHub()
        hb = cfg.heartbeat
        self.targets = [Target(g.name, g.address, hb.port) for g in cfg.gateway]
        self._names = {g.address: g.name for g in cfg.gateway}
        self.prober = Prober(
            self.targets,
            HeartbeatConfig(interval_ms=hb.interval_ms, detect_multiplier=hb.detect_multiplier,
                            recover_count=hb.recover_count),
            on_change=self._gateway_changed,
            stamp_key=stamp_key(cfg),
        )
        self.election = Election(cfg.election.switch_margin, cfg.election.hold_ms)
        self.daemon = DaemonLink(cfg.control.socket, poll_s=POLL_S, on_state=self._daemon_state)
        self.pathcheck = PathCheck(cfg, self._path_verdict) if cfg.wan.probe else None
        # Conntrack entries of flows stranded by a transition go once the rule is in place (DESIGN).
        self.flows = FlowMover(cfg.wan.interface, cfg.failover.lan_interface, on_report=self._flows_moved)
        self.decision: Decision | None = None
        self.failover_since: float | None = None
        # Counters for /metrics.
        self.failover_transitions = 0
        self.election_changes = 0
        self.gateway_transitions = 0
        self._daemon_prev: DaemonState | None = None
        self._state_prev: dict[str, Any] | None = None
        self._elect_now = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._pending: set[asyncio.Task] = set()

    # -- life cycle ----------------------------------------------------------------------

    async def start(self) -> None:
        await self.prober.start()
        if self.pathcheck is not None:
            await self.pathcheck.start()
        self._tasks = [
            asyncio.create_task(self.daemon.run(), name="daemon-link"),
            asyncio.create_task(self._election_loop(), name="election"),
        ]
        log.info("sidecar started: %d gateways every %d ms, path check %s, daemon at %s",
                 len(self.targets), self.cfg.heartbeat.interval_ms,
                 f"to {self.cfg.wan.probe} via {self.cfg.wan.interface}" if self.pathcheck else "off",
                 self.cfg.control.socket)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._tasks = []
        await self.flows.close()
        if self.pathcheck is not None:
            await self.pathcheck.close()
        await self.prober.close()

    # -- views for the API ---------------------------------------------------------------

    def name_of(self, address: str | None) -> str | None:
        return self._names.get(address or "")

    def gateway_stats(self, address: str) -> SessionStats:
        return self.prober.snapshot(address)

    def gateways(self) -> list[Gateway]:
        elected = self.elected_address()
        out = []
        for t in self.targets:
            s = self.prober.snapshot(t.address)
            reachable = self._reachable(t.address)
            out.append(Gateway(
                name=t.name, address=t.address, status=s.status.value,
                rtt_ms=s.rtt_ms, jitter_ms=s.jitter_ms, loss=s.loss,
                score=self._score(s), elected=t.address == elected,
                reachable=reachable, usable=s.status is not Status.DOWN and reachable is not False,
            ))
        return out

    def _reachable(self, address: str) -> bool | None:
        """Can the daemon tell it up/down? None while no daemon answers."""
        d = self.daemon.state
        return None if d is None else address not in d.unreachable

    def elected_address(self) -> str | None:
        """What routing uses: the daemon's election when it answers, else ours."""
        d = self.daemon.state
        if d is not None:
            return d.elected
        return self.decision.address if self.decision else None

    def state(self) -> State:
        d = self.daemon.state
        if d is not None:
            carrier, path, up = d.carrier, d.path, d.wan
            active, rule, changes = d.failover, d.rule, d.changes
        else:
            # No daemon: what the sidecar itself can see; nothing is routed by anyone.
            carrier = self._carrier()
            path = self.pathcheck.up is not False if self.pathcheck else True
            up, active, rule, changes = carrier and path, False, False, 0
        elected = self.elected_address()
        pinned = self.election.pinned is not None and self.election.pinned == elected and bool(
            self.decision and self.decision.pinned)
        return State(
            wan=WanState(interface=self.cfg.wan.interface, carrier=carrier, path=path, up=up),
            failover=FailoverState(active=active, since=self.failover_since if active else None, rule=rule),
            elected=ElectedState(address=elected, name=self._names.get(elected or ""), pinned=pinned),
            changes=changes,
            daemon=DaemonStatus(connected=self.daemon.connected, message=self.daemon.message),
        )

    def _carrier(self) -> bool:
        try:
            return Path(f"/sys/class/net/{self.cfg.wan.interface}/carrier").read_text().strip() == "1"
        except OSError:
            return False  # no such device, or administratively down

    def _score(self, s: SessionStats) -> float | None:
        if s.rtt_ms is None or s.jitter_ms is None:
            return None
        return score(s.rtt_ms, s.jitter_ms, s.loss)

    # -- pin -----------------------------------------------------------------------------

    async def pin(self, address: str) -> Decision:
        if address not in self._names:
            raise UnknownGateway(f"{address} is not a configured gateway")
        status = self.prober.snapshot(address).status
        if status is not Status.UP:
            raise GatewayDown(f"{self._names[address]} {address} is {status.value}: cannot pin it")
        if self._reachable(address) is False:
            raise GatewayDown(f"{self._names[address]} {address} does not answer up/down: cannot pin it")
        self.election.pin(address)
        self.hub.log("election", f"pinned to {self._names[address]} {address} by the REST API",
                     address=address, name=self._names[address], pinned=True)
        return await self._elect()

    async def unpin(self) -> Decision:
        was = self.election.pinned
        self.election.unpin()
        if was is not None:
            self.hub.log("election", f"unpinned {self._names.get(was, was)} {was} by the REST API: automatic election",
                         address=was, pinned=False)
        return await self._elect()

    # -- election ------------------------------------------------------------------------

    def candidates(self) -> list[Candidate]:
        out = []
        for t in self.targets:
            s = self.prober.snapshot(t.address)
            # Unknown (no verdict yet, only at start) is not down: the first configured gateway,
            # which the daemon uses meanwhile, is not left before it had its chance to answer.
            out.append(Candidate(t.address, t.name, s.status is not Status.DOWN, self._score(s),
                                 reachable=self._reachable(t.address) is not False))
        return out

    async def _election_loop(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # races with the event, and the loop then outlives the sidecar's shutdown.
            try:
                async with asyncio.timeout(ELECTION_TICK_S):
                    await self._elect_now.wait()
            except TimeoutError:
                pass
            self._elect_now.clear()
            await self._elect()

    async def _elect(self) -> Decision:
        decision = self.election.update(time.monotonic_ns(), self.candidates())
        previous, self.decision = self.decision, decision
        first = previous is None
        if first or decision.address != previous.address or decision.pinned_down != previous.pinned_down:
            if not first and decision.address != previous.address:
                self.election_changes += 1
            verb = "elected" if first or decision.address != previous.address else "keeping"
            message = f"{verb} {decision.name} {decision.address}: {decision.reason}"
            log.info("%s", message)
            self.hub.log("election", message, address=decision.address, name=decision.name,
                         pinned=decision.pinned, pinned_down=decision.pinned_down)
        if decision.address != self.daemon.elect_to:
            await self.daemon.elect(decision.address)
        self._publish_state()
        return decision

    # -- event sources -------------------------------------------------------------------

    def _gateway_changed(self, target: Target, change: StatusChange, stats: SessionStats) -> None:
        self.gateway_transitions += 1
        message = f"{target.name} {target.address} {change.old.value} -> {change.new.value}: {change.reason}"
        log.info("%s", message)
        self.hub.log("gateway", message, name=target.name, address=target.address,
                     status=change.new.value, previous=change.old.value,
                     rtt_ms=stats.rtt_ms, loss=stats.loss)
        if change.old is Status.DOWN and change.new is Status.UP:
            # Back after a loss: it may have restarted and forgotten what it was told.
            self._spawn(self.daemon.reassert(target.address))
        self._elect_now.set()

    def _path_verdict(self, up: bool, reason: str) -> None:
        log.info("WAN path %s: %s", _updown(up), reason)
        self.hub.log("wan", f"path {_updown(up)}: {reason}", path=up, source="path-check")
        self._spawn(self.daemon.set_path(up))

    def _spawn(self, request) -> None:
        # Called from the prober's tick: send without blocking it; keep a reference until done.
        task = asyncio.get_running_loop().create_task(request)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def _daemon_state(self, d: DaemonState | None) -> None:
        prev, self._daemon_prev = self._daemon_prev, d
        if d is not None:
            if prev is None or (prev.carrier, prev.path, prev.wan) != (d.carrier, d.path, d.wan):
                message = (f"WAN {self.cfg.wan.interface} {_updown(d.wan)} "
                           f"(carrier {_updown(d.carrier)}, path {_updown(d.path)})")
                if prev is not None or not d.wan:
                    log.info("%s", message)
                    self.hub.log("wan", message, carrier=d.carrier, path=d.path, up=d.wan, source="daemon")
            if prev is None or prev.failover != d.failover:
                if prev is not None or d.failover:
                    self._failover_changed(d)
            self._reachability_changed(prev.unreachable if prev is not None else frozenset(), d.unreachable)
        self.flows.observe(d)
        self._publish_state()

    def _reachability_changed(self, before: frozenset[str], now: frozenset[str]) -> None:
        for address in sorted(before ^ now):
            name = self._names.get(address, "?")
            if address in now:
                message = f"{name} {address} unusable: the daemon's last up/down exchanges with it failed"
            else:
                message = f"{name} {address} usable again: it acknowledged the daemon"
            log.info("%s", message)
            self.hub.log("gateway", message, name=name, address=address, reachable=address not in now)
        if before != now:
            self._elect_now.set()

    def _failover_changed(self, d: DaemonState) -> None:
        if d.failover:
            self.failover_since = time.time()
            message = (f"failover on via {self._names.get(d.elected or '', '?')} {d.elected}: WAN down "
                       f"(carrier {_updown(d.carrier)}, path {_updown(d.path)}), rule "
                       f"{'present' if d.rule else 'absent'}")
        else:
            self.failover_since = None
            message = (f"failover off: WAN up (carrier {_updown(d.carrier)}, path {_updown(d.path)}), rule "
                       f"{'present' if d.rule else 'absent'}")
        self.failover_transitions += 1
        log.info("%s", message)
        self.hub.log("failover", message, active=d.failover, elected=d.elected, rule=d.rule)

    def _flows_moved(self, r: Report) -> None:
        self.hub.log("failover", r.message(), **r.fields())

    def _publish_state(self) -> None:
        state = self.state().model_dump()
        if state != self._state_prev:
            self._state_prev = state
            self.hub.state(state)
