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


CONTEXT_ERROR = "process-context class in interrupt-context runtime"  # LUNATIK_ERR_CONTEXT
RUNTIME_ERROR = "runtime context mismatch"  # LUNATIK_ERR_RUNTIME
SINGLE_ERROR = "cannot share SINGLE object"  # LUNATIK_ERR_SINGLE


def class_error(kernel_class: str) -> LuaError:
    """What ``lunatik_checkclass`` raises for a process-only class in an IRQ runtime."""
    return LuaError(f"'{kernel_class}': {CONTEXT_ERROR}")


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
    # Lunatik's class name and whether the class may live in a softirq/hardirq runtime (its
    # opt has LUNATIK_OPT_IRQ): a process-only class is refused there, created or received.
    kernel_class: str = "object"
    irq_safe: bool = False

    def release(self) -> None:
        """Free what the object holds; called by ``close`` and when its runtime stops."""


class Carrier:
    """A Lunatik object on its way into a Lua state: a new one for every crossing.

    lupa reuses the userdata it made for an object when the same object crosses again, found
    by the object's address; if that userdata was already collected and its registry slot
    reused, lupa hands back whatever now fills the slot (seen: a data object arriving as a bound
    method, under rcu.map with deletions). A fresh carrier per crossing never hits that path.
    """

    __slots__ = ("obj",)

    def __init__(self, obj: HostObject) -> None:
        self.obj = obj

    def __getattr__(self, name: str) -> Any:
        return getattr(self.obj, name)


def from_lua(value: Any) -> Any:
    return value.obj if type(value) is Carrier else value


def to_lua(value: Any) -> Any:
    """Python result → a value a Lua state accepts (``str`` would arrive as a Python object)."""
    if isinstance(value, HostObject):
        return Carrier(value)
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
            result = fn(*(from_lua(a) for a in args))
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
