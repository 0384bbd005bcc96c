"""The measuring core: heartbeats, WAN path check, election, the daemon link, conntrack clean-up.

Wiring only; the decisions are made by the pure cores (:mod:`failover.core.heartbeat`,
:mod:`failover.core.election`). Everything that happens leaves as one typed domain event
(:mod:`failover.core.events`) with its inputs, which the Python log, the decision log, the API's live
stream and its counters are made from:

* a gateway's heartbeat verdict moves (:class:`GatewayStatusChanged`; a gateway with an
  ``address6`` has an IPv6 heartbeat of its own): the session's reason, then an immediate
  election round, so a dead elected gateway is left at once;
* the gateway serving IPv6 changes (:class:`Ipv6ServerChanged`): the elected one unless it has
  no address6 or its IPv6 heartbeat is down (``serve_ipv6``), told to the daemon (``serve6``);
* the election's answer changes, or a pin is set, lifted or falls back because its gateway is
  down (:class:`ElectionChanged`, :class:`PinChanged`): the election's reason lists every score;
* a family's path check verdict moves (:class:`PathVerdict`, one path check per family with
  targets: IPv4 targets judge IPv4 and go to the daemon as ``path``, IPv6 ones as ``path6``), the daemon reports a carrier/path/WAN
  change (:class:`WanChanged`) or failover starting or ending (:class:`FailoverChanged`),
  conntrack entries were moved (:class:`FlowsMoved`).

The election runs every ``ELECTION_TICK_S`` as well, so the ``hold_ms`` timer advances without
events. Its result and the path verdict go to the daemon, which owns the routing; the daemon's
``state`` is read back every ``POLL_S`` and is what the state shows.

:class:`Sidecar` is the narrow interface :class:`failover.sidecar.coreview.CoreView` in process; it imports
nothing from ``api/``. In production it runs in its own process, away from HTTP
(:mod:`failover.sidecar.coreipc`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from collections import deque
from collections.abc import Callable, Sequence

from functools import partial

from ..config import Config, Family, stamp_key
from ..tasks import cancel_and_wait
from ..net.conntrack import FlowMover, Report
from ..core.controlline import DaemonState
from ..net.control_client import DaemonLink
from ..core.views import (
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
from ..core.election import (Candidate, Candidate6, Decision, Election, Server6, candidate, candidate6,
                             measured_score, serve_ipv6)
from ..core.events import (
    ElectionChanged,
    Event,
    FailoverChanged,
    FlowsMoved,
    GatewayReachabilityChanged,
    GatewayStatusChanged,
    Ipv6ServerChanged,
    LogEvent,
    PathVerdict,
    PinChanged,
    StateChanged,
    Subscribers,
    TargetFaulted,
    TargetStatusChanged,
    WanChanged,
)
from ..core.heartbeat import SessionStats, Status, StatusChange
from .hooks import Hooks
from .recorder import open_recorder
from ..core.quorum import TargetChange, TargetFault
from ..net.pathcheck import PathCheck, journal_name, path_timing
from ..net.prober import Prober, Target, gateway_heartbeat_config

__all__ = ["GatewayDown", "Sidecar", "UnknownGateway"]

log = logging.getLogger("failover.sidecar")

ELECTION_TICK_S = 0.05
POLL_S = 0.1
#: Log events kept for ``GET /api/v1/log``.
HISTORY = 200


class Sidecar:
    """The measuring core in one asyncio loop; implements :class:`failover.sidecar.coreview.CoreView`."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self._history: deque[LogEvent] = deque(maxlen=HISTORY)
        self._subscribers = Subscribers()
        self._set_gateways(cfg)
        # The inputs of every decision, for `failover replay` ([journal]; a no-op without it).
        self.journal = open_recorder(cfg)
        self.prober = Prober(
            self.targets + self.targets6,
            gateway_heartbeat_config(cfg),
            on_change=self._gateway_changed,
            stamp_key=stamp_key(cfg), tap=self.journal.tap("gw"),
        )
        self.election = Election(cfg.election.switch_margin, cfg.election.hold_ms, cfg.election.switch_min_ms)
        self.daemon = DaemonLink(cfg.control.socket, poll_s=POLL_S, on_state=self._daemon_state)
        self.pathchecks = self._path_checks(cfg)
        # Conntrack entries of flows stranded by a transition go once the rule is in place (docs/design.md, "Routing").
        self.flows = FlowMover(cfg.wan.interface, cfg.failover.lan_interface, on_report=self._flows_moved)
        # Operators' programs and webhooks on events: queued here, run beside the core (never in its way).
        self.hooks = Hooks(cfg)
        self.subscribe(self.hooks)
        self.decision: Decision | None = None
        self.server6: Server6 | None = None
        self.failover_since: float | None = None
        # Counters for /metrics.
        self.failover_transitions = 0
        self.election_changes = 0
        self.gateway_transitions = 0
        self._daemon_prev: DaemonState | None = None
        self._state_prev: StateView | None = None
        self._elect_now = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._pending: set[asyncio.Task] = set()

    # -- life cycle ----------------------------------------------------------------------

    async def start(self) -> None:
        self.hooks.start()
        self.journal.start()
        await self.prober.start()
        for check in self.pathchecks.values():
            await check.start()
        self._tasks = [
            asyncio.create_task(self.daemon.run(), name="daemon-link"),
            asyncio.create_task(self._election_loop(), name="election"),
        ]
        log.info("sidecar started: %d gateways every %d ms, path check %s, daemon at %s",
                 len(self.targets), self.cfg.heartbeat.interval_ms,
                 f"to {', '.join(t.address for t in self.cfg.wan.targets)} via {self.cfg.wan.interface}"
                 if self.pathchecks else "off",
                 self.cfg.control.socket)

    async def stop(self) -> None:
        await cancel_and_wait(*self._tasks)
        self._tasks = []
        await self.flows.close()
        for check in self.pathchecks.values():
            await check.close()
        await self.prober.close()
        await self.hooks.close()
        self.journal.close()

    async def reload(self, cfg: Config) -> list[str]:
        """Apply a new config (``failover.sidecar.reload`` has checked that it may be applied live):
        gateways added or removed, heartbeat and election thresholds, the path check, hooks.
        Probes of unchanged gateways keep running with their verdicts. Returns what changed."""
        old, changed = self.cfg, []
        self.journal.reload(cfg)
        hb = cfg.heartbeat
        before = [(t.name, t.address) for t in self.targets + self.targets6]
        old_addresses = {t.address for t in self.targets + self.targets6}
        self._set_gateways(cfg)
        if [(t.name, t.address) for t in self.targets + self.targets6] != before:
            kept = old_addresses & {t.address for t in self.targets + self.targets6}
            changed.append(f"gateways {', '.join(g.name for g in cfg.gateway)} ({len(kept)} kept probing)")
            self.prober.retarget(self.targets + self.targets6)
            if self.election.pinned is not None and self.election.pinned not in self._names:
                self.election.unpin()
        if (hb.detect_multiplier, hb.recover_count) != (old.heartbeat.detect_multiplier, old.heartbeat.recover_count):
            changed.append(f"heartbeat detect_multiplier {hb.detect_multiplier}, recover_count {hb.recover_count}")
            self.prober.set_config(gateway_heartbeat_config(cfg))
        if cfg.election != old.election:
            e = cfg.election
            changed.append(f"election switch_margin {e.switch_margin}, hold_ms {e.hold_ms}, switch_min_ms {e.switch_min_ms:g}")
            self.election.switch_margin, self.election.hold_ms = e.switch_margin, e.hold_ms
            self.election.switch_min_ms = e.switch_min_ms
        if (cfg.wan, path_timing(cfg)) != (old.wan, path_timing(old)):
            changed.append(f"path check {', '.join(t.address for t in cfg.wan.targets) or 'off'} "
                           f"via {cfg.wan.interface}")
            for check in self.pathchecks.values():
                await check.close()
            self.pathchecks = self._path_checks(cfg)
            # A family left without targets stops being pushed: the daemon makes it follow.
            if "ipv4" not in self.pathchecks:
                self.daemon.path_to = None
            if "ipv6" not in self.pathchecks:
                self.daemon.path6_to = None
            for check in self.pathchecks.values():
                await check.start()
        if cfg.hook != old.hook:
            changed.append(f"{len(cfg.hook)} hooks")
            self._listeners.remove(self.hooks)
            await self.hooks.close()
            self.hooks = Hooks(cfg, self.hooks.counters)
            self.subscribe(self.hooks)
            self.hooks.start()
        self.cfg = cfg
        self._elect_now.set()
        return changed

    def _set_gateways(self, cfg: Config) -> None:
        """The heartbeat targets: each gateway's IPv4 address, and its address6 as a session of its own."""
        port = cfg.heartbeat.port
        self.targets = [Target(g.name, g.address, port) for g in cfg.gateway]
        self.targets6 = [Target(g.name, g.address6, port) for g in cfg.gateway if g.address6 is not None]
        self._names = {g.address: g.name for g in cfg.gateway}
        self._address6 = {g.address: g.address6 for g in cfg.gateway}
        self._by_address6 = {g.address6: g.address for g in cfg.gateway if g.address6 is not None}

    # -- the narrow interface (failover.sidecar.coreview.CoreView) ---------------------------------

    def snapshot(self) -> Snapshot:
        verdicts = [c.verdict for c in self.pathchecks.values()]
        return Snapshot(self.state(), tuple(self.gateways()), self.counters(), self.path_probe(),
                        tuple(self.path_targets()), sum(v.rounds for v in verdicts),
                        sum(v.confirmed_silent for v in verdicts))

    def history(self) -> Sequence[LogEvent]:
        return tuple(self._history)

    def subscribe(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        return self._subscribers.subscribe(listener)

    def counters(self) -> Counters:
        c = self.prober.counters
        path_garbage = sum(c.counters.garbage for c in self.pathchecks.values())
        h = self.hooks.counters
        return Counters(self.failover_transitions, self.election_changes, self.gateway_transitions,
                        c.garbage + path_garbage, c.send_errors, c.stalls, h.runs, h.failures, h.drops)

    def path_probe(self) -> PathProbeView | None:
        check = next(iter(self.pathchecks.values()), None)
        if check is None:
            return None
        # The first family's first target (with wan.probe, the only one); every target: path_targets().
        p = check.stats
        return PathProbeView(self.cfg.wan.interface, check.verdict.specs[0].address, p.rtt_ms, p.loss, p.late)

    def path_targets(self) -> list[TargetView]:
        """Every family's targets, in config order."""
        views = {v.spec.address: (family, v) for family, c in self.pathchecks.items() for v in c.verdict.views()}
        return [TargetView(v.spec.address, v.spec.kind, v.stats.status.value, v.stats.rtt_ms, v.stats.loss,
                           v.stats.jitter_ms, v.stats.sent, v.stats.received, v.errors, v.faults, v.reason, family)
                for t in self.cfg.wan.targets if t.address in views for family, v in (views[t.address],)]

    def name_of(self, address: str | None) -> str | None:
        return self._names.get(address or "")

    def gateways(self) -> list[GatewayView]:
        elected = self.elected_address()
        serves6 = self.server6.address if self.server6 is not None else None
        out = []
        for t in self.targets:
            s = self.prober.snapshot(t.address)
            reachable = self._reachable(t.address)
            address6 = self._address6.get(t.address)
            s6 = self.prober.snapshot(address6) if address6 is not None else None
            out.append(GatewayView(
                name=t.name, address=t.address, status=s.status.value,
                rtt_ms=s.rtt_ms, jitter_ms=s.jitter_ms, loss=s.loss,
                score=measured_score(s), elected=t.address == elected, sent=s.sent, received=s.received,
                reachable=reachable, usable=s.status is not Status.DOWN and reachable is not False,
                address6=address6, status6=s6.status.value if s6 else None, rtt6_ms=s6.rtt_ms if s6 else None,
                jitter6_ms=s6.jitter_ms if s6 else None, loss6=s6.loss if s6 else None,
                sent6=s6.sent if s6 else 0, received6=s6.received if s6 else 0, serves6=t.address == serves6,
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

    def state(self) -> StateView:
        d = self.daemon.state
        if d is not None:
            carrier, path, up = d.carrier, d.path, d.wan
            active, rule, changes = d.failover, d.rule, d.changes
        else:
            # No daemon: what the sidecar itself can see; nothing is routed by anyone.
            carrier = self._carrier()
            check = self.pathchecks.get("ipv4")
            path = check.up is not False if check else True
            up, active, rule, changes = carrier and path, False, False, 0
        elected = self.elected_address()
        pinned = self.election.pinned is not None and self.election.pinned == elected and bool(
            self.decision and self.decision.pinned)
        return StateView(
            interface=self.cfg.wan.interface, carrier=carrier, path=path, wan_up=up,
            failover_active=active, failover_since=self.failover_since if active else None, rule=rule,
            elected=ElectedView(elected, self._names.get(elected or ""), pinned),
            changes=changes, daemon_connected=self.daemon.connected, daemon_message=self.daemon.message,
            # Without a daemon nobody routes IPv6 either: up as far as the sidecar knows, not failed over.
            wan6_up=d.wan6 if d else up, path6=d.path6 if d else True,
            failover6_active=d.failover6 if d else False, rule6=d.rule6 if d else False,
        )

    def _carrier(self) -> bool:
        try:
            return Path(f"/sys/class/net/{self.cfg.wan.interface}/carrier").read_text().strip() == "1"
        except OSError:
            return False  # no such device, or administratively down

    # -- pin -----------------------------------------------------------------------------

    async def pin(self, address: str) -> ElectedView:
        """Pin the gateway named by its address or its address6 (the election is one for both)."""
        address = self._by_address6.get(address, address)
        if address not in self._names:
            raise UnknownGateway(f"{address} is not a configured gateway")
        status = self.prober.snapshot(address).status
        if status is not Status.UP:
            raise GatewayDown(f"{self._names[address]} {address} is {status.value}: cannot pin it")
        if self._reachable(address) is False:
            raise GatewayDown(f"{self._names[address]} {address} does not answer up/down: cannot pin it")
        self.journal.pin(address)
        self.election.pin(address)
        self._emit(PinChanged(address=address, name=self._names[address], pinned=True))
        return self._elected_now(await self._elect())

    async def unpin(self) -> ElectedView:
        was = self.election.pinned
        self.journal.unpin()
        self.election.unpin()
        if was is not None:
            self._emit(PinChanged(address=was, name=self._names.get(was), pinned=False))
        return self._elected_now(await self._elect())

    def _elected_now(self, decision: Decision) -> ElectedView:
        # The daemon applies the election within one poll; answer with the decision itself.
        return ElectedView(decision.address, self.name_of(decision.address), decision.pinned)

    # -- election ------------------------------------------------------------------------

    def candidates(self) -> list[Candidate]:
        return [candidate(t.address, t.name, self.prober.snapshot(t.address),
                          reachable=self._reachable(t.address) is not False) for t in self.targets]

    def candidates6(self) -> list[Candidate6]:
        out = []
        for t in self.targets:
            address6 = self._address6.get(t.address)
            stats6 = self.prober.snapshot(address6) if address6 is not None else None
            out.append(candidate6(t.address, t.name, address6, stats6, reachable=self._reachable(t.address) is not False))
        return out

    async def _election_loop(self) -> None:
        while True:
            try:
                async with asyncio.timeout(ELECTION_TICK_S):
                    await self._elect_now.wait()
            except TimeoutError:
                pass
            self._elect_now.clear()
            await self._elect()

    async def _elect(self) -> Decision:
        now = time.monotonic_ns()
        self.journal.elect(now)
        decision = self.election.update(now, self.candidates())
        event = ElectionChanged.after(self.decision, decision)
        self.decision = decision
        if event is not None:
            self.election_changes += event.moved
            self._emit(event)
        # Decided before any await, from the heartbeats as they were at the election: what the
        # journal's `elect` record stands for, so `failover replay` decides the same.
        server6 = self._serve_ipv6(decision)
        if decision.address != self.daemon.elect_to:
            await self.daemon.elect(decision.address)
        if server6.address is not None and server6.address != self.daemon.serve6_to:
            await self.daemon.serve6(server6.address)
        self._publish_state()
        return decision

    def _serve_ipv6(self, decision: Decision) -> Server6:
        """The same election's IPv6 side: which gateway carries IPv6, logged when it changes; the
        caller tells the daemon (which tells that gateway up too while IPv6 is failed over)."""
        previous = self.server6
        server6 = serve_ipv6(decision.address, self.candidates6(), previous.address if previous else None)
        self.server6 = server6
        if (event := Ipv6ServerChanged.after(previous, server6)) is not None:
            self._emit(event)
        return server6

    # -- event sources -------------------------------------------------------------------

    def _gateway_changed(self, target: Target, change: StatusChange, stats: SessionStats) -> None:
        # An IPv6 heartbeat's verdict is logged under the gateway's address6.
        self.gateway_transitions += 1
        self._emit(GatewayStatusChanged(name=target.name, address=target.address, status=change.new.value,
                                        previous=change.old.value, reason=change.reason,
                                        rtt_ms=stats.rtt_ms, loss=stats.loss))
        if change.old is Status.DOWN and change.new is Status.UP and target.address in self._names:
            # Back after a loss: it may have restarted and forgotten what it was told.
            self._spawn(self.daemon.reassert(target.address))
        self._elect_now.set()

    def _path_checks(self, cfg: Config) -> dict[Family, PathCheck]:
        """One path check per family with targets of its own; a family without sends the daemon
        nothing, and the daemon makes it follow the other (docs/design.md)."""
        return {family: PathCheck(cfg, partial(self._path_verdict, family), partial(self._target_event, family),
                                  self.journal.tap(journal_name(family)), family=family)
                for family in cfg.wan.families}

    def _target_event(self, family: Family, event: TargetChange | TargetFault) -> None:
        if isinstance(event, TargetChange):
            c = event.change
            self._emit(TargetStatusChanged(address=event.target.address, target_kind=event.target.kind,
                                           status=c.new.value, previous=c.old.value, reason=c.reason, family=family))
        elif family in self.pathchecks:
            v = self.pathchecks[family].verdict
            self._emit(TargetFaulted(address=event.target.address, target_kind=event.target.kind, reason=event.reason,
                                     up=v.count_up(), targets=len(v.specs), reliability=v.reliability, family=family))

    def _path_verdict(self, family: Family, up: bool, reason: str) -> None:
        self._emit(PathVerdict(up=up, reason=reason, family=family))
        self._spawn(self.daemon.set_path6(up) if family == "ipv6" else self.daemon.set_path(up))

    def _spawn(self, request) -> None:
        # Called from the prober's tick: send without blocking it; keep a reference until done.
        task = asyncio.get_running_loop().create_task(request)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def _daemon_state(self, d: DaemonState | None) -> None:
        prev, self._daemon_prev = self._daemon_prev, d
        self.journal.daemon(d)
        if d is not None:
            if prev is None or (prev.carrier, prev.path, prev.wan) != (d.carrier, d.path, d.wan):
                if prev is not None or not d.wan:
                    self._emit(WanChanged(interface=self.cfg.wan.interface, carrier=d.carrier, path=d.path,
                                          up=d.wan))
            if prev is None or prev.failover != d.failover:
                if prev is not None or d.failover:
                    self._failover_changed(d)
            self._ipv6_changed(prev, d)
            self._reachability_changed(prev.unreachable if prev is not None else frozenset(), d.unreachable)
        self.flows.observe(d)
        self._publish_state()

    def _reachability_changed(self, before: frozenset[str], now: frozenset[str]) -> None:
        for address in sorted(before ^ now):
            self._emit(GatewayReachabilityChanged(name=self._names.get(address, "?"), address=address,
                                                  reachable=address not in now))
        if before != now:
            self._elect_now.set()

    def _failover_changed(self, d: DaemonState) -> None:
        self.failover_since = time.time() if d.failover else None
        self.failover_transitions += 1
        self._emit(FailoverChanged(active=d.failover, elected=d.elected, elected_name=self._names.get(d.elected or ""),
                                   carrier=d.carrier, path=d.path, rule=d.rule))

    def _ipv6_changed(self, prev: DaemonState | None, d: DaemonState) -> None:
        """IPv6's own WAN verdict (when IPv6 targets judge it: otherwise it follows IPv4's, which
        is reported already) and its own failover (when a gateway can serve IPv6)."""
        if "ipv6" in self.cfg.wan.families:
            if prev is None or (prev.carrier, prev.path6, prev.wan6) != (d.carrier, d.path6, d.wan6):
                if prev is not None or not d.wan6:
                    self._emit(WanChanged(interface=self.cfg.wan.interface, carrier=d.carrier, path=d.path6,
                                          up=d.wan6, family="ipv6"))
        if any(g.address6 for g in self.cfg.gateway) and (prev is None or prev.failover6 != d.failover6):
            if prev is not None or d.failover6:
                server = self.server6.address if self.server6 is not None else None
                self._emit(FailoverChanged(active=d.failover6, elected=server, elected_name=self._names.get(server or ""),
                                           carrier=d.carrier, path=d.path6, rule=d.rule6, family="ipv6"))

    def _flows_moved(self, r: Report) -> None:
        self._emit(FlowsMoved(transition=r.transition, text=r.message(), removed=r.count, method=r.method,
                              flows=tuple(str(f) for f in r.removed[:32]), error=r.error, family=f"ipv{r.family}"))

    def _publish_state(self) -> None:
        state = self.state()
        if state != self._state_prev:
            self._state_prev = state
            self._emit(StateChanged(state=state))

    def _emit(self, event: Event) -> None:
        """The one place events go out: the Python log, the history, the subscribers."""
        if not isinstance(event, StateChanged):
            log.info("%s", event.message)
            self._history.append(event)
        self._subscribers.publish(event)
