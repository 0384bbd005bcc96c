"""``failover agent``: the alternate gateway's side.

A TCP listener takes exactly one line, ``up`` or ``down``, from the router's daemon and answers
``ok`` or ``err <reason>``. By default ``up`` turns IPv4 forwarding on in the agent's own
network namespace and ``down`` turns it off (IPv6 forwarding too when the agent listens on an
IPv6 address); ``--on-up``/``--on-down`` run commands instead. ``--listen`` may be given twice,
an IPv4 and an IPv6 address: the listener and the reflector serve both, the same way.

A stateless STAMP Session-Reflector (RFC 8762 §4.3) on UDP ``--stamp-port`` answers the
router's heartbeats: T2 is the kernel's receive timestamp, T3 is read right before the reply is
sent, the request's IP TTL is copied in, the reply has the request's size. Anything that is not
a STAMP test packet is counted and ignored. ``lab_delay_ms`` (lab only) holds each request that
long before it counts as received, to emulate a distant gateway: the held time is path time, as
distance would be, so it shows up in the RTT (T2 is then read when the hold ends).

Lease (optional, ``lease_s`` / ``failover agent --lease S``): an ``up`` then holds for S seconds
only. The router's daemon tells every gateway its state again every ``control.refresh_ms``
(10 s by default), which renews it; when S seconds pass without an ``up`` the agent applies
``down`` by itself, so a gateway stops forwarding (and billing) soon after the router that
elected it died or lost it. Every ``up`` is applied again, refreshes too (``--on-up`` commands
must be idempotent): a box whose state was changed behind the agent's back is put right.
Without a lease an ``up`` holds until a ``down``, as the wire contract has it.

Security (all optional; without them the agent is exactly the contract's plain ``up``/``down``):

- ``allow``: the router addresses (or prefixes) that may command; any other peer gets
  ``err not allowed`` and nothing changes.
- ``key``: a shared key (``failover agent --key-file``, the same file as the router's
  ``control.key_file``). Only ``<up|down> <unix ms> <nonce> <hmac>`` is then accepted: ``nonce``
  32 hex digits, ``hmac`` the HMAC-SHA256 (64 hex digits) over ``"<cmd> <unix ms> <nonce>"``,
  checked with a constant-time compare, the time within ``replay_window_s`` of ours and the nonce
  not seen within that window (see :class:`ControlAuth`). A plain ``up``/``down`` gets
  ``err authentication required``.
- ``stamp_key``: the reflector runs in STAMP authenticated mode (RFC 8762 §4.3.2) only.

Counters (STAMP reflected/malformed/auth failures, control accepted/rejected by reason) are
logged when the agent stops and, with ``stats_file``, written there as JSON twice a second.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
import shlex
import signal
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .core.gatewayline import LineRefused, parse_plain, parse_signed
from .core.stamp import StampAuthError, StampCodec, StampError, unix_ns_to_ntp
from .tasks import cancel_and_wait
from .net.prober import Datagram, open_udp, receive_datagrams

log = logging.getLogger("failover.agent")

FORWARDING = Path("/proc/sys/net/ipv4/ip_forward")
FORWARDING6 = Path("/proc/sys/net/ipv6/conf/all/forwarding")
#: Longest request line (a signed one is 116 octets); a longer one gets "err line too long".
LINE_LIMIT = 256
READ_TIMEOUT_S = 2.0
ACTION_TIMEOUT_S = 10.0
REPLAY_WINDOW_S = 30.0
#: Nonces remembered at most (only authentic commands get in, so only a flood of them fills it).
NONCE_CACHE_MAX = 65536
STATS_PERIOD_S = 0.5


@dataclass(frozen=True)
class AgentConfig:
    #: The address to listen on (IPv4 or IPv6), and any others (``also_listen``): TCP and STAMP on each.
    listen: str
    port: int = 7070
    stamp_port: int = 862
    on_up: str | None = None
    on_down: str | None = None
    #: Lab only: hold every STAMP reply this long (emulates distance).
    lab_delay_ms: float = 0.0
    #: Peers (addresses or prefixes) allowed to command; empty: anyone.
    allow: tuple[str, ...] = ()
    #: Shared key for signed up/down lines; None: plain up/down (the contract's default).
    key: bytes | None = None
    replay_window_s: float = REPLAY_WINDOW_S
    #: Key for STAMP authenticated mode; None: unauthenticated mode.
    stamp_key: bytes | None = None
    #: Where to write the counters as JSON (periodically and at exit); None: log them at exit only.
    stats_file: str | None = None
    #: An "up" lapses (the agent applies "down") this long after the last one; 0: never.
    lease_s: float = 0.0
    also_listen: tuple[str, ...] = ()

    @property
    def addresses(self) -> tuple[str, ...]:
        return (self.listen, *self.also_listen)

    @property
    def ipv6(self) -> bool:
        """Serves IPv6 (listens on an IPv6 address): forwards IPv6 too when told up."""
        return any(":" in a for a in self.addresses)


def parse_allow(entries: tuple[str, ...] | list[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """``--allow`` values (addresses or prefixes), or ValueError naming the bad one."""
    nets = []
    for entry in entries:
        try:
            nets.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"--allow: not an IP address or prefix: {entry!r}") from None
    return tuple(nets)


def peer_allowed(peer, nets) -> bool:
    """Is the TCP peer (``getpeername()``) inside one of ``nets``? Empty ``nets``: yes."""
    if not nets:
        return True
    try:
        addr = ipaddress.ip_address(peer[0])
    except (TypeError, ValueError, IndexError):
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return any(addr.version == n.version and addr in n for n in nets)


class ControlAuth:
    """Checks signed ``<up|down> <unix ms> <nonce> <hmac>`` lines (pure: the clock is injected).

    Order matters: the HMAC is checked first, so without the key nothing reaches the clock or
    the nonce cache; then the time window (±``window_s``); then the nonce, remembered until its
    line's timestamp has left the window (after that the time check refuses the line anyway), so
    the cache holds at most what authentic commands put in it within one window.
    """

    def __init__(self, key: bytes, window_s: float = REPLAY_WINDOW_S, *, clock=None,
                 max_nonces: int = NONCE_CACHE_MAX) -> None:
        if not window_s > 0:
            raise ValueError(f"replay window must be > 0 s, got {window_s}")
        self.key = key
        self.window_ms = int(window_s * 1000)
        self.clock = clock or (lambda: time.time_ns() // 1_000_000)
        self.max_nonces = max_nonces
        self._nonces: dict[bytes, int] = {}  # nonce -> unix ms after which it cannot be replayed

    def check(self, line: bytes) -> str:
        signed = parse_signed(line, self.key)
        now = self.clock()
        if abs(now - signed.unix_ms) > self.window_ms:
            raise LineRefused("stale", "timestamp outside the replay window")
        expiry = self._nonces.get(signed.nonce)
        if expiry is not None and expiry >= now:
            raise LineRefused("replayed", "replayed nonce")
        if len(self._nonces) >= self.max_nonces:
            self._nonces = {n: e for n, e in self._nonces.items() if e >= now}
            if len(self._nonces) >= self.max_nonces:
                raise LineRefused("busy", "too many commands within the replay window")
        self._nonces[signed.nonce] = signed.unix_ms + self.window_ms
        return signed.command


class StampReflector:
    """Stateless STAMP Session-Reflector on one UDP socket."""

    def __init__(self, address: str, port: int = 862, lab_delay_ms: float = 0.0,
                 key: bytes | None = None) -> None:
        """``key``: authenticated mode (RFC 8762 §4.3.2) only; unauthenticated packets are garbage."""
        if lab_delay_ms < 0:
            raise ValueError(f"lab delay must be >= 0 ms, got {lab_delay_ms}")
        self.address, self.port = address, port
        self.delay_s = lab_delay_ms / 1000
        self.delay_ns = round(lab_delay_ms * 1_000_000)
        self.codec = StampCodec(key)
        self.reflected = 0
        #: Datagrams that are not a (valid, for the mode) STAMP test packet, auth failures included.
        self.garbage = 0
        #: Of those, authenticated-mode packets whose HMAC did not verify.
        self.auth_failures = 0
        self.send_errors = 0
        self._sock = None

    @property
    def bound(self) -> tuple[str, int]:
        """(address, port); an IPv6 socket's name also carries flow info and scope id."""
        assert self._sock is not None
        return self._sock.getsockname()[:2]

    def start(self) -> None:
        self._sock = open_udp(self.address, self.port, ttl=True)
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._sock.fileno(), self._readable)
        log.info("STAMP reflector on %s:%d%s%s", *self.bound,
                 " (authenticated mode)" if self.codec.key is not None else "",
                 f" (lab delay {self.delay_s * 1000:g} ms)" if self.delay_s else "")

    def close(self) -> None:
        if self._sock is not None:
            self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None

    def _readable(self) -> None:
        assert self._sock is not None
        for dgram in receive_datagrams(self._sock):
            if self.delay_s:
                # The emulated distance runs from the kernel's arrival time, not from whenever this
                # loop got to the datagram: a busy reflector must not look farther away.
                wait_ns = dgram.received_ns + self.delay_ns - time.time_ns()
                self._loop.call_later(max(wait_ns, 0) / 1e9, self._reply, dgram, True)
            else:
                self._reply(dgram)

    def _reply(self, dgram: Datagram, held: bool = False) -> None:
        if self._sock is None:
            return  # closed while a delayed reply was pending
        try:
            # A held request "arrives" when the emulated distance has been covered: its kernel
            # arrival plus the delay. How much later this loop runs is the reflector's own
            # turnaround, carried in T3 - T2, which the sender subtracts (RFC 8762's RTT).
            arrived = min(dgram.received_ns + self.delay_ns, time.time_ns()) if held else dgram.received_ns
            t2 = unix_ns_to_ntp(arrived)
            # T3 as late as Python allows: right before the send, after all the work.
            ttl = dgram.ttl if dgram.ttl is not None else 0
            reply = self.codec.reflect(dgram.data, t2_ntp=t2, t3_ntp=unix_ns_to_ntp(time.time_ns()), ttl=ttl)
        except StampError as e:
            self.garbage += 1
            if isinstance(e, StampAuthError):
                self.auth_failures += 1
            if self.garbage & (self.garbage - 1) == 0:  # 1st, 2nd, 4th...: visible, never a flood
                log.info("ignored non-STAMP datagram #%d from %s: %s", self.garbage, dgram.address, e)
            return
        try:
            self._sock.sendto(reply, dgram.address)
            self.reflected += 1
        except OSError as e:
            self.send_errors += 1
            log.debug("STAMP reply to %s: %s", dgram.address, e)

    def stats(self) -> dict[str, int]:
        return {"reflected": self.reflected, "malformed": self.garbage,
                "auth_failures": self.auth_failures, "send_errors": self.send_errors}


