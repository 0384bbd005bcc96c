"""STAMP (RFC 8762) test packets: a pure codec, no I/O.

The sidecar is a Session-Sender and the agent a stateless Session-Reflector. The packets are
plain data (:class:`SenderPacket`, :class:`ReflectorPacket`); a :class:`StampCodec` turns them
into bytes and back in one mode: unauthenticated (no key) or authenticated (a shared key), so a
caller holds one codec and never branches on the mode.

Every field is laid out exactly as in RFC 8762 §4.2.1/§4.2.2 (sender) and §4.3.1/§4.3.2
(reflector); MBZ ("must be zero") octets are always sent as zeros so that TWAMP-Light decoders
(and tshark) read our packets, and they are ignored on receipt so that RFC 8972 extensions in
those octets do not break us. In authenticated mode both packets are 112 octets and the HMAC
field is HMAC-SHA-256 truncated to 128 bits (§4.4) over the first 96, every field from the
Sequence Number up to the MBZ right before the HMAC; octets past 112 (padding, for a larger test
packet) are not covered. The key is provisioned out of band (a key file here).

Timestamps are NTP 64-bit (32-bit seconds since 1900, 32-bit fraction); the
Error Estimate is the 16-bit field of RFC 4656 §4.1.2.
"""

from __future__ import annotations

import hmac
import struct
from dataclasses import dataclass

__all__ = [
    "AUTH_PACKET_SIZE",
    "HMAC_SIZE",
    "NTP_UNIX_OFFSET_S",
    "PACKET_SIZE",
    "UNAUTHENTICATED",
    "UNSYNCHRONIZED",
    "ErrorEstimate",
    "ReflectorPacket",
    "SenderPacket",
    "StampAuthError",
    "StampCodec",
    "StampError",
    "auth_hmac",
    "ntp_to_unix_ns",
    "unix_ns_to_ntp",
]

#: Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01).
NTP_UNIX_OFFSET_S = 2_208_988_800

#: Base size of both test packets in unauthenticated mode. The sender packet is
#: padded to the reflector's size on purpose (RFC 8762 §4.2.1, symmetric size).
PACKET_SIZE = 44
#: Size of both test packets in authenticated mode.
AUTH_PACKET_SIZE = 112
#: Octets covered by the HMAC in authenticated mode.
AUTH_COVERED = 96
#: HMAC-SHA-256 truncated to 128 bits.
HMAC_SIZE = 16

_NS_PER_S = 1_000_000_000
_U32 = 0xFFFF_FFFF
_U64 = 0xFFFF_FFFF_FFFF_FFFF

# Sender:    seq u32 | timestamp u64 | error estimate u16 | MBZ 30 octets
_SENDER = struct.Struct("!IQH30x")
# Reflector: seq u32 | timestamp u64 | error estimate u16 | MBZ 2 |
#            receive timestamp u64 | sender seq u32 | sender timestamp u64 |
#            sender error estimate u16 | MBZ 2 | sender TTL u8 | MBZ 3
_REFLECTOR = struct.Struct("!IQH2xQIQH2xB3x")
assert _SENDER.size == _REFLECTOR.size == PACKET_SIZE

# Authenticated mode: the same fields, wider apart, then the HMAC over the first 96 octets.
# Sender:    seq u32 | MBZ 12 | timestamp u64 | error estimate u16 | MBZ 70
_AUTH_SENDER = struct.Struct("!I12xQH70x")
# Reflector: seq u32 | MBZ 12 | timestamp u64 | error estimate u16 | MBZ 6 |
#            receive timestamp u64 | MBZ 8 | sender seq u32 | MBZ 12 |
#            sender timestamp u64 | sender error estimate u16 | MBZ 6 |
#            sender TTL u8 | MBZ 15
_AUTH_REFLECTOR = struct.Struct("!I12xQH6xQ8xI12xQH6xB15x")
assert _AUTH_SENDER.size == _AUTH_REFLECTOR.size == AUTH_COVERED


class StampError(ValueError):
    """A STAMP packet or field is truncated, malformed or out of range."""


# --------------------------------------------------------------------------
# Timestamps
# --------------------------------------------------------------------------

