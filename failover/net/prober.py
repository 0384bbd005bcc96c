"""The heartbeat prober: STAMP Session-Sender for many candidates, one UDP socket.

The asyncio shell around :class:`failover.core.heartbeat.HeartbeatSession` (the pure core): every
``interval_ms`` it evaluates each session's verdict, then sends each candidate one STAMP test
packet, all from one socket; replies are fed back to the sessions as they arrive.

Timestamps. RTT = (T4 - T1) - (T3 - T2) is only as good as T4, so replies are read with
``recvmsg`` and T4 is the kernel's software receive timestamp (``SO_TIMESTAMPNS``, taken when the
packet reached the network stack), not the time Python got round to reading it: an event-loop
stall then delays the verdict but does not inflate the RTT. asyncio's datagram endpoints (and
asyncio-dgram, built on them) give no ancillary data, so the socket is a plain non-blocking one
served by ``loop.add_reader``, which drains every queued datagram per wake-up (cheaper than one
task per packet). T1 is read right before ``sendto``. Both are CLOCK_REALTIME, the clock STAMP's
NTP timestamps carry and the session needs (it checks the echoed T1 against its own).

Both families. A target whose address is IPv6 (a gateway's ``address6``) is probed over UDP/IPv6
from a second socket, opened only when such a target exists; each target, of either family, has
its own session (keyed by its canonical address text, which is what ``recvmsg`` gives back).

``SO_BINDTODEVICE`` (``device=``) pins the probes to one interface whatever the policy-routing
rules say; the WAN path check (:mod:`failover.net.pathcheck`) relies on it. The kernel keeps the
device's ifindex, not its name: when a device of that name is created again, :meth:`Prober.rebind`
binds the socket to the new one (same socket, so the probes in flight keep their sequence numbers).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import struct
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from ..config import Config
from ..core.journal import ProbeTap
from ..tasks import cancel_and_wait
from ..core.heartbeat import HeartbeatConfig, HeartbeatSession, SessionStats, StatusChange
from ..core.stamp import SenderPacket, StampCodec, StampError, ntp_to_unix_ns, unix_ns_to_ntp

__all__ = [
    "Datagram",
    "Prober",
    "ProberCounters",
    "Target",
    "gateway_heartbeat_config",
    "open_udp",
    "receive_datagrams",
]

log = logging.getLogger("failover.prober")

# Not exported by Python's socket module (values from <asm-generic/socket.h>, <linux/in.h>).
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
IP_RECVTTL = getattr(socket, "IP_RECVTTL", 12)
IPV6_RECVHOPLIMIT = getattr(socket, "IPV6_RECVHOPLIMIT", 51)
IPV6_HOPLIMIT = getattr(socket, "IPV6_HOPLIMIT", 52)
_TIMESPEC = struct.Struct("@qq")  # struct timespec on 64-bit Linux
_CMSG_SPACE = socket.CMSG_SPACE(_TIMESPEC.size) + socket.CMSG_SPACE(4)
_MAX_DATAGRAM = 65535
#: Datagrams read per wake-up before yielding to the loop, so a flood cannot starve timers.
_BATCH = 256


# --------------------------------------------------------------------------
# UDP with kernel receive timestamps (shared with the agent's reflector)
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Datagram:
    data: bytes
    address: tuple[str, int]
    #: Kernel receive time, CLOCK_REALTIME ns (read from the clock if the kernel gave none).
    received_ns: int
    #: IP TTL it arrived with, or None if not asked for.
    ttl: int | None


RCVBUF = 4 << 20


def open_udp(address: str = "0.0.0.0", port: int = 0, *, device: str | None = None, ttl: bool = False) -> socket.socket:
    """A non-blocking UDP socket with kernel receive timestamps (and the TTL, or IPv6 hop limit,
    if asked); IPv6 when ``address`` is an IPv6 address (IPv6 only: it never takes IPv4 traffic)."""
    v6 = ":" in address
    sock = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        # Replies from hundreds of candidates arrive in one burst per interval: room for them.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        if v6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        if ttl:
            if v6:
                sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1)
            else:
                sock.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
        if device is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
        sock.setblocking(False)
        sock.bind((address, port))
    except BaseException:
        sock.close()
        raise
    return sock


def receive_datagrams(sock: socket.socket, limit: int = _BATCH) -> Iterator[Datagram]:
    """Everything queued on ``sock`` (at most ``limit``), without blocking."""
    for _ in range(limit):
        try:
            data, ancdata, _flags, address = sock.recvmsg(_MAX_DATAGRAM, _CMSG_SPACE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            # ICMP errors queued on the socket surface here; they are not datagrams.
            log.debug("recvmsg: %s", e)
            continue
        received_ns = None
        ttl = None
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(payload) >= _TIMESPEC.size:
                sec, nsec = _TIMESPEC.unpack_from(payload)
                received_ns = sec * 1_000_000_000 + nsec
            elif ((level == socket.IPPROTO_IP and kind == socket.IP_TTL)
                  or (level == socket.IPPROTO_IPV6 and kind == IPV6_HOPLIMIT)) and len(payload) >= 4:
                ttl = int.from_bytes(payload[:4], "little") & 0xFF
        yield Datagram(data, address, received_ns if received_ns is not None else time.time_ns(), ttl)


# --------------------------------------------------------------------------
# The prober
# --------------------------------------------------------------------------


def gateway_heartbeat_config(cfg: Config) -> HeartbeatConfig:
    """A gateway's heartbeat knobs: the ``[heartbeat]`` config."""
    hb = cfg.heartbeat
    return HeartbeatConfig(interval_ms=hb.interval_ms, detect_multiplier=hb.detect_multiplier,
                           recover_count=hb.recover_count)


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    address: str
    port: int = 862

    def __post_init__(self) -> None:
        # Replies are matched by the source address recvmsg reports: canonical text only.
        canonical = str(ipaddress.ip_address(self.address))
        if canonical != self.address:
            raise ValueError(f"prober: target address {self.address!r} is not canonical ({canonical!r})")

    @property
    def family(self) -> int:
        return socket.AF_INET6 if ":" in self.address else socket.AF_INET


