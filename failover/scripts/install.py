"""``failover kernel install``: the failover scripts and their generated conf.lua for a real Lunatik.

Lunatik loads ``ROOT/failover/daemon.lua`` for ``lunatik spawn failover/daemon`` (ROOT is
``/lib/modules/lua``), and the scripts read ``require("failover.conf")``. Besides the files, the
router needs what ``failover host`` does before it starts the scripts: ICMP redirects off on
the LAN, and the control socket's folder without a stale socket from a crash.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..config import Config
from .conflua import to_lua
from .launch import clear_stale_socket, disable_redirects
from ..package_data import kernel_root

SCRIPTS = "failover"


@dataclass(frozen=True)
class Installed:
    scripts: list[Path]
    conf: Path


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` whole: a reader never sees half a script."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def install(cfg: Config, root: Path) -> Installed:
    # Everything that can refuse comes before the first write: a key file that cannot be read,
    # a daemon still answering on the control socket (stop it first).
    conf = to_lua(cfg).encode()
    clear_stale_socket(cfg.control.socket)
    dest = root / SCRIPTS
    dest.mkdir(mode=0o755, parents=True, exist_ok=True)
    scripts = []
    for src in sorted((kernel_root() / SCRIPTS).glob("*.lua")):
        _write(dest / src.name, src.read_bytes())
        scripts.append(dest / src.name)
    # conf.lua may carry the gateways' shared key: root only.
    _write(dest / "conf.lua", conf, 0o600)
    disable_redirects(cfg.failover.lan_interface)
    return Installed(scripts, dest / "conf.lua")
