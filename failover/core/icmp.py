"""ICMP echo (RFC 792) for the path check's ``icmp`` targets: requests, and what comes back.

Pure: bytes in, typed values out. A raw ICMP socket (what a router running as root can open in any
network namespace; new namespaces forbid unprivileged ping sockets) receives every ICMP message the
host gets, each with its IPv4 header: the replies to our probes, but also other programs' pings,
echo requests sent to us, errors about anyone's packets. :func:`parse` therefore keeps only

* an **echo reply** carrying our identifier, and
* an **error** (destination unreachable, time exceeded) that quotes one of our echo requests —
  RFC 792 quotes the original IPv4 header and its first 8 octets, which hold the echo's type,
  identifier and sequence number;

and returns None for everything else. A reply is matched to its probe by identifier and sequence
number; the payload carries the full 32-bit sequence and the send time (T1, ns) so that a reply to
another incarnation of a 16-bit sequence number is told apart, as STAMP's echoed timestamp does.

An error is loss for the probe it quotes, never a reply: its sender is a router on the way, not the
target, and its arrival says the target was not reached.

ICMPv6 (RFC 4443) for IPv6 targets works the same way with its own types (echo 128/129, errors
destination unreachable 1 and time exceeded 3, quoting the original IPv6 header and as much of
the request as fits) and one difference: a raw ICMPv6 socket reads the ICMPv6 message without the
IPv6 header (the source comes from ``recvfrom``), and the checksum covers a pseudo-header the
kernel knows: it fills it on send and verifies it on receive (RFC 3542 §3.1), so
:func:`encode_echo_request6` leaves it zero and :func:`parse6` trusts what the kernel passed.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

__all__ = [
    "ECHO_REPLY",
    "ECHO_REQUEST",
    "DEST_UNREACHABLE",
    "TIME_EXCEEDED",
    "EchoError",
    "EchoReply",
    "IcmpError",
    "checksum",
    "encode_echo_request",
    "encode_echo_request6",
    "parse",
    "parse6",
]

ECHO_REPLY = 0
DEST_UNREACHABLE = 3
ECHO_REQUEST = 8
TIME_EXCEEDED = 11

# ICMPv6 (RFC 4443)
DEST_UNREACHABLE6 = 1
TIME_EXCEEDED6 = 3
ECHO_REQUEST6 = 128
ECHO_REPLY6 = 129
_IPV6_HEADER = 40
_NEXT_ICMPV6 = 58

_HEADER = struct.Struct("!BBHHH")  # type, code, checksum, identifier, sequence
#: Our payload: a magic word, the full 32-bit sequence number, T1 in ns.
_PAYLOAD = struct.Struct("!4sIq")
_MAGIC = b"AFo1"
PAYLOAD_SIZE = _PAYLOAD.size
#: Length of an echo request as :func:`encode_echo_request` makes it.
REQUEST_SIZE = _HEADER.size + _PAYLOAD.size

_UNREACHABLE = {
    0: "network unreachable",
    1: "host unreachable",
    2: "protocol unreachable",
    3: "port unreachable",
    4: "fragmentation needed",
    5: "source route failed",
    9: "network administratively prohibited",
    10: "host administratively prohibited",
    13: "communication administratively prohibited",
}


class IcmpError(ValueError):
    """Bytes that cannot be encoded as asked."""


@dataclass(frozen=True, slots=True)
class EchoReply:
    """An echo reply to one of our requests."""

    source: str
    identifier: int
    #: The 16-bit sequence number of the ICMP header.
    sequence: int
    #: From our payload: the full sequence number and the send time (ns), or None when the
    #: target did not echo our payload intact (then only ``sequence`` matches it).
    full_sequence: int | None
    t1_ns: int | None


@dataclass(frozen=True, slots=True)
class EchoError:
    """An ICMP error about one of our echo requests: that probe is lost."""

    #: The router that sent the error.
    source: str
    #: The destination of the quoted request: the target the probe was for.
    target: str
    identifier: int
    sequence: int
    type: int
    code: int
    #: ICMPv6 (RFC 4443 types and codes) rather than ICMP.
    v6: bool = False

    @property
    def reason(self) -> str:
        if self.v6:
            return f"{_error6(self.type, self.code)} (ICMPv6 from {self.source})"
        if self.type == TIME_EXCEEDED:
            what = "TTL exceeded in transit" if self.code == 0 else "fragment reassembly time exceeded"
        else:
            what = _UNREACHABLE.get(self.code, f"destination unreachable (code {self.code})")
        return f"{what} (ICMP from {self.source})"


_UNREACHABLE6 = {
    0: "no route to destination",
    1: "communication administratively prohibited",
    2: "beyond scope of source address",
    3: "address unreachable",
    4: "port unreachable",
    5: "source address failed ingress/egress policy",
    6: "reject route to destination",
}


def _error6(kind: int, code: int) -> str:
    if kind == TIME_EXCEEDED6:
        return "hop limit exceeded in transit" if code == 0 else "fragment reassembly time exceeded"
    return _UNREACHABLE6.get(code, f"destination unreachable (code {code})")


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _payload(identifier: int, sequence: int, t1_ns: int) -> bytes:
    """Our echo payload, once the header's fields are known to fit."""
    if not 0 <= identifier <= 0xFFFF:
        raise IcmpError(f"identifier {identifier} is not 16 bits")
    if not 0 <= sequence <= 0xFFFF_FFFF:
        raise IcmpError(f"sequence {sequence} is not 32 bits")
    return _PAYLOAD.pack(_MAGIC, sequence, t1_ns)


