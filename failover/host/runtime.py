"""A Lunatik runtime: one Lua 5.5 state, its lock, and the script loaded into it.

As in the kernel, whoever runs Lua code of a runtime holds its lock: the script's top level,
a notifier callback, ``resume`` and a thread body (for its whole run, sleeps included).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lupa.lua55 as lua55

from .bridge import RUNTIME_ERROR, Carrier, HostObject, LuaError, class_error
from .constants import MODULES as CONSTANTS
from .kernelsource import KernelSyntaxError, kernel_source
from .profile import EFAULT, errno_names
from .services import Services

LIBDIR = Path(__file__).parent / "lua"


class ScriptError(Exception):
    """A script raised at load time; the message carries its file and line."""


Backend = Callable[["Runtime", Services], Any]


@dataclass(frozen=True)
class HostModule:
    """A module ``require`` finds with a Python side: its backend, built for each runtime, and
    the Lua files (under ``lua/modules/``) that make the module from it, in order."""

    name: str
    backend: Backend
    files: tuple[str, ...] = ()  # default: the module's name as a path ("lunatik/runner")

    @property
    def lua_files(self) -> tuple[str, ...]:
        return self.files or (self.name.replace(".", "/"),)


@dataclass
class Library:
    """What ``require`` and ``lunatik.runtime`` find: the script folder (``/lib/modules/lua``),
    the modules with a Python side, and modules given as Lua source (e.g. a generated config)."""

    root: Path
    modules: Mapping[str, HostModule]
    sources: dict[str, bytes] = field(default_factory=dict)

    def script_path(self, script: str) -> Path:
        path = (self.root / f"{script}.lua").resolve()
        if self.root not in path.parents:
            raise ScriptError(f"{script}: outside the script root {self.root}")
        return path


class Runtime(HostObject):
    lua_class = b"runtime"
    kernel_class = "lunatik"

    def __init__(
        self,
        script: str,
        context: str = "process",
        *,
        services: Services,
        library: Library,
        on_stop: Callable[[Runtime], None] = lambda rt: None,
    ) -> None:
        if context not in ("process", "softirq", "hardirq"):
            raise LuaError(f"bad argument #2 to 'runtime' (invalid option '{context}')")
        self.services = services
        self.library = library
        self.on_stop = on_stop
        self.script = script
        self.context = context
        self.lock = threading.RLock()
        self.loading = False
        self.stopped = False
        self.entry: Any = None  # the Lua function a thread or resume will call
        # What runtime:stop releases. Single objects (notifiers) are anchored here as in the
        # kernel's registry; shareable ones (sockets) only weakly: like Lunatik's __gc, dropping
        # the last reference (Lua wrappers, rcu tables) closes them.
        self.owned: list[HostObject] = []
        self.shared: weakref.WeakSet[HostObject] = weakref.WeakSet()
        self.lua = lua55.LuaRuntime(
            encoding=None, unpack_returned_tuples=True, register_eval=False, register_builtins=False
        )
        self.lib = self._prelude()

    def _prelude(self) -> Any:
        lua = self.lua
        library, profile = self.library, self.services.profile
        modules = {
            name.encode(): lua.table_from(
                {b"backend": module.backend(self, self.services),
                 b"files": lua.table_from([f.encode() for f in module.lua_files])}
            )
            for name, module in library.modules.items()
        }
        constants = {name.encode(): _lua_table(lua, table) for name, table in CONSTANTS.items()}
        host = lua.table_from(
            {
                # before kernel 6.7, what every errno name reads as
                b"efault": EFAULT.encode() if profile.efault else None,
                b"errnames": lua.table_from({n.encode(): True for n in errno_names()}),
                b"print": self.services.log.print,
                b"readfile": lambda path: Path(path.decode()).read_bytes(),
                b"modules": lua.table_from(modules),
                b"constants": lua.table_from(constants),
                b"sources": lua.table_from({k.encode(): v for k, v in library.sources.items()}),
                b"irq": self.irq,
                b"kernelsource": _kernelsource,
                b"canloadfile": self._canloadfile,
            }
        )
        source = (LIBDIR / "prelude.lua").read_bytes()
        prelude = lua.execute(b"return load(...)", source, b"@" + str(LIBDIR / "prelude.lua").encode())
        return prelude(host, str(LIBDIR).encode(), str(library.root).encode())

    @property
    def irq(self) -> bool:
        return self.context != "process"

    def cannot_sleep(self) -> bool:
        """``lunatik_cannotsleep``: an interrupt-context runtime, once its top level has run."""
        return self.irq and not self.loading

    def admit(self, cls: type[HostObject] | HostObject) -> None:
        """``lunatik_checkclass``: a process-only class cannot be created in an IRQ runtime."""
        if self.irq and not cls.irq_safe:
            raise class_error(cls.kernel_class)

    def check_context(self, context: str = "process") -> None:
        """``lunatik_checkruntime``: the call needs a runtime of exactly this context."""
        if self.context != context:
            raise LuaError(RUNTIME_ERROR)

    def check_sleep(self, fname: str) -> None:
        """A sleep from an IRQ runtime: the kernel does not check, it oopses (scheduling while
        atomic) when the runtime's spinlock is held, i.e. everywhere but the top level."""
        if self.cannot_sleep():
            raise LuaError(f"{fname}: cannot sleep in a {self.context} runtime (scheduling while atomic)")

    def _canloadfile(self) -> tuple:
        if self.cannot_sleep():
            return (False, b"cannot load file on non-sleepable runtime")
        return (True,)

    # -- loading ----------------------------------------------------------------------------

    def load(self) -> None:
        """Run the script's top level once; its return value becomes the entry function."""
        path = self.library.script_path(self.script)
        try:
            source = path.read_bytes()
        except OSError as e:
            raise ScriptError(f"{self.script}: cannot read {path}: {e.strerror}") from None
        with self.lock:
            self.loading = True
            try:
                ok, result = _status(self.lib.runscript(source, b"@" + str(path).encode()))
            finally:
                self.loading = False
        if not ok:
            raise ScriptError(_text(result))
        self.entry = result

    def resume(self, *objects: HostObject) -> None:
        """Call the entry function with Lunatik objects; a returned function becomes the entry."""
        if self.entry is None or lua55.lua_type(self.entry) != "function":
            raise LuaError("runtime has no entry function")
        with self.lock:
            ok, result = _status(self.lib.resume(self.entry, *(Carrier(o) for o in objects)))
        if not ok:
            raise LuaError(_text(result))
        if lua55.lua_type(result) == "function":
            self.entry = result

    def call(self, where: str, fn: Any, *args: Any) -> Any:
        """Run a Lua callback under this runtime's lock; an error is reported, not raised."""
        with self.lock:
            if self.stopped:
                return None
            ok, result = _status(self.lib.pcall(fn, *args))
        if not ok:
            self.services.log.report(self.script, where, _text(result))
            return None
        return result

    def own(self, obj: HostObject) -> HostObject:
        if obj.single:
            self.owned.append(obj)
        else:
            self.shared.add(obj)
        return obj

    def stop(self) -> None:
        """Close the state: its notifiers go quiet and its sockets close, as ``runtime:stop``."""
        with self.lock:
            if self.stopped:
                return
            self.stopped = True
            owned, self.owned = self.owned + list(self.shared), []
            self.shared = weakref.WeakSet()
        for obj in owned:
            obj.release()
        self.on_stop(self)

    release = stop


def _kernelsource(source: bytes, chunkname: bytes) -> tuple:
    try:
        return (True, kernel_source(source, chunkname.decode(errors="replace")))
    except KernelSyntaxError as e:
        return (False, str(e).encode())


def _status(results: Any) -> tuple[bool, Any]:
    """(ok, first value) of a Lua pcall, whatever number of values it returned."""
    if isinstance(results, tuple):
        return bool(results[0]), results[1] if len(results) > 1 else None
    return bool(results), None


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return str(value)


def _lua_table(lua: Any, value: Any) -> Any:
    if isinstance(value, dict):
        return lua.table_from({k.encode(): _lua_table(lua, v) for k, v in value.items()})
    if isinstance(value, list):
        return lua.table_from([_lua_table(lua, v) for v in value])
    return value.encode() if isinstance(value, str) else value
