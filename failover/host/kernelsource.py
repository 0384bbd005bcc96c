"""Lua source read as Lunatik's kernel Lua reads it, before a stock Lua 5.5 compiles it.

Lunatik builds Lua with ``LUA_NUMBER`` set to ``LUA_INTEGER`` and a lexer and parser patched
under ``_KERNEL``: ``/`` is compiled as floor division (``OPR_IDIV``, so ``7/2 == 3``), there is
no ``^`` operator, and a numeral is digits (or ``0x`` and hex digits) only, so ``1.5``, ``.5``,
``1e3`` and ``0x1p4`` do not parse. A decimal literal too large for an integer does not parse
either (a stock Lua turns it into a float).

``kernel_source`` scans the text with a Lua tokenizer (strings, long strings and comments are
copied untouched), rewrites each ``/`` to ``//`` and refuses what the kernel would not parse,
naming the chunk and line. Rewriting only adds a character inside a line, so line numbers in
later error messages stay right.
"""

from __future__ import annotations

import re

MAX_INTEGER = 2**63 - 1

_NAME = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
_LONG_OPEN = re.compile(rb"\[(=*)\[")
_SPACE = re.compile(rb"[ \t\r\f\v]+")


class KernelSyntaxError(Exception):
    """The kernel's Lua would refuse this chunk; the message is ``chunk:line: why``."""


def short_src(chunkname: str) -> str:
    """How Lua names a chunk in messages: ``@file`` is the file, ``=name`` the name."""
    if chunkname[:1] in ("@", "="):
        return chunkname[1:]
    return f'[string "{chunkname.splitlines()[0] if chunkname else "?"}"]'


def kernel_source(text: bytes, chunkname: str) -> bytes:
    """``text`` with ``/`` as floor division; raises KernelSyntaxError where the kernel cannot parse."""
    return _Scanner(text, short_src(chunkname)).run()


class _Scanner:
    def __init__(self, text: bytes, where: str) -> None:
        self.text = text
        self.where = where
        self.out = bytearray()
        self.pos = 0

    def line(self, pos: int) -> int:
        return self.text.count(b"\n", 0, pos) + 1

    def refuse(self, pos: int, why: str) -> KernelSyntaxError:
        return KernelSyntaxError(f"{self.where}:{self.line(pos)}: {why} (Lunatik's kernel Lua cannot parse it)")

    def copy(self, end: int) -> None:
        self.out += self.text[self.pos:end]
        self.pos = end

    def run(self) -> bytes:
        text, n = self.text, len(self.text)
        if text.startswith(b"#"):  # a first line '#!...' is skipped by luaL_loadfile, keep it
            self.copy(text.find(b"\n") if b"\n" in text else n)
        while self.pos < n:
            c = text[self.pos:self.pos + 1]
            nxt = text[self.pos + 1:self.pos + 2]
            if c == b"-" and nxt == b"-":
                self.comment()
            elif c == b"[" and _LONG_OPEN.match(text, self.pos):
                self.long_bracket(self.pos, "string")
            elif c in (b'"', b"'"):
                self.short_string(c)
            elif c.isdigit() or (c == b"." and nxt.isdigit()):
                self.numeral()
            elif c == b".":
                # '.', '..' or '...': never the start of a numeral here
                m = re.match(rb"\.{1,3}", text[self.pos:])
                self.copy(self.pos + len(m.group()))
            elif (m := _NAME.match(text, self.pos)) is not None:
                self.copy(m.end())
            elif c == b"/":
                if nxt == b"/":
                    self.copy(self.pos + 2)
                else:
                    self.out += b"//"
                    self.pos += 1
            elif c == b"^":
                raise self.refuse(self.pos, "'^' (exponentiation)")
            else:
                m = _SPACE.match(text, self.pos)
                self.copy(m.end() if m else self.pos + 1)
        return bytes(self.out)

    def comment(self) -> None:
        start = self.pos
        m = _LONG_OPEN.match(self.text, start + 2)
        if m:
            self.long_bracket(start + 2, "comment", start)
            return
        end = self.text.find(b"\n", start)
        self.copy(len(self.text) if end < 0 else end)

    def long_bracket(self, at: int, what: str, start: int | None = None) -> None:
        m = _LONG_OPEN.match(self.text, at)
        assert m is not None
        close = b"]" + m.group(1) + b"]"
        end = self.text.find(close, m.end())
        if end < 0:
            raise self.refuse(at, f"unfinished long {what}")
        self.copy(end + len(close))

    def short_string(self, quote: bytes) -> None:
        text, i, n = self.text, self.pos + 1, len(self.text)
        while i < n:
            c = text[i:i + 1]
            if c == b"\\":
                i += 2  # the escaped character, whatever it is ('\\z', '\\\n' included)
                continue
            if c == quote:
                self.copy(i + 1)
                return
            if c == b"\n":
                break
            i += 1
        raise self.refuse(self.pos, "unfinished string")

    def numeral(self) -> None:
        """Read a numeral as a stock Lua lexer does, then judge it as the kernel's would."""
        text, start = self.text, self.pos
        i, expo = start, b"Ee"
        if text[i:i + 2] in (b"0x", b"0X"):
            i, expo = i + 2, b"Pp"
        while i < len(text):
            c = text[i:i + 1]
            if c and c in expo:
                i += 1
                if text[i:i + 1] in (b"+", b"-"):
                    i += 1
            elif c.isalnum() or c == b".":
                i += 1
            else:
                break
        word = text[start:i]
        hexa = expo == b"Pp"
        body = word[2:] if hexa else word
        if b"." in word or any(mark in body for mark in (expo[:1], expo[1:])):
            raise self.refuse(start, f"float literal '{word.decode(errors='replace')}'")
        if not hexa and word.isdigit() and int(word) > MAX_INTEGER:
            raise self.refuse(start, f"integer literal '{word.decode()}' out of range")
        self.copy(i)
