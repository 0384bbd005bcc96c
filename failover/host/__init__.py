"""A user-space host for Lunatik scripts: the same Lua module API, on lupa's Lua 5.5 and pyroute2.

``Kernel`` holds the runtimes; ``failover lunatik`` and ``failover host`` drive it.
"""

from .kernel import Kernel
from .runtime import ScriptError

__all__ = ["Kernel", "ScriptError"]
