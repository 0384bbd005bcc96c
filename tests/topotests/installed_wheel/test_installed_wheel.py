"""The appliance as a router gets it: a wheel installed into a fresh virtualenv, no source tree.

The wheel is built from this tree, installed with pip into a virtualenv in a temporary folder,
and every command runs from an empty working directory with no PYTHONPATH: whatever the program
reads must come from the install.

Expected routing state (router namespace), both scenarios:

    WAN up:            no rule at priority 1000
    WAN carrier lost:  one rule "1000: from all lookup 100"; table 100's default via the
                       elected gateway, which has been told "up" (its forwarding on)
"""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from failover.lab.netns import wait_for

from failover.lab.routerlab import PRIORITY, REPO

KERNEL_SCRIPTS = sorted(p.name for p in (REPO / "kernel" / "failover").glob("*.lua"))


def expected_wheel_files() -> set[str]:
    """Every module and data file the program reads, at its place in the wheel."""
    files = {str(p.relative_to(REPO)) for pkg in ("failover", "api") for p in (REPO / pkg).rglob("*.py")}
    files |= {str(p.relative_to(REPO)) for p in (REPO / "failover" / "host" / "lua").rglob("*.lua")}
    files |= {str(p.relative_to(REPO)) for p in (REPO / "api" / "static").iterdir()}
    files |= {"failover/" + str(p.relative_to(REPO)) for p in (REPO / "kernel").rglob("*") if p.is_file()}
    files |= {f"failover/conf/{name}" for name in ("failover.toml", "lab.toml", "systemd/failover.service",
                                                          "systemd/failover-agent.service", "prometheus/alerts.yml")}
    return {f for f in files if "__pycache__" not in f}


@pytest.fixture(scope="module")
def install(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    # From a clean copy: setuptools reuses an in-tree build/ left by an earlier build.
    source = tmp / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis", "artifacts"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp), str(source)],
                   check=True, cwd=tmp, capture_output=True)
    shutil.rmtree(source)
    (wheel,) = tmp.glob("adaptive_failover-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], check=True, cwd=tmp, capture_output=True)
    empty = tmp / "cwd"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    return wheel, venv, {"cwd": empty, "env": env}


def installed(venv: Path, command: str = "failover") -> str:
    return str(venv / "bin" / command)


def test_wheel_carries_every_file_the_program_reads(install):
    wheel, _, _ = install
    with zipfile.ZipFile(wheel) as z:
        names = {n for n in z.namelist() if ".dist-info/" not in n}
    assert expected_wheel_files() - names == set()


def test_install_runs_from_its_own_files(install):
    _, venv, where = install
    out = subprocess.run([installed(venv, "python"), "-c",
                          "import api.app, failover.host.runtime as r, failover.package_data as p; "
                          "print(p.kernel_root(), r.LIBDIR, api.app.STATIC, sep='\\n')"],
                         check=True, capture_output=True, text=True, **where).stdout.split()
    site = venv.resolve() / "lib"
    assert all(site in Path(p).resolve().parents for p in out), out
    # The example config, the units and the alert rules come out of the package too.
    for name, path in (("example", "failover.toml"), ("systemd", "systemd/failover.service"),
                       ("systemd-agent", "systemd/failover-agent.service"), ("alerts", "prometheus/alerts.yml")):
        out = subprocess.run([installed(venv), "conf", name], check=True, capture_output=True, text=True, **where)
        assert out.stdout == (REPO / "conf" / path).read_text(), name


def test_failover_run_from_the_wheel(install, hb):
    """`failover run` of the install (host, scripts and sidecar with its dashboard) fails over."""
    _, venv, where = install
    topo = hb.topo
    hb.write_config()
    topo.start_host(hb.config_path, cli=[installed(venv)], command="run", **where)
    hb.sidecar = topo.host  # one process: the sidecar answers once `run` has started the scripts
    wait_for(hb._api_ready, timeout=15, what="the sidecar's REST API")
    # The dashboard's files come from the install.
    for path in ("/", "/static/app.js", "/static/style.css"):
        assert hb.http.get(path).status_code == 200, path
    wait_for(hb.all_up, timeout=10, what="both gateways' heartbeats up")
    assert topo.rules() == []

    topo.set_isp(False)
    wait_for(topo.has_failover_rule, what="the failover rule")
    elected = topo.state()["elected"]
    i = topo.gateways.index(elected) + 1
    wait_for(lambda: topo.forwarding(i) == "1", what=f"{elected} told up")
    assert topo.default_via() == elected
    assert [topo.forwarding(j) for j in range(1, len(topo.gateways) + 1) if j != i] == ["0"]
    log = topo.log("host")
    assert not any(bad in log for bad in ("Traceback", " ERROR ", ": error in ")), log


def test_kernel_install_then_lunatik_from_the_wheel(install, topo):
    """`failover kernel install` writes what a real Lunatik loads; those files fail over."""
    _, venv, where = install
    config = topo.config()
    # A socket folder that does not exist yet: kernel install makes it.
    socket = topo.tmp / "run" / "failover" / "control.sock"
    config.write_text(config.read_text().replace(topo.socket_path, str(socket)))
    topo.socket_path = str(socket)
    for scope in ("all", "lan0"):
        topo.nets.sysctl("router", f"net.ipv4.conf.{scope}.send_redirects", 1)
    root = topo.tmp / "lua"

    topo.nets.exec("router", installed(venv), "kernel", "install", "--root", str(root), "--config", str(config))

    scripts = root / "failover"
    assert sorted(p.name for p in scripts.iterdir()) == sorted([*KERNEL_SCRIPTS, "conf.lua"])
    for name in KERNEL_SCRIPTS:
        assert filecmp.cmp(scripts / name, REPO / "kernel" / "failover" / name, shallow=False), name
    conf_lua = subprocess.run([installed(venv), "conf", "lua", "--config", str(config)],
                              check=True, capture_output=True, text=True, **where).stdout
    assert (scripts / "conf.lua").read_text() == conf_lua
    assert (scripts / "conf.lua").stat().st_mode & 0o777 == 0o600
    for scope in ("all", "lan0"):
        assert topo.nets.read_sysctl("router", f"net.ipv4.conf.{scope}.send_redirects") == "0", scope
    assert socket.parent.is_dir()

    # What `lunatik spawn failover/daemon; lunatik run failover/notifier` does on a Lunatik kernel,
    # with conf.lua read from the installed file (no --config).
    topo.host = topo.nets.spawn("router", [installed(venv), "lunatik", "--root", str(root),
                                           "spawn", "failover/daemon", "run", "failover/notifier"],
                                log=topo.tmp / "host.log", **where)
    wait_for(topo._control_ready, timeout=10, what="the daemon's control socket")
    assert topo.rules() == []
    topo.set_isp(False)
    wait_for(topo.has_failover_rule, what="the failover rule")
    wait_for(lambda: topo.forwarding(1) == "1", what="gw1 told up")
    assert topo.default_via() == topo.gateways[0] and topo.forwarding(2) == "0"
    assert topo.nets.ip("router", "rule", "show", "priority", str(PRIORITY)).stdout.count("lookup") == 1
