"""A user-space host for Lunatik scripts: the same Lua module API, on lupa's Lua 5.5 and pyroute2.

``Kernel`` holds the runtimes, with the modules and services of one ``Profile``. The host knows
nothing of what its scripts do: what starts the failover scripts is ``failover/scripts/``.
"""

from .kernel import Kernel
from .profile import Api, ErrorStyle, Profile
from .runtime import ScriptError

__all__ = ["Api", "ErrorStyle", "Kernel", "Profile", "ScriptError"]