# NTP seconds are 32 bits, so they wrap in 2036 (era 1). RFC 4330 §3 resolves
# the era without a reference clock: seconds with the top bit set are
# 1968-2036 (era 0), seconds without it are 2036-2104 (era 1).
_ERA_PIVOT_S = 1 << 31
_MIN_UNIX_S = _ERA_PIVOT_S - NTP_UNIX_OFFSET_S  # 1968-01-20
_MAX_UNIX_S = (1 << 32) + _ERA_PIVOT_S - NTP_UNIX_OFFSET_S  # 2104-02-26 (exclusive)


def unix_ns_to_ntp(ns: int) -> int:
    """Convert Unix time in integer nanoseconds to a 64-bit NTP timestamp.

    The fraction is truncated (floored) to the 2**-32 s grid (~0.233 ns).
    Because that grid is finer than 1 ns, ``ntp_to_unix_ns(unix_ns_to_ntp(ns))
    == ns`` for every representable ``ns`` (the reverse direction loses the
    sub-nanosecond part). Times from 2036 on use NTP era 1 (seconds wrap).
    """
    seconds, ns_part = divmod(ns, _NS_PER_S)
    if not _MIN_UNIX_S <= seconds < _MAX_UNIX_S:
        raise StampError(f"time {ns} ns is outside the NTP range 1968-2104")
    ntp_seconds = (seconds + NTP_UNIX_OFFSET_S) & _U32
    fraction = (ns_part << 32) // _NS_PER_S
    return (ntp_seconds << 32) | fraction


def ntp_to_unix_ns(ntp: int) -> int:
    """Convert a 64-bit NTP timestamp to Unix time in integer nanoseconds.

    The fraction is rounded to the nearest nanosecond, which undoes the
    truncation of :func:`unix_ns_to_ntp` exactly. Any 64-bit value is
    accepted (the era follows RFC 4330 §3, see above).
    """
    if not 0 <= ntp <= _U64:
        raise StampError(f"NTP timestamp {ntp!r} is not a 64-bit unsigned value")
    ntp_seconds, fraction = ntp >> 32, ntp & _U32
    if ntp_seconds < _ERA_PIVOT_S:
        ntp_seconds += 1 << 32  # era 1 (2036-2104)
    # Rounded to the nearest ns, but never up into the next second: the last ~0.2 ns of a second
    # would otherwise carry, and at the end of era 1 carry out of the range 1968-2104 altogether.
    ns_part = min((fraction * _NS_PER_S + (1 << 31)) >> 32, _NS_PER_S - 1)
    return (ntp_seconds - NTP_UNIX_OFFSET_S) * _NS_PER_S + ns_part


# --------------------------------------------------------------------------
# Error Estimate (RFC 4656 §4.1.2; Z bit from RFC 8186 §2.3)
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ErrorEstimate:
    """``|S|Z| Scale (6) | Multiplier (8)|``: error = multiplier * 2**(scale - 32) s.

    ``synchronized`` (S) says the clock is synchronised to UTC by an external
    source; ``ptp_format`` (Z) is False for NTP timestamps, which is all we send.
    A zero multiplier is legal on the wire but means "ignore this timestamp"
    (RFC 4656), so :attr:`seconds` is None for it.
    """

    synchronized: bool = False
    ptp_format: bool = False
    scale: int = 32
    multiplier: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.scale <= 0x3F:
            raise StampError(f"error estimate scale {self.scale} is not 0..63")
        if not 0 <= self.multiplier <= 0xFF:
            raise StampError(f"error estimate multiplier {self.multiplier} is not 0..255")

    @property
    def seconds(self) -> float | None:
        """The estimated error in seconds, or None if the multiplier is zero."""
        if self.multiplier == 0:
            return None
        return self.multiplier * 2.0 ** (self.scale - 32)

    def encode(self) -> int:
        return (self.synchronized << 15) | (self.ptp_format << 14) | (self.scale << 8) | self.multiplier

    @classmethod
    def decode(cls, value: int) -> ErrorEstimate:
        if not 0 <= value <= 0xFFFF:
            raise StampError(f"error estimate {value!r} is not a 16-bit value")
        return cls(
            synchronized=bool(value & 0x8000),
            ptp_format=bool(value & 0x4000),
            scale=(value >> 8) & 0x3F,
            multiplier=value & 0xFF,
        )


