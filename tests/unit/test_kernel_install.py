"""`failover kernel install` refuses bad input before it writes anything.

(The install itself, which also turns off ICMP redirects, runs in a namespace:
tests/topotests/installed_wheel/test_installed_wheel.py.)
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

APPLIANCE_CONFIG = Path("/etc/failover/failover.toml")
GOOD = """
[wan]
interface = "wan0"
[failover]
lan_interface = "lan0"
[control]
socket = "{socket}"
{key}
[[gateway]]
name = "alt1"
address = "10.10.0.11"
"""


def kernel_install(tmp: Path, config_text: str) -> tuple[subprocess.CompletedProcess, Path]:
    config = tmp / "failover.toml"
    config.write_text(config_text)
    root = tmp / "lua"
    proc = subprocess.run([sys.executable, "-m", "failover.cli", "kernel", "install", "--root", str(root),
                           "--config", str(config)], capture_output=True, text=True, cwd=tmp, timeout=60)
    return proc, root


def test_bad_config_exits_2_naming_the_field_and_writes_nothing(tmp_path):
    text = GOOD.format(socket=tmp_path / "c.sock", key="").replace('interface = "wan0"', 'interface = "no/slash"')
    proc, root = kernel_install(tmp_path, text)
    assert proc.returncode == 2 and "wan.interface" in proc.stderr, proc.stderr
    assert not root.exists()


def test_unreadable_key_file_exits_2_and_writes_nothing(tmp_path):
    text = GOOD.format(socket=tmp_path / "c.sock", key=f'key_file = "{tmp_path / "missing.key"}"')
    proc, root = kernel_install(tmp_path, text)
    assert proc.returncode == 2 and "control.key_file" in proc.stderr, proc.stderr
    assert not root.exists()


def test_refuses_while_a_daemon_answers_on_the_socket(tmp_path):
    path = tmp_path / "c.sock"
    live = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    live.bind(str(path))
    live.listen()
    try:
        proc, root = kernel_install(tmp_path, GOOD.format(socket=path, key=""))
    finally:
        live.close()
    assert proc.returncode != 0 and "already answers" in proc.stderr, proc.stderr
    assert not root.exists()
    assert path.exists()  # the live daemon's socket was left alone


def test_default_config_is_the_appliance_path_not_the_working_directory(tmp_path):
    if APPLIANCE_CONFIG.exists():
        pytest.skip(f"{APPLIANCE_CONFIG} exists on this machine")
    # A config where the old default pointed (conf/failover.toml under the working directory).
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "failover.toml").write_text(GOOD.format(socket=tmp_path / "c.sock", key=""))
    proc = subprocess.run([sys.executable, "-m", "failover.cli", "conf", "lua"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert proc.returncode == 2 and f"{APPLIANCE_CONFIG}: cannot read" in proc.stderr, proc.stderr