@dataclass(slots=True)
class ProberCounters:
    #: Datagrams that are not a STAMP reply to one of our probes (undecodable or unknown source).
    garbage: int = 0
    #: ``sendto`` failures (no route, buffer full...): the probe counts as lost, as it should.
    send_errors: int = 0
    #: Ticks that came more than an interval late because the event loop was busy.
    stalls: int = 0


#: ``on_change(target, change, stats)``: a session's verdict moved.
ChangeHandler = Callable[[Target, StatusChange, SessionStats], None]
#: ``on_tick(now_ns)``: called every interval before the verdicts, to feed the sessions evidence.
TickHandler = Callable[[int], None]


class Prober:
    """Sends STAMP probes to ``targets`` every ``config.interval_ms`` from one socket."""

    def __init__(
        self,
        targets: Iterable[Target],
        config: HeartbeatConfig,
        *,
        device: str | None = None,
        on_change: ChangeHandler | None = None,
        on_tick: TickHandler | None = None,
        stamp_key: bytes | None = None,
        tap: ProbeTap | None = None,
    ) -> None:
        """``stamp_key``: probe in STAMP authenticated mode (RFC 8762 §4.2.2, 112-octet packets
        with an HMAC-SHA-256 made with this key); replies must then verify with it too."""
        self.targets = tuple(targets)
        if len({t.address for t in self.targets}) != len(self.targets):
            raise ValueError("prober: target addresses must be distinct")
        self.config = config
        self.device = device
        self.on_change = on_change
        self.on_tick = on_tick
        self.codec = StampCodec(stamp_key)
        self.tap = tap or ProbeTap()  # the decision journal's view of the sessions' inputs
        self.sessions = {t.address: HeartbeatSession(config) for t in self.targets}
        self.counters = ProberCounters()
        #: One socket per family probed (IPv4 always; IPv6 once a target is IPv6).
        self._socks: dict[int, socket.socket] = {}
        self._task: asyncio.Task | None = None

    def snapshot(self, address: str) -> SessionStats:
        return self.sessions[address].snapshot()

    def retarget(self, targets: Iterable[Target]) -> None:
        """Probe ``targets`` from the next tick on (a config reload): a target already probed
        keeps its session (its verdict, sequence and history), a new one starts unknown."""
        targets = tuple(targets)
        if len({t.address for t in targets}) != len(targets):
            raise ValueError("prober: target addresses must be distinct")
        self.sessions = {t.address: self.sessions.get(t.address) or HeartbeatSession(self.config) for t in targets}
        self.targets = targets
        if self._task is not None:
            self._open_sockets()

    def set_config(self, config: HeartbeatConfig) -> None:
        """New thresholds (detect multiplier, recover count) for every session, kept running.
        Only knobs read at each verdict may change: not the interval or the windows."""
        self.config = config
        for session in self.sessions.values():
            session.config = config

    async def start(self) -> None:
        self._open_sockets()
        self._task = asyncio.create_task(self._run(), name="prober")

    def _open_sockets(self) -> None:
        """The IPv4 socket, and the IPv6 one once a target needs it (kept after: cheap)."""
        loop = asyncio.get_running_loop()
        wanted = {socket.AF_INET} | {t.family for t in self.targets}
        for family in sorted(wanted - self._socks.keys()):
            sock = open_udp("::" if family == socket.AF_INET6 else "0.0.0.0", device=self.device)
            self._socks[family] = sock
            loop.add_reader(sock.fileno(), self._readable, sock)

    def rebind(self) -> None:
        """Bind the sockets to whatever device now has the name ``device`` (SO_BINDTODEVICE)."""
        if self.device is not None:
            for sock in self._socks.values():
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, self.device.encode())

    async def close(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        loop = asyncio.get_running_loop()
        for sock in self._socks.values():
            loop.remove_reader(sock.fileno())
            sock.close()
        self._socks = {}

    # -- sending and verdicts ------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        interval_s = self.config.interval_ms / 1000
        next_tick = loop.time()
        while True:
            if loop.time() - next_tick > interval_s:
                # Our own loop was late: count it, and do not try to catch up with a burst. The
                # sessions judge silence by the probes actually sent, so the stall delays a
                # verdict by at most the probes it did not send, and never suppresses one.
                self.counters.stalls += 1
                next_tick = loop.time()
            # Replies the kernel queued meanwhile first, with their receive timestamps, so the
            # verdict is on what reached the host, not on when this loop got round to it.
            for sock in tuple(self._socks.values()):
                self._readable(sock)
            now_ns = time.time_ns()
            if self.on_tick is not None:
                self.on_tick(now_ns)
            self._evaluate(now_ns)
            self._send_all()
            next_tick += interval_s
            await asyncio.sleep(max(0.0, next_tick - loop.time()))

    def _evaluate(self, now_ns: int) -> None:
        self.tap.tick(now_ns)
        for target in self.targets:
            session = self.sessions[target.address]
            change = session.on_timer(now_ns)
            if change is not None and self.on_change is not None:
                self.on_change(target, change, session.snapshot())

    def _send_all(self) -> None:
        for target in self.targets:
            sock = self._socks[target.family]
            session = self.sessions[target.address]
            t1 = time.time_ns()
            seq = session.on_send(t1)
            self.tap.send(target.address, seq, t1)
            sent = SenderPacket(seq, unix_ns_to_ntp(t1))
            packet = self.codec.encode_sender(sent)
            try:
                sock.sendto(packet, (target.address, target.port))
            except OSError as e:
                self.counters.send_errors += 1
                log.debug("probe to %s: %s", target.address, e)

    # -- receiving -----------------------------------------------------------------------

    def _readable(self, sock: socket.socket) -> None:
        for dgram in receive_datagrams(sock):
            self.feed(dgram)

    def feed(self, dgram: Datagram) -> None:
        """Account one received datagram (a reply, or garbage to count and ignore)."""
        session = self.sessions.get(dgram.address[0])
        if session is None:
            self.counters.garbage += 1
            return
        try:
            reply = self.codec.decode_reflector(dgram.data)
            t1 = ntp_to_unix_ns(reply.sender_timestamp)
            t2 = ntp_to_unix_ns(reply.receive_timestamp)
            t3 = ntp_to_unix_ns(reply.timestamp)
        except StampError:
            self.counters.garbage += 1
            return
        # Duplicates and strays are counted by the session itself (``ignored``).
        self.tap.reply(dgram.address[0], dgram.received_ns, reply.sender_sequence, t1, t2, t3)
        session.on_reply(dgram.received_ns, reply.sender_sequence, t1, t2, t3)
