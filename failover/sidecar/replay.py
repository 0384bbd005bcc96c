"""``failover replay``: a decision journal fed through the same pure cores again.

The journal (failover/core/journal.py) holds what the measuring core fed its cores; here they get
it again, in the same order and with the same timestamps: the heartbeat sessions
(:class:`failover.core.heartbeat.HeartbeatSession`, with the silence-or-delay check inside),
the path check's session, the election, and the daemon's failover decision with its dampening,
which is Lua (``kernel/failover/decision.lua``, ``dampening.lua``) and runs here in a Lua 5.5 state
as the daemon runs it. What comes out is every decision with its time and reason, as the core's
events say it (failover/core/events.py): gateway verdicts, path verdicts, elections and pins,
WAN verdicts and failover on/off.

With the recording config (the journal's header) the sidecar's decisions come out as the live
core made them, to the nanosecond and the word. The daemon's (WAN verdict, failover on/off) come
at the instant its inputs allowed them: the live daemon acts on the same inputs within one turn of
its loop (at most 10 ms) and reads the link itself. With another config (``--config``) they answer
"what if": thresholds, dampening, election margins and the gateway list may differ; the probe
rates and the path check's target may not (the journal holds the probes that were sent).

Elections run where the live core ran them (``elect`` records: every 50 ms and after each event).

Both families: the IPv4 path check's records are prober ``path``, the IPv6 one's ``path6``; each
feeds its own quorum, and the daemon's decision runs once per family as the daemon runs it (a
family without targets of its own follows the other's verdict; IPv6 fails over only while a
gateway with an ``address6`` can serve it). A gateway's IPv6 heartbeat is recorded under ``gw``
too, by its ``address6``: it feeds a session of its own, and after each election ``serve_ipv6``
picks the gateway serving IPv6 from those sessions, as the core does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import lupa.lua55 as lua55

from ..config import FAMILIES, Config, Family
from ..scripts.conflua import to_lua
from ..core.election import Decision, Election, Server6, candidate, candidate6, serve_ipv6
from ..core.events import (
    ElectionChanged,
    FailoverChanged,
    GatewayStatusChanged,
    Ipv6ServerChanged,
    LogEvent,
    PathVerdict,
    PinChanged,
    TargetFaulted,
    TargetStatusChanged,
    WanChanged,
)
from ..core.heartbeat import HeartbeatSession, StatusChange
from ..core.journal import (
    Elect,
    End,
    Link,
    Pin,
    Reach,
    Record,
    Reload,
    Reply,
    Resume,
    Send,
    Tick,
    Traffic,
    Unpin,
)
from ..core.quorum import PathChange, PathVerdict as PathQuorum, TargetChange
from ..net.pathcheck import describe, journal_name, path_timing, path_verdict
from ..net.prober import gateway_heartbeat_config
from ..package_data import kernel_root

__all__ = ["Replay", "ReplayError", "format_event", "replay_config"]

_MS = 1_000_000

#: What a replay config may not change: the journal holds the probes sent at these rates, there.
RECORDED = ("heartbeat.interval_ms", "wan.probe", "wan.probe_interval_ms", "wan.target", "wan.interface")


class ReplayError(ValueError):
    """A replay config that cannot apply to the journal."""


def _get(cfg: Config, dotted: str) -> Any:
    section, name = dotted.split(".")
    return getattr(getattr(cfg, section), name)


def replay_config(recorded: Config, other: Config | None) -> Config:
    """The config to replay with: the recording one, or ``other`` if it keeps what was recorded."""
    if other is None:
        return recorded
    fixed = [f"{f} (recorded {_get(recorded, f)}, here {_get(other, f)})"
             for f in RECORDED if _get(recorded, f) != _get(other, f)]
    if fixed:
        raise ReplayError("the journal's probes were sent with these settings; a replay cannot change them: "
                          + "; ".join(fixed))
    return other


@dataclass(frozen=True)
class Summary:
    records: int
    skipped: int
    sequence_mismatches: int
    end: End | None


class _WanDecision:
    """One family's kernel/failover/decision.lua object, fed as the daemon feeds it."""

    def __init__(self, d: Any) -> None:
        self.d = d

    @property
    def failover(self) -> bool:
        return bool(self.d.failover)

    @failover.setter
    def failover(self, on: bool) -> None:
        self.d.failover = on

    def link(self, admin: bool, carrier: bool) -> None:
        self.d.link(self.d, admin, carrier)

    def set_path(self, up: bool) -> bool:
        return bool(self.d.set_path(self.d, up))

    def wanted(self, now_ms: int) -> bool:
        return bool(self.d.wanted(self.d, now_ms))

    def failback(self, now_ms: int) -> tuple[bool, int | None]:
        ok, wait = self.d.failback(self.d, now_ms)
        return bool(ok), None if wait is None else int(wait)

    def inputs(self) -> tuple[bool, bool, bool]:
        """admin, carrier, path."""
        return bool(self.d.admin), bool(self.d.carrier), bool(self.d.path)

    def view(self) -> tuple[bool, bool, bool]:
        """carrier, path, up: the daemon's ``state`` fields."""
        return bool(self.d.carrier), bool(self.d.path), bool(self.d.up(self.d))


