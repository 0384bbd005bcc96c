"""``require("lunatik")``: runtimes, the shared ``_ENV``, and the runner behind the CLI."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .bridge import HostObject, LuaError, argerror, lua_function
from .runtime import ScriptError

if TYPE_CHECKING:
    from .runtime import Runtime
    from .services import Services


def _script(value: Any, fname: str) -> str:
    if not isinstance(value, bytes):
        raise argerror(1, fname, "string expected")
    return value.decode(errors="replace")


class LunatikModule:
    def __init__(self, runtime: Runtime, services: Services) -> None:
        self.runtime = runtime
        self.shared_env = services.env  # not "env": that name is the Lua function below
        self.runner = services.runner
        self.irq = runtime.irq  # the Lua side offers a stub module in an IRQ runtime

    @lua_function
    def env(self) -> HostObject:
        return self.shared_env

    @lua_function
    def runtime_new(self, script: Any, context: Any = None) -> Runtime:
        ctx = "process" if context is None else _script(context, "runtime")
        try:
            return self.runner.runtime(_script(script, "runtime"), ctx)
        except ScriptError as e:
            raise LuaError(str(e)) from None

    @lua_function
    def resume(self, rt: Any, *objects: Any) -> None:
        for i, obj in enumerate(objects, start=2):
            if not isinstance(obj, HostObject):
                raise argerror(i, "resume", "invalid object")
        rt.resume(*objects)

    @lua_function
    def stop(self, rt: Any) -> None:
        rt.stop()

    # lunatik.runner
    @lua_function
    def runner_run(self, script: Any, context: Any = None) -> Runtime:
        self.runtime.check_context("process")
        ctx = "process" if context is None else _script(context, "run")
        return self.runner.run(_script(script, "run"), ctx)

    @lua_function
    def runner_spawn(self, script: Any) -> HostObject:
        self.runtime.check_context("process")
        if self.runtime.loading:
            raise LuaError("not allowed during module load")
        return self.runner.spawn(_script(script, "spawn"))

    @lua_function
    def runner_stop(self, script: Any) -> None:
        self.runtime.check_context("process")
        self.runner.stop(_script(script, "stop"))

    @lua_function
    def runner_list(self) -> str:
        self.runtime.check_context("process")
        return ",".join(self.runner.list())
