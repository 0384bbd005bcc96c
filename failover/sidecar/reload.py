"""SIGHUP: the config file read again and applied without a restart, or refused as a whole.

A new config that does not load (bad TOML, a bad field, an unreadable key file) is refused with
its error, and so is one that changes what cannot change under a running router: the API's
address and token, the control socket, the failover rule's table and priority (a rule at the
old priority would be left behind), the heartbeat port, interval and key (the probes' sockets
and windows). Everything else is applied: the sidecar's side by :meth:`Sidecar.reload`
(probes of unchanged gateways keep running), the scripts' side by restarting the daemon and the
notifier with the new conf.lua when it differs, which leaves the FIB as it is: the restarted
daemon finds the rule in place and keeps it (the same path as a crash's restart).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from .. import config
from ..scripts import launch

if TYPE_CHECKING:
    from ..host.kernel import Kernel
    from .core import Sidecar

log = logging.getLogger("failover.reload")

#: Fields a reload may not change (a restart may): the scripts' (failover/scripts/launch.py), the
#: API's address and token, the probes' sockets and windows, the journal's file.
FIXED = ("api.listen", "api.token_file", *launch.SCRIPTS_FIXED, "heartbeat.port", "heartbeat.interval_ms",
         "heartbeat.key_file", "journal.path", "journal.max_bytes")


def fixed_changes(old: config.Config, new: config.Config) -> list[str]:
    return launch.fixed_changes(old, new, FIXED)


class Reloader:
    """Holds the running config; ``reload()`` replaces it, or logs why not and keeps it."""

    def __init__(self, path: str | Path, cfg: config.Config, core: Sidecar | None = None,
                 kernel: Kernel | None = None) -> None:
        self.path, self.cfg, self.core, self.kernel = path, cfg, core, kernel
        self._lock = asyncio.Lock()

    async def reload(self) -> bool:
        async with self._lock:  # two quick SIGHUPs: one after the other
            try:
                new = await asyncio.to_thread(config.load, self.path)
            except config.ConfigError as e:
                log.error("reload refused, the running configuration stays: %s", e)
                return False
            fixed = fixed_changes(self.cfg, new)
            if fixed:
                log.error("reload refused, the running configuration stays: %s cannot change without a restart",
                          ", ".join(fixed))
                return False
            changed = []
            if self.kernel is not None:
                changed += await asyncio.to_thread(launch.reload_scripts, self.kernel, self.cfg, new)
            if self.core is not None:
                changed += await self.core.reload(new)
            self.cfg = new
            log.info("reloaded %s: %s", self.path, "; ".join(changed) or "nothing changed")
            return True