def _wan_decisions(cfg: Config) -> dict[Family, _WanDecision]:
    """The daemon's two decisions (kernel/failover/daemon.lua) in one Lua 5.5 state: each family
    judged by its own targets, and one without targets following the other."""
    lua = lua55.LuaRuntime(unpack_returned_tuples=True)
    lua.globals().package.path = f"{kernel_root()}/?.lua"
    # The daemon's own conf.lua (the gateways' key is not needed to decide).
    conf = lua.execute(to_lua(_keyless(cfg)))
    new = lua.eval('(require("failover.decision"))').new
    judged = {f: f in cfg.wan.families for f in FAMILIES}
    wan, wan6 = new(conf, judged["ipv4"]), new(conf, judged["ipv6"])
    if not judged["ipv6"]:
        wan6.follows = wan
    elif not judged["ipv4"]:
        wan.follows = wan6
    return {"ipv4": _WanDecision(wan), "ipv6": _WanDecision(wan6)}


class Replay:
    """Feed it the records of one journal (:meth:`feed`, then :meth:`finish`); ``events`` holds
    the decisions."""

    def __init__(self, cfg: Config, recording: bool = True) -> None:
        self.recording = recording
        self.events: list[LogEvent] = []
        self.notes: list[str] = []
        self.records = self.skipped = self.mismatches = 0
        self.end: End | None = None
        self.unreachable: frozenset[str] = frozenset()
        self.decision: Decision | None = None
        self.server6: Server6 | None = None
        #: Every heartbeat session by its target: each gateway's IPv4 address, then each address6
        #: (its IPv6 heartbeat, a session of its own), in the prober's order.
        self.gw: dict[str, HeartbeatSession] = {}
        #: Each family's path quorum by its journal name (``path``, ``path6``).
        self.paths: dict[str, tuple[Family, PathQuorum]] = {}
        self.cfg = cfg
        self._configure(cfg, None)
        self.wans = _wan_decisions(cfg)
        self.elected = cfg.gateway[0].address     # the daemon's, until the sidecar elects
        self._view = {f: w.view() for f, w in self.wans.items()}
        self._failback_at: int | None = None      # ms: when dampening may next allow failback

    # -- config ----------------------------------------------------------------------------

    def _configure(self, cfg: Config, old: Config | None) -> None:
        """The core's sessions and election for ``cfg``, as the core starts or reloads
        (failover/sidecar/core.py: kept sessions go on, thresholds change in place)."""
        hb = gateway_heartbeat_config(cfg)
        # The prober's targets (failover/sidecar/core.py): IPv4 addresses first, then the address6es;
        # both are recorded under the ``gw`` tap, told apart by address.
        targets = [g.address for g in cfg.gateway] + [g.address6 for g in cfg.gateway if g.address6 is not None]
        self.gw = {a: self.gw.get(a) or HeartbeatSession(hb) for a in targets}
        for session in self.gw.values():
            session.config = hb
        self.names = {g.address: g.name for g in cfg.gateway}
        self.names.update({g.address6: g.name for g in cfg.gateway if g.address6 is not None})
        if old is None:
            self.election = Election(cfg.election.switch_margin, cfg.election.hold_ms, cfg.election.switch_min_ms)
        else:
            self.election.switch_margin, self.election.hold_ms = cfg.election.switch_margin, cfg.election.hold_ms
            self.election.switch_min_ms = cfg.election.switch_min_ms
            if self.election.pinned is not None and self.election.pinned not in self.names:
                self.election.unpin()
        if old is None or (cfg.wan, path_timing(cfg)) != (old.wan, path_timing(old)):
            # As the core does on a reload: new path checks with their own targets' sessions.
            self.paths = {journal_name(f): (f, path_verdict(cfg, family=f)) for f in cfg.wan.families}

    # -- records ---------------------------------------------------------------------------

    def feed(self, record: Record) -> None:
        if self.end is not None:
            raise ReplayError(f"a {record.kind!r} record after the journal's end")
        self.records += 1
        self._due(record.t)
        handler = getattr(self, f"_on_{record.kind}")
        handler(record)

    def finish(self) -> Summary:
        return Summary(self.records, self.skipped, self.mismatches, self.end)

    def _path(self, prober: str, address: str | None = None) -> PathQuorum | None:
        """The quorum a path prober's record goes to (None: not in this config)."""
        family_path = self.paths.get(prober)
        if family_path is None or (address is not None and address not in family_path[1]):
            return None
        return family_path[1]

    def _on_send(self, r: Send) -> None:
        if r.p != "gw":
            path = self._path(r.p, r.a)
            if path is None:
                self.skipped += 1
            elif path.on_send(r.a, r.t) != r.s:
                self.mismatches += 1
            return
        session = self.gw.get(r.a)
        if session is None:
            self.skipped += 1  # a gateway the replay config does not have
            return
        if session.on_send(r.t) != r.s:
            self.mismatches += 1

    def _on_reply(self, r: Reply) -> None:
        if r.p != "gw":
            path = self._path(r.p, r.a)
            if path is None:
                self.skipped += 1
            else:
                path.on_reply(r.a, r.t, r.s, r.t1, r.t2, r.t3)
            return
        session = self.gw.get(r.a)
        if session is None:
            self.skipped += 1
            return
        session.on_reply(r.t, r.s, r.t1, r.t2, r.t3)

    def _on_traffic(self, r: Traffic) -> None:
        if r.p != "gw":
            if (path := self._path(r.p)) is not None:
                path.on_traffic(r.t)
            return
        for session in self.gw.values():
            session.on_traffic(r.t)

    def _on_tick(self, r: Tick) -> None:
        if r.p != "gw":
            if r.p in self.paths:
                family, path = self.paths[r.p]
                for event in path.on_timer(r.t):
                    self._path_event(family, path, event, r.t)
            return
        for address, session in list(self.gw.items()):
            change = session.on_timer(r.t)
            if change is not None:
                self._gateway(address, session, change, r.t)

    def _gateway(self, address: str, session: HeartbeatSession, change: StatusChange, t: int) -> None:
        stats = session.snapshot()
        self._emit(GatewayStatusChanged(name=self.names[address], address=address, status=change.new.value,
                                        previous=change.old.value, reason=change.reason, rtt_ms=stats.rtt_ms,
                                        loss=stats.loss, ts=t / 1e9))

    def _path_event(self, family: Family, path: PathQuorum, event, t: int) -> None:
        """As the core turns a family's path check events into its own (failover/sidecar/core.py)."""
        ts = t / 1e9
        if isinstance(event, PathChange):
            reason = f"{describe(family, self.cfg.wan.interface)}: {event.reason}"
            self._emit(PathVerdict(up=event.up, reason=reason, family=family, ts=ts))
            if self.wans[family].set_path(event.up):
                self._react(t)
        elif isinstance(event, TargetChange):
            c = event.change
            self._emit(TargetStatusChanged(address=event.target.address, target_kind=event.target.kind,
                                           status=c.new.value, previous=c.old.value, reason=c.reason,
                                           family=family, ts=ts))
        else:
            self._emit(TargetFaulted(address=event.target.address, target_kind=event.target.kind,
                                     reason=event.reason, up=path.count_up(), targets=len(path.specs),
                                     reliability=path.reliability, family=family, ts=ts))

    def _on_link(self, r: Link) -> None:
        for wan in self.wans.values():
            wan.link(r.admin, r.carrier)
        self._react(r.t)

    def _on_elect(self, r: Elect) -> None:
        # As the core's candidates (failover/sidecar/core.py): configuration order, the daemon's
        # reachability as last reported.
        candidates = [candidate(g.address, g.name, self.gw[g.address].snapshot(),
                                reachable=g.address not in self.unreachable) for g in self.cfg.gateway]
        decision = self.election.update(r.m, candidates)
        event = ElectionChanged.after(self.decision, decision, ts=r.t / 1e9)
        self.decision = decision
        if event is not None:
            self._emit(event)
        self.elected = decision.address
        self._serve_ipv6(decision, r.t)

    def _serve_ipv6(self, decision: Decision, t: int) -> None:
        """The same election's IPv6 side, as the core's ``_serve_ipv6``: which gateway carries IPv6
        by the IPv6 heartbeats, logged when it changes."""
        candidates6 = [candidate6(g.address, g.name, g.address6,
                                  self.gw[g.address6].snapshot() if g.address6 is not None else None,
                                  reachable=g.address not in self.unreachable) for g in self.cfg.gateway]
        previous = self.server6
        server6 = serve_ipv6(decision.address, candidates6, previous.address if previous else None)
        self.server6 = server6
        if (event := Ipv6ServerChanged.after(previous, server6, ts=t / 1e9)) is not None:
            self._emit(event)

    def _on_pin(self, r: Pin) -> None:
        self.election.pin(r.a)
        self._emit(PinChanged(address=r.a, name=self.names.get(r.a), pinned=True, ts=r.t / 1e9))

    def _on_unpin(self, r: Unpin) -> None:
        was = self.election.pinned
        self.election.unpin()
        if was is not None:
            self._emit(PinChanged(address=was, name=self.names.get(was), pinned=False, ts=r.t / 1e9))

    def _on_reach(self, r: Reach) -> None:
        self.unreachable = frozenset(r.unreachable)

    def _on_resume(self, r: Resume) -> None:
        # The daemon found the rule in place at its start (failed over before): it carries on so.
        if r.failover and not self.wans["ipv4"].failover:
            self._transition("ipv4", True, r.t)
            self._schedule(r.t // _MS)

    def _on_reload(self, r: Reload) -> None:
        if not self.recording:
            self.notes.append(f"{_clock(r.t)} a reload was recorded here; the replay config stays")
            return
        try:
            new = recorded_config(r.config)
        except ValueError as e:
            raise ReplayError(f"the reload at {_clock(r.t)} carries a config that does not load: {e}") from None
        old, self.cfg = self.cfg, new
        self._configure(new, old)
        if to_lua(_keyless(new)) != to_lua(_keyless(old)):
            # The scripts restart with the new conf.lua: a fresh daemon, which finds the rule in
            # place if failed over, reads the link, and hears the sidecar's path verdict again.
            wans, self.wans = self.wans, _wan_decisions(new)
            for family, wan in wans.items():
                admin, carrier, path = wan.inputs()
                self.wans[family].link(admin, carrier)
                self.wans[family].set_path(path)
                self.wans[family].failover = wan.failover
            self._react(r.t)

    def _on_end(self, r: End) -> None:
        self.end = r

    # -- the daemon's side -----------------------------------------------------------------

    def _react(self, t: int) -> None:
        """The daemon after an event: each family's WAN verdict, then its failover as wanted now.
        The core reports IPv6's own WAN verdict only when IPv6 targets judge it, and IPv6's
        failover only when a gateway has an ``address6`` (failover/sidecar/core.py)."""
        now = t // _MS
        for family, wan in self.wans.items():
            want = wan.wanted(now)
            if family == "ipv6":
                want = want and self._server6() is not None  # as the daemon: only to a gateway that serves it
            view = wan.view()
            if view != self._view[family]:
                self._view[family] = view
                carrier, path, up = view
                if family == "ipv4" or "ipv6" in self.cfg.wan.families:
                    self._emit(WanChanged(interface=self.cfg.wan.interface, carrier=carrier, path=path, up=up,
                                          family=family, ts=t / 1e9))
            if want != wan.failover:
                self._transition(family, want, t)
        self._schedule(now)

    def _server6(self) -> str | None:
        """The gateway serving IPv6 as the daemon's own fallback picks it: the elected one if it
        has an ``address6``, else the first reachable one that has. Whether IPv6 may fail over at
        all; the sidecar's choice (``serve6``, :meth:`_serve_ipv6`) names the gateway once made."""
        with6 = [g.address for g in self.cfg.gateway if g.address6]
        if self.elected in with6:
            return self.elected
        return next((a for a in with6 if a not in self.unreachable), None)

    def _transition(self, family: Family, on: bool, t: int) -> None:
        wan = self.wans[family]
        wan.failover = on
        carrier, path, _up = wan.view()
        if family == "ipv4":
            elected = self.elected
        else:  # as the core names it: the sidecar's choice, once it made one
            elected = self.server6.address if self.server6 is not None else self._server6()
        if family == "ipv6" and not any(g.address6 for g in self.cfg.gateway):
            return
        self._emit(FailoverChanged(active=on, elected=elected, elected_name=self.names.get(elected or ""),
                                   carrier=carrier, path=path, rule=on, family=family, ts=t / 1e9))

    def _schedule(self, now_ms: int) -> None:
        """When to ask dampening again whether the daemon may fail back. The daemon asks every
        turn of its loop (at most 10 ms apart); here every millisecond of journal time (its
        clock's unit) once failed over on a WAN that is up, so the answer comes at the first
        instant dampening allows. (Its own wait is exact for the clean time but only a polling
        hint while suppressed.)"""
        waiting = any(wan.failback(now_ms)[1] is not None for wan in self.wans.values())
        self._failback_at = now_ms + 1 if waiting else None

    def _due(self, t: int) -> None:
        while self._failback_at is not None and self._failback_at * _MS <= t:
            at, self._failback_at = self._failback_at, None
            self._react(at * _MS)

    def _emit(self, event: LogEvent) -> None:
        self.events.append(event)


def _keyless(cfg: Config) -> Config:
    """``cfg`` without the gateways' key file: deciding needs no key, and a replay runs where the
    router's key file may not be."""
    return cfg.model_copy(update={"control": cfg.control.model_copy(update={"key_file": None})})


def _clock(t_ns: int) -> str:
    return datetime.fromtimestamp(t_ns / 1e9, timezone.utc).strftime("%H:%M:%S.%f")[:-3]


def format_event(event: LogEvent) -> str:
    """One decision as ``failover replay`` prints it: UTC time (µs), kind, the event's message."""
    ts = datetime.fromtimestamp(event.ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return f"{ts} {event.kind:<8} {event.message}"


def recorded_config(d: dict[str, Any]) -> Config:
    """A config as a journal recorded it. One recorded before ``election.switch_min_ms`` existed
    ran without that floor, so it replays without it."""
    cfg = Config.model_validate(d)
    if "switch_min_ms" not in d.get("election", {}):
        cfg = cfg.model_copy(update={"election": cfg.election.model_copy(update={"switch_min_ms": 0.0})})
    return cfg


def run(header_config: dict[str, Any], records: Iterable[Record], other: Config | None = None) -> Replay:
    """Replay ``records`` with the recording config (``header_config``) or ``other``."""
    try:
        recorded = recorded_config(header_config)
    except ValueError as e:
        raise ReplayError(f"the journal's header carries a config that does not load: {e}") from None
    replay = Replay(replay_config(recorded, other), recording=other is None)
    for record in records:
        replay.feed(record)
    return replay
