"""``failover sidecar`` / ``failover run``: the measuring core in this process, the API in a child.

The core (:class:`failover.sidecar.core.Sidecar`: probes, replies, detect timers, path check,
election, daemon link, conntrack clean-up) runs in this process's asyncio loop; the HTTP API runs
in a child process (``python -m api.serve``) at a lower CPU priority, connected by one socketpair
(:mod:`failover.sidecar.coreipc`, which says why two processes). The API is restarted if it dies; the core
carries on meanwhile. SIGINT/SIGTERM stop both; SIGHUP reloads the config into the core (a
:class:`failover.sidecar.reload.Reloader`, in the core's loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..config import Config
from .coreipc import CoreServer
from .core import Sidecar

__all__ = ["ApiOptions", "run"]

log = logging.getLogger("failover.supervisor")

#: ``reloader(core)``: an object whose ``reload()`` coroutine SIGHUP runs, or None.
ReloaderFactory = Callable[[Sidecar], Any]

#: The API's niceness relative to the core: under an HTTP flood the kernel runs the core first.
API_NICE = 10
RESTART_S = 1.0
STOP_TIMEOUT_S = 5.0


class StartError(SystemExit):
    pass


@dataclass(frozen=True)
class ApiOptions:
    lab_fault_command: str | None = None
    lab_flow_file: str | None = None
    lab_flow6_file: str | None = None
    nice: int = API_NICE


def _api_argv(cfg: Config, fd: int, opts: ApiOptions) -> list[str]:
    argv = [sys.executable, "-m", "api.serve", "--core-fd", str(fd), "--host", cfg.api.host,
            "--port", str(cfg.api.port), "--token-file", cfg.api.token_file, "--nice", str(opts.nice)]
    if opts.lab_fault_command is not None:
        argv += ["--lab-fault-command", opts.lab_fault_command]
    if opts.lab_flow_file is not None:
        argv += ["--lab-flow-file", opts.lab_flow_file]
    if opts.lab_flow6_file is not None:
        argv += ["--lab-flow6-file", opts.lab_flow6_file]
    return argv


async def _serve_api(core: Sidecar, cfg: Config, opts: ApiOptions, stop: asyncio.Event) -> None:
    """Run the API process until ``stop``; restart it when it dies on its own."""
    while not stop.is_set():
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            proc = await asyncio.create_subprocess_exec(
                *_api_argv(cfg, theirs.fileno(), opts), pass_fds=[theirs.fileno()])
        finally:
            theirs.close()
        server = CoreServer(core, ours)
        await server.start()
        exited = asyncio.create_task(proc.wait())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait([exited, stopping], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not exited.done():
            proc.terminate()
            try:
                async with asyncio.timeout(STOP_TIMEOUT_S):
                    await exited
            except TimeoutError:
                proc.kill()
                await exited
        await server.close()
        if stop.is_set():
            return
        code = exited.result()
        if code == 2:
            raise StartError(2)  # the API said why (the token file)
        if code == 3:
            raise StartError(f"failover: the sidecar could not start on {cfg.api.listen}")
        log.error("the API process exited (%s): restarting it; the measuring core carries on", code)
        await asyncio.sleep(RESTART_S)


async def _main(cfg: Config, opts: ApiOptions, reloader: ReloaderFactory) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    core = Sidecar(cfg)
    reloads: set[asyncio.Task] = set()
    if (r := reloader(core)) is not None:
        def reload() -> None:
            task = loop.create_task(r.reload())
            reloads.add(task)
            task.add_done_callback(reloads.discard)

        loop.add_signal_handler(signal.SIGHUP, reload)
    await core.start()
    try:
        await _serve_api(core, cfg, opts, stop)
    finally:
        await core.stop()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(sig)


def run(cfg: Config, opts: ApiOptions, reloader: ReloaderFactory = lambda _core: None) -> None:
    """Until SIGINT/SIGTERM. Raises SystemExit when the API cannot start (port, token file).
    ``reloader(core)``: what SIGHUP runs (``.reload()``), or None to leave SIGHUP alone."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(cfg, opts, reloader))
