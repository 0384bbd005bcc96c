"""conf/systemd/*.service, checked by systemd itself (`systemd-analyze verify`).

verify exits 0 even for an unknown key or a bad value (it only warns), so any output fails
the test. ExecStart points at the install path of README's "Install on a router"
(/opt/failover); verify insists the program exists, so the copy checked here points at this
environment's `failover`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "conf" / "systemd"
INSTALLED = "/opt/failover/bin/failover"


def verify(tmp_path: Path, text: str, name: str = "failover.service") -> subprocess.CompletedProcess:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.fail("systemd-analyze is missing: apt-get install systemd (.ci/run does)")
    here = Path(sys.executable).with_name("failover")
    unit = tmp_path / name
    unit.write_text(text.replace(INSTALLED, str(here)))
    return subprocess.run([tool, "verify", str(unit)], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("unit, command", [("failover.service", "run --config /etc/failover/failover.toml"),
                                           ("failover-agent.service", "agent $AGENT_OPTIONS")])
def test_unit_passes_systemd_analyze_verify(tmp_path, unit, command):
    text = (UNITS / unit).read_text()
    assert f"ExecStart={INSTALLED} {command}" in text
    proc = verify(tmp_path, text, unit)
    assert proc.returncode == 0 and not (proc.stdout + proc.stderr).strip(), proc.stdout + proc.stderr


@pytest.mark.parametrize("broken", ["ProtectHom=yes", "Restart=sometimes", "Type=forked"])
def test_verify_catches_a_broken_unit(tmp_path, broken):
    """The check above can fail: a typo in a key, a value systemd rejects."""
    text = (UNITS / "failover.service").read_text().replace("[Service]\n", f"[Service]\n{broken}\n", 1)
    proc = verify(tmp_path, text)
    assert proc.returncode != 0 or (proc.stdout + proc.stderr).strip()