#: Default for a clock with no external synchronisation: S=0, NTP format and
#: an honest 1 s (scale 32, multiplier 1), since such a clock's offset from UTC
#: is unknown. RTT does not care: it only uses differences on each clock.
UNSYNCHRONIZED = ErrorEstimate(synchronized=False, ptp_format=False, scale=32, multiplier=1)


# --------------------------------------------------------------------------
# Test packets
# --------------------------------------------------------------------------


def _check_u32(name: str, value: int) -> None:
    if not 0 <= value <= _U32:
        raise StampError(f"{name} {value!r} is not a 32-bit unsigned value")


def _check_u64(name: str, value: int) -> None:
    if not 0 <= value <= _U64:
        raise StampError(f"{name} {value!r} is not a 64-bit unsigned value")


@dataclass(frozen=True, slots=True)
class SenderPacket:
    """Session-Sender test packet (RFC 8762 §4.2)."""

    sequence: int
    timestamp: int  # NTP 64-bit
    error_estimate: ErrorEstimate = UNSYNCHRONIZED

    def __post_init__(self) -> None:
        _check_u32("sequence", self.sequence)
        _check_u64("timestamp", self.timestamp)


@dataclass(frozen=True, slots=True)
class ReflectorPacket:
    """Session-Reflector test packet (RFC 8762 §4.3).

    ``timestamp`` is T3 (sent), ``receive_timestamp`` T2 (received); the
    ``sender_*`` fields echo the Session-Sender's packet (T1 is
    ``sender_timestamp``) and ``sender_ttl`` is the TTL/Hop Limit it arrived with.
    """

    sequence: int
    timestamp: int
    error_estimate: ErrorEstimate
    receive_timestamp: int
    sender_sequence: int
    sender_timestamp: int
    sender_error_estimate: ErrorEstimate
    sender_ttl: int

    def __post_init__(self) -> None:
        _check_u32("sequence", self.sequence)
        _check_u64("timestamp", self.timestamp)
        _check_u64("receive timestamp", self.receive_timestamp)
        _check_u32("sender sequence", self.sender_sequence)
        _check_u64("sender timestamp", self.sender_timestamp)
        if not 0 <= self.sender_ttl <= 0xFF:
            raise StampError(f"sender TTL {self.sender_ttl!r} is not 0..255")


class StampAuthError(StampError):
    """An authenticated-mode packet whose HMAC does not verify (wrong key or tampered)."""


def auth_hmac(key: bytes, covered: bytes) -> bytes:
    """HMAC-SHA-256 of the 96 covered octets, truncated to 16 octets (RFC 8762 §4.4)."""
    if len(covered) != AUTH_COVERED:
        raise StampError(f"the HMAC covers {AUTH_COVERED} octets, got {len(covered)}")
    return hmac.new(key, covered, "sha256").digest()[:HMAC_SIZE]


