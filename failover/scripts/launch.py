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

from ..config import Config, ConfigError, load
from .conflua import to_lua
from ..core.controlline import STATE, parse_state
from ..host.kernel import Kernel
from ..net.control_client import request_blocking
from ..package_data import kernel_root

log = logging.getLogger(__name__)

DAEMON = "failover/daemon"
RELOAD_POLL_S = 0.2
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
    # None: the scripts shipped with the package, wherever it is installed
    kernel = Kernel(root if root is not None else kernel_root(), sources={"failover.conf": to_lua(cfg).encode()})
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


#: What the scripts cannot have changed under them: a rule at the old table or priority would be
#: left behind, and the control socket is where the sidecar and operators find the daemon.
SCRIPTS_FIXED = ("control.socket", "failover.table", "failover.priority")


def fixed_changes(old: Config, new: Config, fields: tuple[str, ...] = SCRIPTS_FIXED) -> list[str]:
    """Which of ``fields`` (dotted) differ; an absent optional table counts as None."""
    def get(cfg: Config, dotted: str):
        section, name = dotted.split(".")
        return getattr(getattr(cfg, section), name, None)

    return [f for f in fields if get(old, f) != get(new, f)]


def daemon_elected(socket_path: str) -> str | None:
    """The daemon's elected gateway now (its ``state`` reply), or None if it does not say."""
    try:
        return parse_state(request_blocking(socket_path, STATE, 1.0)).elected
    except (OSError, ValueError) as e:
        log.warning("reload: the daemon's state is unknown (%s)", e)
        return None


def reload_scripts(kernel: Kernel, old: Config, new: Config) -> list[str]:
    """The scripts' side of a reload (checked by the caller): when the generated conf.lua
    differs, the daemon and notifier restart with it, the elected gateway first; otherwise they
    go on untouched. Returns what changed."""
    if to_lua(new) == to_lua(old):
        return []
    restart_scripts(kernel, new, daemon_elected(old.control.socket))
    return ["scripts restarted with the new conf.lua"]


def reload_host(kernel: Kernel, path: str | Path, cfg: Config) -> Config:
    """SIGHUP to ``failover host``: ``path`` read again and applied to the scripts, or refused
    whole (its error logged) with ``cfg`` still running. Returns the config now running."""
    try:
        new = load(path)
    except ConfigError as e:
        log.error("reload refused, the running configuration stays: %s", e)
        return cfg
    fixed = fixed_changes(cfg, new)
    if fixed:
        log.error("reload refused, the running configuration stays: %s cannot change without a restart",
                  ", ".join(fixed))
        return cfg
    changed = reload_scripts(kernel, cfg, new)
    log.info("reloaded %s: %s", path, "; ".join(changed) or "nothing changed for the scripts")
    return new


def serve(cfg: Config, root: str | Path | None = None, stopping: threading.Event | None = None,
          config_path: str | Path | None = None) -> int:
    """Run until SIGINT/SIGTERM (or ``stopping``), then stop the scripts cleanly. With
    ``config_path``, SIGHUP reloads it (:func:`reload_host`)."""
    stopping = stopping or threading.Event()
    hangup = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    if config_path is not None:
        signal.signal(signal.SIGHUP, lambda *_: hangup.set())
    kernel = start(cfg, root)
    try:
        # A signal handler must not restart scripts itself (it runs between any two bytecodes
        # of this thread): it only flags, and this loop reloads within RELOAD_POLL_S.
        while not stopping.wait(RELOAD_POLL_S):
            if hangup.is_set():
                hangup.clear()
                cfg = reload_host(kernel, config_path, cfg)
    finally:
        stop(kernel, cfg)
    return 1 if kernel.errors else 0
