"""Where the files the program reads (Lua scripts, example configs) are: found through the package.

A router runs an installed wheel, not a source tree, and a service's working directory is
``/``: nothing here may depend on where the command was started. The source tree keeps
``kernel/`` and ``conf/`` at its top level; ``pyproject.toml`` maps them into the wheel as
``failover/kernel`` and ``failover/conf``. In a source checkout (the editable install of
``make install``) they are found beside the package instead.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _shipped(name: str) -> Path:
    inside = _PACKAGE / name  # an installed wheel
    if inside.is_dir():
        return inside
    beside = _PACKAGE.parent / name  # a source checkout
    if beside.is_dir():
        return beside
    raise FileNotFoundError(f"{name}/ is neither in the package ({inside}) nor beside it ({beside}): a broken install")


def kernel_root() -> Path:
    """The Lunatik script root shipped with the package (``failover/daemon.lua`` etc. below it)."""
    return _shipped("kernel")


def conf_dir() -> Path:
    """The example configurations (``failover.toml``, ``lab.toml``, the systemd unit, alert rules)."""
    return _shipped("conf")

