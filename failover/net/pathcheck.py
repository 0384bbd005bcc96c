"""The primary WAN's path check: probes to the ``[[wan.target]]`` targets, forced out of the WAN
interface, and the path verdict their quorum gives.

The shell around :class:`failover.core.quorum.PathVerdict` (the pure core: the targets' sessions,
their schedule, the quorum, target faults, confirmation bursts). STAMP targets (RFC 8762
reflectors) are probed from one UDP socket, ICMP targets (echo) from one ICMP socket
(:mod:`failover.net.icmpsock`); both read replies with the kernel's receive timestamp. Every wake:
the replies queued meanwhile, the WAN's receive counter, the verdicts, then the probes that are
due (each target at its own interval, plus a confirmation burst when one went down); then sleep
until the core's next deadline.

Both sockets are bound to the WAN device (``SO_BINDTODEVICE``), so while the failover rule sends
everything else through an alternate gateway the probes still leave through the WAN: the verdict
keeps telling the truth and failback happens when the WAN path really works again. (A bound
socket's route lookup only accepts routes through that device, so table T's default via the LAN is
skipped and main's default via the ISP is used.) Under strict reverse-path filtering
(``rp_filter=1``) on the WAN the replies would be dropped while the rule is in place; use loose
mode (2) or off there.

Silence or delay (:mod:`failover.core.silence`). Every wake the WAN device is read by name over
rtnetlink (:mod:`failover.net.linkcounters`): when its unicast receive counter of this path
check's family moved, the WAN is still receiving that family (return traffic of the flows through
it, late replies), and every target's session is told (per family: IPv4 flows still coming in
must not hide an IPv6-only blackout, nor the reverse). A path whose replies are late while
traffic still comes in is slow, not down; one with neither replies nor traffic for the detect
time is a blackout, as fast as before.

The WAN device comes and goes (PPPoE reconnects, modems re-enumerate): the same read tells when a
device of that name exists again with another ifindex, and the sockets are bound to it; while no
such device exists the probes fail, the path goes down, and the daemon sees the carrier lost anyway.

Each family its own verdict. IPv4 targets judge the IPv4 path and IPv6 targets the IPv6 path: the
sidecar runs one :class:`PathCheck` per family that has targets, each with its own pure core
(sessions, quorum, bursts), its own sockets (UDP/IPv6 for STAMP, ICMPv6 for echo, bound to the
same WAN device) and its own verdict, so an ISP whose IPv6 breaks while IPv4 works moves IPv6 only.
``wan.reliability`` applies to each family on its own (docs/design.md).

Timing. Each target keeps the operator's detect and recovery times (``[heartbeat]``
``interval_ms × detect_multiplier``, ``interval_ms × recover_count``) at its own interval
(:mod:`failover.core.targets`): a STAMP target at 5 ms is down after 12 silent probes, an ICMP
target at 100 ms after 3.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..config import Config, Family, stamp_key
from ..core.journal import ProbeTap
from ..tasks import cancel_and_wait
from ..core.burst import BurstConfig
from ..core.heartbeat import HeartbeatConfig, SessionStats
from ..core.icmp import EchoError, EchoReply, parse, parse6
from ..core.quorum import PathChange, PathVerdict, TargetChange, TargetFault
from ..core.silence import ReceiveActivity
from ..core.stamp import SenderPacket, StampCodec, StampError, ntp_to_unix_ns, unix_ns_to_ntp
from ..core.targets import PathTiming, TargetSpec, target_heartbeat_config
from .icmpsock import IcmpSocket, open_icmp
from .linkcounters import LinkReader
from .prober import open_udp, receive_datagrams

__all__ = ["PathCheck", "PathCounters", "describe", "journal_name", "path_heartbeat_config", "path_verdict"]

log = logging.getLogger("failover.pathcheck")

RETRY_S = 1.0

#: ``on_verdict(up, reason)``.
VerdictHandler = Callable[[bool, str], None]
#: ``on_target(event)``: a target's verdict moved, or it went down as a fault.
TargetHandler = Callable[[TargetChange | TargetFault], None]


def path_timing(cfg: Config) -> PathTiming:
    hb = cfg.heartbeat
    return PathTiming(hb.interval_ms, hb.detect_multiplier, hb.recover_count)


def target_specs(cfg: Config, family: Family = "ipv4") -> list[TargetSpec]:
    return [TargetSpec(t.address, t.kind, t.interval_ms or 0) for t in cfg.wan.targets_of(family)]


def journal_name(family: Family) -> str:
    """The prober's name in the decision journal (``p``): ``path`` for IPv4 (as before IPv6
    targets existed), ``path6`` for IPv6."""
    return "path6" if family == "ipv6" else "path"


def describe(family: Family, interface: str) -> str:
    """How a family's path verdict names itself in its reasons."""
    return f"{'IPv6 ' if family == 'ipv6' else ''}path check via {interface}"


