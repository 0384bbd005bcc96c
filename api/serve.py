"""The API's process: ``python -m api.serve --core-fd N ...``, started by the measuring core's
process (:mod:`failover.sidecar.supervisor`), never by hand.

It serves the FastAPI app over :class:`failover.sidecar.coreipc.RemoteCore` (the core's snapshots, log and
commands over the inherited socket ``N``) under uvicorn, at a lower CPU priority than the core.
It ends when the core's end of the socket closes, and with the core's process (``PR_SET_PDEATHSIG``).
Exit status: 0 stopped, 2 bad token file, 3 could not listen.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import signal
import socket
import sys

import uvicorn

from failover.sidecar.coreipc import RemoteCore

from .app import create_app
from .auth import TokenError, load_or_create

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the closed socket still ends us


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="api.serve")
    ap.add_argument("--core-fd", type=int, required=True)
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--lab-fault-command")
    ap.add_argument("--lab-flow-file")
    ap.add_argument("--lab-flow6-file")
    ap.add_argument("--nice", type=int, default=0)
    args = ap.parse_args(argv)
    _die_with_parent()
    # SIGHUP reloads the core's config (its process handles it); here it must not kill the API.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    if os.getppid() == 1:
        return 0  # the core's process is already gone
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.nice:
        os.nice(args.nice)
    try:
        token = load_or_create(args.token_file)
    except TokenError as e:
        print(f"failover: {e}", file=sys.stderr)
        return 2

    server: uvicorn.Server | None = None

    def core_lost() -> None:
        if server is not None:
            server.should_exit = True

    core = RemoteCore(socket.socket(fileno=args.core_fd), on_lost=core_lost)
    app = create_app(core, token=token, lab_fault_command=args.lab_fault_command,
                     lab_flow_file=args.lab_flow_file, lab_flow6_file=args.lab_flow6_file)
    server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port, log_config=None,
                                           access_log=False, lifespan="on"))
    server.run()
    return 0 if server.started else 3


if __name__ == "__main__":
    sys.exit(main())