def _reply(message: bytes, identifier: int, source: str) -> EchoReply | None:
    """An echo reply message (ICMP or ICMPv6: the same layout) if it carries our identifier."""
    _kind, _code, _csum, ident, seq = _HEADER.unpack_from(message)
    if ident != identifier:
        return None
    full, t1 = None, None
    if len(message) >= _HEADER.size + _PAYLOAD.size:
        magic, full_seq, t1_ns = _PAYLOAD.unpack_from(message, _HEADER.size)
        if magic == _MAGIC and full_seq & 0xFFFF == seq:
            full, t1 = full_seq, t1_ns
    return EchoReply(source, ident, seq, full, t1)


def encode_echo_request(identifier: int, sequence: int, t1_ns: int) -> bytes:
    """An echo request; the ICMP header carries the low 16 bits of ``sequence``."""
    payload = _payload(identifier, sequence, t1_ns)
    header = _HEADER.pack(ECHO_REQUEST, 0, 0, identifier, sequence & 0xFFFF)
    csum = checksum(header + payload)
    return _HEADER.pack(ECHO_REQUEST, 0, csum, identifier, sequence & 0xFFFF) + payload


def _ipv4_header(packet: bytes) -> tuple[int, int, str, str] | None:
    """(header length, protocol, source, destination) of an IPv4 packet, or None."""
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return None
    ihl = (packet[0] & 0x0F) * 4
    if ihl < 20 or len(packet) < ihl:
        return None
    return ihl, packet[9], _dotted(packet[12:16]), _dotted(packet[16:20])


def _dotted(raw: bytes) -> str:
    return ".".join(str(b) for b in raw)


def parse(packet: bytes, identifier: int, *, ip_header: bool = True) -> EchoReply | EchoError | None:
    """What ``packet`` says about our probes (identifier ``identifier``), None if nothing.

    ``packet`` is what a raw ICMP socket reads: an IPv4 header, then the ICMP message
    (``ip_header=False``: the ICMP message alone, with ``source`` unknown — as a ping socket reads
    it; its errors come through the socket's error queue instead). Malformed messages, wrong
    checksums, other programs' echoes and errors about other packets are all None.
    """
    source = ""
    if ip_header:
        ip = _ipv4_header(packet)
        if ip is None or ip[1] != 1:  # not ICMP
            return None
        ihl, _, source, _ = ip
        packet = packet[ihl:]
    if len(packet) < _HEADER.size or checksum(packet) != 0:
        return None
    kind, code = packet[0], packet[1]
    if kind == ECHO_REPLY:
        return _reply(packet, identifier, source) if code == 0 else None
    if kind in (DEST_UNREACHABLE, TIME_EXCEEDED):
        # Checked above over the whole error; the quoted request follows the 8-octet header.
        quoted = packet[_HEADER.size:]
        ip = _ipv4_header(quoted)
        if ip is None or ip[1] != 1 or len(quoted) < ip[0] + _HEADER.size:
            return None
        ihl, _, _, target = ip
        q_type, _q_code, _q_csum, q_ident, q_seq = _HEADER.unpack_from(quoted, ihl)
        if q_type != ECHO_REQUEST or q_ident != identifier:
            return None
        return EchoError(source, target, q_ident, q_seq, kind, code)
    return None


def encode_echo_request6(identifier: int, sequence: int, t1_ns: int) -> bytes:
    """An ICMPv6 echo request (checksum left to the kernel); the header carries the low 16 bits
    of ``sequence``, the payload is the same as ICMP's."""
    payload = _payload(identifier, sequence, t1_ns)
    return _HEADER.pack(ECHO_REQUEST6, 0, 0, identifier, sequence & 0xFFFF) + payload


def parse6(message: bytes, identifier: int, source: str) -> EchoReply | EchoError | None:
    """What an ICMPv6 ``message`` from ``source`` (as a raw or ping ICMPv6 socket reads it: no IPv6
    header) says about our probes (identifier ``identifier``), None if nothing."""
    if len(message) < _HEADER.size:
        return None
    kind, code = message[0], message[1]
    if kind == ECHO_REPLY6:
        return _reply(message, identifier, source) if code == 0 else None
    if kind in (DEST_UNREACHABLE6, TIME_EXCEEDED6):
        # 4 octets unused after the header's first four, then the invoking packet: its IPv6
        # header (next header ICMPv6: our echo requests carry no extension headers) and the echo.
        quoted = message[_HEADER.size:]
        if len(quoted) < _IPV6_HEADER + _HEADER.size or quoted[0] >> 4 != 6 or quoted[6] != _NEXT_ICMPV6:
            return None
        target = str(ipaddress.IPv6Address(quoted[24:40]))
        q_type, _q_code, _q_csum, q_ident, q_seq = _HEADER.unpack_from(quoted, _IPV6_HEADER)
        if q_type != ECHO_REQUEST6 or q_ident != identifier:
            return None
        return EchoError(source, target, q_ident, q_seq, kind, code, v6=True)
    return None
