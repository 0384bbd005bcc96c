"""``failover host``: the kernel/failover scripts in the user-space host, as an appliance runs them.

Does the set-up a Lunatik install does by hand: the router must not send ICMP redirects on the
LAN (clients would learn to bypass it and lose traffic after failback), the control socket's
folder must exist, and a stale socket file from a crash must go before the daemon binds. After
the scripts stop it removes the socket file they leave: Lunatik gives scripts no unlink, so
control.lua's close cannot, on the host or in the kernel.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import stat
import threading
from pathlib import Path

from ..config import Config, to_lua
from ..host.kernel import Kernel

log = logging.getLogger(__name__)

DAEMON = "failover/daemon"
NOTIFIER = "failover/notifier"


def disable_redirects(lan_interface: str) -> None:
    for scope in ("all", lan_interface):
        path = Path(f"/proc/sys/net/ipv4/conf/{scope}/send_redirects")
        try:
            path.write_text("0\n")
        except OSError as e:
            log.warning("cannot turn off send_redirects for %s: %s", scope, e.strerror)


def clear_stale_socket(path: str) -> None:
    """Remove a socket file no daemon answers on; refuse to touch anything else."""
    p = Path(path)
    p.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    try:
        st = p.lstat()
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise SystemExit(f"control.socket: {path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except ConnectionRefusedError:
        p.unlink()
    else:
        raise SystemExit(f"control.socket: a daemon already answers on {path}")
    finally:
        probe.close()


def remove_socket(path: str) -> None:
    """After the daemon stopped: its socket file, unless something else answers there now."""
    try:
        clear_stale_socket(path)
    except SystemExit as e:
        log.warning("left %s: %s", path, e)


def stop(kernel: Kernel, cfg: Config) -> None:
    """Stop the scripts (the FIB stays as they left it), then remove the control socket file."""
    kernel.shutdown()
    remove_socket(cfg.control.socket)


def start(cfg: Config, root: str | Path | None = None) -> Kernel:
    disable_redirects(cfg.failover.lan_interface)
    clear_stale_socket(cfg.control.socket)
    # The control socket is created by the daemon's bind: owner only (0600), root being the owner.
    os.umask(0o177)
    kernel = Kernel(root, sources={"failover.conf": to_lua(cfg).encode()})
    try:
        kernel.spawn(DAEMON)
        kernel.run(NOTIFIER)
    except BaseException:
        kernel.shutdown()
        raise
    return kernel


def restart_scripts(kernel: Kernel, cfg: Config, elected: str | None = None) -> None:
    """The daemon and notifier again with ``cfg``'s conf.lua (a reload). The FIB is left as it
    is meanwhile; the new daemon reconciles it as after any restart, keeping a rule it finds.

    A daemon starts from its first gateway until the sidecar elects: the gateway ``elected``
    before the restart goes first, so table T's default does not move and back meanwhile."""
    gateways = sorted(cfg.gateway, key=lambda g: g.address != elected)  # stable: the rest keep their order
    conf = to_lua(cfg.model_copy(update={"gateway": gateways}))
    kernel.stop(NOTIFIER)
    kernel.stop(DAEMON)
    kernel.sources["failover.conf"] = conf.encode()
    disable_redirects(cfg.failover.lan_interface)
    clear_stale_socket(cfg.control.socket)
    kernel.spawn(DAEMON)
    kernel.run(NOTIFIER)


def serve(cfg: Config, root: str | Path | None = None, stopping: threading.Event | None = None) -> int:
    """Run until SIGINT/SIGTERM (or ``stopping``), then stop the scripts cleanly."""
    stopping = stopping or threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    kernel = start(cfg, root)
    try:
        stopping.wait()
    finally:
        stop(kernel, cfg)
    return 1 if kernel.errors else 0
