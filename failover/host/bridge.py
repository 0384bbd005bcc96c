"""The boundary between Python and a Lua state.

Lunatik raises bare errno names (``"EEXIST"``) with ``error(name, 0)``. A Python exception
cannot become such a string by itself (lupa hands Lua the exception object), so every Python
function a module exposes returns ``(true, results...)`` or ``(false, message)`` and the Lua side
of the module (``lua/prelude.lua: check``) raises the message. ``lua_function`` does the wrapping.

Strings cross as bytes (the states run with ``encoding=None``): Lua strings are byte strings,
and Lunatik scripts carry raw addresses in them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class LuaError(Exception):
    """An error to raise in Lua as a plain string, with no position (``error(msg, 0)``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def argerror(n: int, fname: str, extra: str) -> LuaError:
    """The message ``luaL_argerror`` would give, so scripts see the kernel's wording."""
    return LuaError(f"bad argument #{n} to '{fname}' ({extra})")


class HostObject:
    """A Lunatik object: shareable between runtimes through rcu tables and ``resume``.

    ``lua_class`` names the metatable a runtime wraps it in; ``single`` objects (notifiers)
    may not leave their runtime, as in the kernel.
    """

    lua_class: bytes = b"object"
    lua_module: bytes = b"lunatik"  # the module whose Lua side defines lua_class
    single: bool = False

    def release(self) -> None:
        """Free what the object holds; called by ``close`` and when its runtime stops."""


def to_lua(value: Any) -> Any:
    """Python result → a value a Lua state accepts (``str`` would arrive as a Python object)."""
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bytearray):
        return bytes(value)
    if isinstance(value, float):
        # Kernel Lua has no floats: a float reaching a script is a host bug, not a rounding choice.
        raise TypeError(f"float {value!r} would leave the host")
    return value


def lua_function(fn: Callable[..., Any]) -> Callable[..., tuple]:
    """Expose ``fn`` to Lua with the ``(ok, ...)`` convention described above."""

    @functools.wraps(fn)
    def wrapper(*args: Any) -> tuple:
        try:
            result = fn(*args)
        except LuaError as e:
            return (False, e.message.encode())
        except OSError as e:
            from .constants import errname

            return (False, errname(e.errno or 5).encode())
        except Exception as e:  # noqa: BLE001 - a host bug must surface in Lua, not kill the host
            log.exception("host function %s failed", fn.__name__)
            return (False, f"host error in {fn.__name__}: {e}".encode())
        if isinstance(result, tuple):
            return (True, *(to_lua(v) for v in result))
        return (True, to_lua(result))

    return wrapper


def as_int(value: Any, n: int, fname: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise argerror(n, fname, f"number has no integer representation" if isinstance(value, float) else "integer expected")
    return value


def as_bytes(value: Any, n: int, fname: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value).encode()
    raise argerror(n, fname, "string expected")