class Lease:
    """When an ``up`` lapses (pure: monotonic seconds in, verdicts out)."""

    def __init__(self, seconds: float) -> None:
        if not (seconds >= 0 and seconds < float("inf")):
            raise ValueError(f"lease must be >= 0 s, got {seconds}")
        self.seconds = seconds
        #: Monotonic time at which the current "up" lapses; None: nothing to lapse.
        self.deadline: float | None = None

    def told(self, command: str, now: float) -> None:
        self.deadline = now + self.seconds if command == "up" and self.seconds else None

    def lapsed(self, now: float) -> bool:
        return self.deadline is not None and now >= self.deadline

    def end(self) -> None:
        self.deadline = None


class Agent:
    def __init__(self, cfg: AgentConfig) -> None:
        self.cfg = cfg
        self.state: str | None = None
        self.lease = Lease(cfg.lease_s)
        self._lease_timer: asyncio.TimerHandle | None = None
        self._lapsing: asyncio.Task | None = None
        self._lock = asyncio.Lock()
        self.allow = parse_allow(cfg.allow)
        self.auth = ControlAuth(cfg.key, cfg.replay_window_s) if cfg.key is not None else None
        #: accepted, rejected, and per refusal reason (not_allowed, unauthenticated, bad_mac, ...).
        self.control = Counter()
        self.reflector: StampReflector | None = None   # the first (--listen's) of
        self.reflectors: list[StampReflector] = []       # one per address

    def stats(self) -> dict:
        return {
            "stamp": self.stamp_stats(),
            "control": dict(self.control),
            "state": self.state,
        }

    def stamp_stats(self) -> dict[str, int]:
        """The reflectors' counters, summed over every address (zeros kept: every key is there)."""
        total: dict[str, int] = {}
        for r in self.reflectors:
            for key, value in r.stats().items():
                total[key] = total.get(key, 0) + value
        return total

    def write_stats(self) -> None:
        if self.cfg.stats_file is None:
            return
        tmp = f"{self.cfg.stats_file}.tmp"
        try:
            with open(tmp, "w") as f:
                json.dump(self.stats(), f)
            os.replace(tmp, self.cfg.stats_file)
        except OSError as e:
            log.warning("stats file %s: %s", self.cfg.stats_file, e)

    def parse(self, line: bytes, peer) -> str:
        """The command in ``line`` from ``peer``, or ValueError with the reason to send back."""
        if not peer_allowed(peer, self.allow):
            self.control["not_allowed"] += 1
            raise ValueError("not allowed")
        if self.auth is None:
            return parse_plain(line)
        try:
            return self.auth.check(line)
        except LineRefused as e:
            self.control[e.kind] += 1
            raise

    async def apply(self, command: str) -> None:
        hook = self.cfg.on_up if command == "up" else self.cfg.on_down
        if hook is None:
            FORWARDING.write_text("1\n" if command == "up" else "0\n")
            if self.cfg.ipv6:
                FORWARDING6.write_text("1\n" if command == "up" else "0\n")
        else:
            proc = await asyncio.create_subprocess_exec(*shlex.split(hook))
            try:
                async with asyncio.timeout(ACTION_TIMEOUT_S):
                    rc = await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()
                raise RuntimeError(f"--on-{command} timed out") from None
            if rc != 0:
                raise RuntimeError(f"--on-{command} exited {rc}")
        self.state = command

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        try:
            try:
                async with asyncio.timeout(READ_TIMEOUT_S):
                    line = await reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as e:
                line = e.partial  # a last line without newline, then EOF
            except asyncio.LimitOverrunError:
                raise ValueError("line too long") from None
            except TimeoutError:
                raise ValueError("timeout") from None
            command = self.parse(line, peer)
            async with self._lock:  # commands apply in arrival order
                await self.apply(command)
                self._renew(command)
            log.info("%s from %s: done", command, peer)
            self.control["accepted"] += 1
            writer.write(b"ok\n")
        except (ValueError, RuntimeError, OSError) as e:
            self.control["rejected"] += 1
            log.info("rejected request from %s: %s", peer, e)
            writer.write(f"err {e}\n".encode())
        finally:
            try:
                async with asyncio.timeout(READ_TIMEOUT_S):
                    await writer.drain()
            except (OSError, TimeoutError):
                pass
            writer.close()

    def _renew(self, command: str) -> None:
        loop = asyncio.get_running_loop()
        self.lease.told(command, loop.time())
        if self._lease_timer is not None:
            self._lease_timer.cancel()
            self._lease_timer = None
        if self.lease.deadline is not None:
            self._lease_timer = loop.call_at(self.lease.deadline, self._lease_due)

    def _lease_due(self) -> None:
        self._lease_timer = None
        self._lapsing = asyncio.get_running_loop().create_task(self._lapse())

    async def _lapse(self) -> None:
        async with self._lock:
            # An "up" that arrived while this task waited for the lock renewed the lease.
            if not self.lease.lapsed(asyncio.get_running_loop().time()):
                return
            self.lease.end()
            self.control["lapsed"] += 1
            log.warning("lease lapsed: no 'up' for %g s, applying down", self.lease.seconds)
            try:
                await self.apply("down")
            except (RuntimeError, OSError) as e:
                log.error("lease lapsed but down failed: %s", e)

    async def serve(self) -> None:
        """Serve until cancelled or SIGTERM/SIGINT (when run in the main thread)."""
        reflectors = [StampReflector(a, self.cfg.stamp_port, self.cfg.lab_delay_ms, key=self.cfg.stamp_key)
                      for a in self.cfg.addresses]
        self.reflector, self.reflectors = reflectors[0], reflectors
        try:
            for reflector in reflectors:
                reflector.start()
        except BaseException:
            for reflector in reflectors:
                reflector.close()
            raise
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        signals = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, task.cancel)
                signals.append(sig)
            except (ValueError, RuntimeError, NotImplementedError):
                pass  # not the main thread (tests): the caller cancels
        stats = asyncio.create_task(self._stats_loop()) if self.cfg.stats_file else None
        try:
            await self._serve_control()
        except asyncio.CancelledError:
            pass
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)
            if self._lease_timer is not None:
                self._lease_timer.cancel()
            await cancel_and_wait(self._lapsing, stats)
            for reflector in reflectors:
                reflector.close()
            self.write_stats()
            s = self.stats()
            log.info("agent stopped: stamp %s; control %s",
                     " ".join(f"{k}={v}" for k, v in s["stamp"].items()),
                     " ".join(f"{k}={v}" for k, v in sorted(s["control"].items())) or "none")

    async def _stats_loop(self) -> None:
        while True:
            self.write_stats()
            await asyncio.sleep(STATS_PERIOD_S)

    async def _serve_control(self) -> None:
        server = await asyncio.start_server(
            self.handle, list(self.cfg.addresses), self.cfg.port, limit=LINE_LIMIT, reuse_address=True
        )
        log.info("agent listening on %s port %d%s%s%s", " and ".join(self.cfg.addresses), self.cfg.port,
                 f" (allow {', '.join(map(str, self.allow))})" if self.allow else "",
                 " (signed commands only)" if self.auth is not None else "",
                 f" (an up lapses after {self.cfg.lease_s:g} s)" if self.cfg.lease_s else "")
        async with server:
            await server.serve_forever()
