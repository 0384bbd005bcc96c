"""The gateway control line (docs/design.md, "Gateway control"): what the router's daemon sends an
alternate gateway's agent. One parser and one formatter, pure (no I/O, no clock).

Plain: ``up`` or ``down``. Signed (with a shared key): ``<up|down> <unix ms> <nonce> <hmac>``,
``nonce`` 32 hex digits, ``hmac`` the HMAC-SHA256 in 64 hex digits over ``"<cmd> <unix ms> <nonce>"``.
The daemon's own formatter is Lua (kernel/failover/gateway.lua); this one is the agent's parser
and, for tests and tools, the same line from Python. Whether a signed line is fresh and not
replayed is the agent's decision (:class:`failover.agent.ControlAuth`), not the line's.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass

__all__ = ["LineRefused", "Signed", "parse_plain", "parse_signed", "sign"]

_PLAIN = (b"up", b"down")
_SIGNED = re.compile(rb"(up|down) ([0-9]{1,16}) ([0-9a-f]{32}) ([0-9a-f]{64})")


class LineRefused(ValueError):
    """A line the agent refuses; ``kind`` names the reason for its counters, the message is the
    reason its ``err`` reply gives."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class Signed:
    """A signed line whose MAC verified."""

    command: str
    unix_ms: int
    nonce: bytes


def _mac(key: bytes, text: bytes) -> bytes:
    return hmac.new(key, text, "sha256").hexdigest().encode()


def sign(key: bytes, command: str, unix_ms: int, nonce: str) -> str:
    """The signed line for ``command`` (without the newline)."""
    text = f"{command} {unix_ms} {nonce}"
    return f"{text} {_mac(key, text.encode()).decode()}"


def _one_line(line: bytes) -> bytes:
    return line[:-1] if line.endswith(b"\n") else line


def parse_plain(line: bytes) -> str:
    """``up`` or ``down``, or ValueError with the reason to send back."""
    line = _one_line(line)
    if b"\n" in line:
        raise ValueError("one line only")
    if line in _PLAIN:
        return line.decode()
    raise ValueError("expected up or down")


def parse_signed(line: bytes, key: bytes) -> Signed:
    """The signed line in ``line`` once its MAC verifies (constant-time compare), or
    :class:`LineRefused`: ``unauthenticated`` (a plain line), ``malformed``, ``bad_mac``."""
    line = _one_line(line)
    if line in _PLAIN:
        raise LineRefused("unauthenticated", "authentication required")
    m = _SIGNED.fullmatch(line)
    if m is None:
        raise LineRefused("malformed", "expected <up|down> <unix ms> <nonce> <hmac>")
    command, ms, nonce, mac = m.groups()
    if not hmac.compare_digest(_mac(key, line[: m.start(4) - 1]), mac):
        raise LineRefused("bad_mac", "bad signature")
    return Signed(command.decode(), int(ms), nonce)
