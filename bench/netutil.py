"""Helpers for bench.api_latency and bench.probe_scale: a namespace full of reflector addresses,
code run from a thread inside a namespace, the sidecar's /metrics parsed, a process's CPU time."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from failover.lab.builder import Network
from failover.lab.netns import wait_for
from failover.lab.spec import Iface
from failover.lab.nsocket import run_in

REPO = Path(__file__).resolve().parents[1]


in_netns = run_in  # the bench's name for it


def add_reflectors(nets: Network, role: str, addresses: list[str], prefixlen: int, tmp: Path,
                   *, bridge: str | None = None, router_if: str = "refl0",
                   router_address: str | None = None) -> subprocess.Popen:
    """Namespace ``role`` linked to the router (a port of ``bridge``, or a point-to-point veth with
    ``router_address``), every address on its eth0, one bench.reflectors process serving them all."""
    nets.add(role)
    nets.veth(Iface("router", router_if), Iface(role, "eth0"))
    if bridge:
        nets.ip("router", "link", "set", router_if, "master", bridge)
    elif router_address:
        nets.ip("router", "addr", "add", f"{router_address}/{prefixlen}", "dev", router_if)
    batch = "".join(f"addr add {a}/{prefixlen} dev eth0\n" for a in addresses)
    subprocess.run(["ip", "-n", nets.ns(role), "-batch", "-"], input=batch, text=True, check=True)
    path = tmp / f"{role}-addresses.txt"
    path.write_text("\n".join(addresses))
    log = tmp / f"{role}-reflectors.log"
    proc = nets.spawn(role, [sys.executable, "-m", "bench.reflectors", "--file", str(path)], log=log, cwd=REPO)
    wait_for(lambda: "ready" in log.read_text(), timeout=60, interval=0.1, what="the reflectors")
    return proc


def parse_metrics(text: str) -> dict[str, float]:
    """Sum of each metric family's samples (labels dropped)."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        name = name.split("{", 1)[0]
        try:
            out[name] = out.get(name, 0.0) + float(value)
        except ValueError:
            pass
    return out


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def busy_elsewhere(exclude: set[int], seconds: float = 2.0) -> float:
    """Cores used by processes other than ``exclude`` over a short sample (machine share)."""
    def total() -> tuple[float, float]:
        f = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        vals = list(map(int, f))
        idle = vals[3] + vals[4]
        return sum(vals), idle
    a, ia = total()
    mine0 = sum(_safe_cpu(p) for p in exclude)
    time.sleep(seconds)
    b, ib = total()
    mine1 = sum(_safe_cpu(p) for p in exclude)
    busy = ((b - a) - (ib - ia)) / os.sysconf("SC_CLK_TCK")
    return max(0.0, busy - (mine1 - mine0)) / seconds


def _safe_cpu(pid: int) -> float:
    try:
        return cpu_seconds(pid)
    except OSError:
        return 0.0