def path_heartbeat_config(cfg: Config) -> HeartbeatConfig:
    """The heartbeat knobs of a STAMP target probed every ``wan.probe_interval_ms`` (what
    ``wan.probe`` means, set or not)."""
    return target_heartbeat_config(TargetSpec("0.0.0.0", "stamp", cfg.wan.probe_interval_ms), path_timing(cfg))


def path_verdict(cfg: Config, burst: BurstConfig | None = BurstConfig(), family: Family = "ipv4") -> PathVerdict:
    """The pure path verdict for ``cfg``'s targets of ``family`` and its reliability."""
    return PathVerdict(target_specs(cfg, family), path_timing(cfg), cfg.wan.quorum_of(family), burst)


@dataclass(slots=True)
class PathCounters:
    #: Datagrams on the STAMP socket that are not a reply from a target (undecodable, strangers).
    garbage: int = 0
    #: ``sendto`` failures (no route, buffer full...): the probe counts as lost, as it should.
    send_errors: int = 0
    #: Wakes more than 20 ms late because the event loop was busy.
    stalls: int = 0


class PathCheck:
    """Probes the ``family`` targets of ``cfg.wan`` through ``cfg.wan.interface``; reports that
    family's path verdicts."""

    def __init__(self, cfg: Config, on_verdict: VerdictHandler, on_target: TargetHandler | None = None,
                 tap: ProbeTap | None = None, burst: BurstConfig | None = BurstConfig(),
                 family: Family = "ipv4") -> None:
        """``tap``: the decision journal's view of the verdict's inputs (failover replay)."""
        if not cfg.wan.targets_of(family):
            raise ValueError(f"path check: no {family} target in wan.probe or [[wan.target]]")
        self.family = family
        self.v6 = family == "ipv6"
        self.interface = cfg.wan.interface
        self.port = cfg.heartbeat.port
        self.codec = StampCodec(stamp_key(cfg))
        self.verdict = path_verdict(cfg, burst, family)
        self.kinds = {s.address: s.kind for s in self.verdict.specs}
        self.on_verdict = on_verdict
        self.on_target = on_target
        self.tap = tap or ProbeTap()
        self.counters = PathCounters()
        self.link = LinkReader(self.interface)
        self.activity = ReceiveActivity()
        #: The ifindex the probe sockets are bound to, None while the device is gone.
        self.bound_ifindex: int | None = None
        self._udp: socket.socket | None = None
        self._icmp: IcmpSocket | None = None
        self._task: asyncio.Task | None = None

    @property
    def up(self) -> bool | None:
        """The path's verdict, None until the first."""
        return self.verdict.up

    @property
    def reason(self) -> str:
        return self.verdict.reason

    @property
    def stats(self) -> SessionStats:
        """The first target's session (with ``wan.probe``, the only one)."""
        return self.verdict.session(self.verdict.specs[0].address).snapshot()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._start(), name=f"pathcheck {self.family}")

    async def _start(self) -> None:
        # The WAN device may not exist yet (or be renamed): keep trying, the daemon sees its
        # carrier as down meanwhile, so nothing waits on this verdict.
        while True:
            try:
                self._open()
                break
            except OSError as e:
                self._close_sockets()
                log.warning("%s path check: cannot probe through %s: %s (retrying)", self.family, self.interface,
                            e.strerror or e)
                await asyncio.sleep(RETRY_S)
        log.info("%s path check: probing %s through %s (reliability %d)", self.family, ", ".join(
            f"{s.kind} {s.address} every {s.interval_ms} ms" for s in self.verdict.specs),
            self.interface, self.verdict.reliability)
        await self._run()

    def _open(self) -> None:
        """Sockets bound to the WAN device by name; ``bound_ifindex`` the device they got."""
        loop = asyncio.get_running_loop()
        link = self.link.read()
        self.bound_ifindex = link.ifindex if link is not None else None
        if "stamp" in self.kinds.values():
            self._udp = open_udp("::" if self.v6 else "0.0.0.0", device=self.interface)
            loop.add_reader(self._udp.fileno(), self._read_udp)
        if "icmp" in self.kinds.values():
            self._icmp = open_icmp(self.interface, v6=self.v6)
            loop.add_reader(self._icmp.sock.fileno(), self._read_icmp)

    def _close_sockets(self) -> None:
        loop = asyncio.get_running_loop()
        for sock in (self._udp, self._icmp.sock if self._icmp else None):
            if sock is not None:
                loop.remove_reader(sock.fileno())
                sock.close()
        self._udp = self._icmp = None

    async def close(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        self._close_sockets()
        self.link.close()

    # -- the loop ------------------------------------------------------------------------------

    async def _run(self) -> None:
        verdict = self.verdict
        late_ns = 20_000_000
        wake = time.time_ns()
        while True:
            # Replies the kernel queued meanwhile first, with their receive timestamps, so the
            # verdict is on what reached the host, not on when this loop got round to it.
            self._read_udp()
            self._read_icmp()
            now = time.time_ns()
            if now - wake > late_ns:
                self.counters.stalls += 1
            self._tick(now)
            self.tap.tick(now)
            for event in verdict.on_timer(now):
                self._event(event)
            for address in verdict.probes_due(now):
                self._send(address)
            wake = verdict.next_wake_ns(time.time_ns())
            await asyncio.sleep(max(0, wake - time.time_ns()) / 1e9)

    def _event(self, event: PathChange | TargetChange | TargetFault) -> None:
        if isinstance(event, PathChange):
            self.on_verdict(event.up, f"{describe(self.family, self.interface)}: {event.reason}")
        elif self.on_target is not None:
            self.on_target(event)

    def _send(self, address: str) -> None:
        t1 = time.time_ns()
        seq = self.verdict.on_send(address, t1)
        self.tap.send(address, seq, t1)
        try:
            if self._udp is None and self._icmp is None:
                raise OSError(f"no socket bound to {self.interface}")
            if self.kinds[address] == "stamp":
                assert self._udp is not None
                self._udp.sendto(self.codec.encode_sender(SenderPacket(seq, unix_ns_to_ntp(t1))), (address, self.port))
            else:
                assert self._icmp is not None
                self._icmp.sock.sendto(self._icmp.echo_request(seq, t1), (address, 0))
        except OSError as e:
            self.counters.send_errors += 1
            log.debug("probe to %s: %s", address, e)

    def _tick(self, now_ns: int) -> None:
        """Read the WAN by name: follow a re-created device, and feed its receive traffic."""
        try:
            link = self.link.read()
        except OSError as e:
            log.warning("%s path check: cannot read %s over rtnetlink: %s", self.family, self.interface, e)
            return
        if link is None:
            if self.bound_ifindex is not None:
                log.info("%s path check: %s is gone (was ifindex %d)", self.family, self.interface, self.bound_ifindex)
            self.bound_ifindex = None
            self.activity.forget()
            return
        if link.ifindex != self.bound_ifindex:
            # Fresh sockets, not SO_BINDTODEVICE again: re-binding a bound socket needs
            # CAP_NET_RAW, binding a new one does not (the ping-socket fallback runs without it).
            self._close_sockets()
            try:
                self._open()
            except OSError as e:  # gone again between the read and the bind: the next tick retries
                self._close_sockets()
                self.bound_ifindex = None
                log.warning("%s path check: cannot bind to %s: %s", self.family, self.interface, e)
                return
            log.info("%s path check: probing through %s, ifindex %s", self.family, self.interface, self.bound_ifindex)
            if self.bound_ifindex != link.ifindex:
                return  # re-created again meanwhile: the next tick follows it
        # This family's own receive traffic: the other family's flows say nothing of this path.
        if self.activity.observe(now_ns, link.ifindex, link.rx_unicast_of(self.family)):
            self.tap.traffic(now_ns)
            self.verdict.on_traffic(now_ns)

    # -- replies -------------------------------------------------------------------------------

    def _read_udp(self) -> None:
        if self._udp is None:
            return
        for dgram in receive_datagrams(self._udp):
            address = dgram.address[0]
            if self.kinds.get(address) != "stamp":
                self.counters.garbage += 1
                continue
            try:
                reply = self.codec.decode_reflector(dgram.data)
                t1 = ntp_to_unix_ns(reply.sender_timestamp)
                t2 = ntp_to_unix_ns(reply.receive_timestamp)
                t3 = ntp_to_unix_ns(reply.timestamp)
            except StampError:  # undecodable, or (keyed) an HMAC that does not verify
                self.counters.garbage += 1
                continue
            # Duplicates and strays are counted by the session itself (``ignored``).
            self.tap.reply(address, dgram.received_ns, reply.sender_sequence, t1, t2, t3)
            self.verdict.on_reply(address, dgram.received_ns, reply.sender_sequence, t1, t2, t3)

    def _read_icmp(self) -> None:
        icmp = self._icmp
        if icmp is None:
            return
        for dgram in receive_datagrams(icmp.sock):
            if icmp.v6:
                got = parse6(dgram.data, icmp.identifier, dgram.address[0])
            else:
                got = parse(dgram.data, icmp.identifier, ip_header=icmp.ip_header)
            if isinstance(got, EchoReply):
                address = got.source or dgram.address[0]
                # A reply without our payload intact cannot be told from an older incarnation of
                # its 16-bit sequence number: ignored, like a STAMP reply with the wrong T1.
                if self.kinds.get(address) == "icmp" and got.full_sequence is not None and got.t1_ns is not None:
                    self.tap.reply(address, dgram.received_ns, got.full_sequence, got.t1_ns, 0, 0)
                    self.verdict.on_reply(address, dgram.received_ns, got.full_sequence, got.t1_ns)
            elif isinstance(got, EchoError) and self.kinds.get(got.target) == "icmp":
                self.verdict.on_error(got.target, got.reason)
            # Anything else on a raw ICMP socket is other traffic: not ours to count.