@dataclass(frozen=True, slots=True)
class StampCodec:
    """STAMP test packets to bytes and back, in one mode: unauthenticated (``key`` None) or
    authenticated with ``key`` (every packet carries, and must verify with, its HMAC)."""

    key: bytes | None = None

    @property
    def packet_size(self) -> int:
        """The smallest test packet of the mode (both packets have it; larger ones are padded)."""
        return PACKET_SIZE if self.key is None else AUTH_PACKET_SIZE

    @property
    def _mode(self) -> str:
        return "" if self.key is None else "authenticated "

    def _layout(self) -> tuple[struct.Struct, struct.Struct]:
        return (_SENDER, _REFLECTOR) if self.key is None else (_AUTH_SENDER, _AUTH_REFLECTOR)

    def _seal(self, fields: bytes, size: int | None) -> bytes:
        """The packet of ``size`` octets: the fields, the HMAC (authenticated mode), zero padding."""
        size = self.packet_size if size is None else size
        if size < self.packet_size:
            raise StampError(f"packet size {size} is below the {self._mode}STAMP minimum of {self.packet_size}")
        if self.key is not None:
            fields += auth_hmac(self.key, fields)
        return fields + bytes(size - len(fields))

    def _open(self, kind: str, data: bytes) -> None:
        """Checks the length and (authenticated mode, §4.4: "as early as possible") the HMAC."""
        if len(data) < self.packet_size:
            raise StampError(f"truncated {self._mode}STAMP {kind} packet: {len(data)} bytes, "
                             f"need at least {self.packet_size}")
        if self.key is not None:
            expected = auth_hmac(self.key, bytes(data[:AUTH_COVERED]))
            if not hmac.compare_digest(expected, bytes(data[AUTH_COVERED:AUTH_PACKET_SIZE])):
                raise StampAuthError(f"authenticated STAMP {kind} packet: HMAC does not verify")

    def encode_sender(self, packet: SenderPacket, size: int | None = None) -> bytes:
        """Serialize; ``size`` above the mode's packet size appends zero padding."""
        return self._seal(self._layout()[0].pack(packet.sequence, packet.timestamp, packet.error_estimate.encode()),
                          size)

    def decode_sender(self, data: bytes) -> SenderPacket:
        """Parse; MBZ octets and anything past the mode's packet size are ignored."""
        self._open("sender", data)
        sequence, timestamp, error = self._layout()[0].unpack_from(data)
        return SenderPacket(sequence, timestamp, ErrorEstimate.decode(error))

    def encode_reflector(self, packet: ReflectorPacket, size: int | None = None) -> bytes:
        """Serialize; ``size`` above the mode's packet size appends zero padding."""
        return self._seal(self._layout()[1].pack(
            packet.sequence,
            packet.timestamp,
            packet.error_estimate.encode(),
            packet.receive_timestamp,
            packet.sender_sequence,
            packet.sender_timestamp,
            packet.sender_error_estimate.encode(),
            packet.sender_ttl,
        ), size)

    def decode_reflector(self, data: bytes) -> ReflectorPacket:
        """Parse; MBZ octets and anything past the mode's packet size are ignored."""
        self._open("reflector", data)
        (seq, ts, err, rx_ts, s_seq, s_ts, s_err, ttl) = self._layout()[1].unpack_from(data)
        return ReflectorPacket(
            sequence=seq,
            timestamp=ts,
            error_estimate=ErrorEstimate.decode(err),
            receive_timestamp=rx_ts,
            sender_sequence=s_seq,
            sender_timestamp=s_ts,
            sender_error_estimate=ErrorEstimate.decode(s_err),
            sender_ttl=ttl,
        )

    def reflect(
        self,
        request: bytes,
        *,
        sequence: int | None = None,
        t2_ntp: int,
        t3_ntp: int,
        ttl: int,
        error_estimate: ErrorEstimate = UNSYNCHRONIZED,
    ) -> bytes:
        """Build a stateless Session-Reflector's reply to ``request``.

        The reply has the request's length (RFC 8762 §4.3: symmetric size), the
        extra octets zeroed. ``sequence=None`` copies the sender's sequence number,
        which is what a stateless reflector does (§4.3.1); a stateful reflector
        passes its own counter. ``t2_ntp`` is when the request arrived, ``t3_ntp``
        when the reply leaves, ``ttl`` the request's received IP TTL/Hop Limit.
        Raises :class:`StampError` for a request that is not a sender packet of the
        mode (:class:`StampAuthError` for one whose HMAC does not verify).
        """
        sent = self.decode_sender(request)
        reply = ReflectorPacket(
            sequence=sent.sequence if sequence is None else sequence,
            timestamp=t3_ntp,
            error_estimate=error_estimate,
            receive_timestamp=t2_ntp,
            sender_sequence=sent.sequence,
            sender_timestamp=sent.timestamp,
            sender_error_estimate=sent.error_estimate,
            sender_ttl=ttl,
        )
        return self.encode_reflector(reply, len(request))


#: The codec of the default mode.
UNAUTHENTICATED = StampCodec()
