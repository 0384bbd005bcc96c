"""Network namespaces, veth links and processes inside them, for the lab and the tests.

Thin wrappers over iproute2 (``ip netns``/``ip link``): the commands a person would type, so a
failing set-up step reads like a shell transcript. Everything created is recorded, and
``Namespaces.cleanup`` removes it, processes first, even after a partial set-up.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path


class NetnsError(RuntimeError):
    pass


def sh(*argv: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise NetnsError(f"{' '.join(argv)}: exit {proc.returncode}: {proc.stderr.strip()}")
    return proc


@dataclass
class Namespaces:
    """A set of namespaces named ``<prefix>-<role>``, owned by whoever created them."""

    prefix: str
    names: dict[str, str] = field(default_factory=dict)
    procs: list[subprocess.Popen] = field(default_factory=list)

    def add(self, role: str) -> str:
        name = f"{self.prefix}-{role}"
        sh("ip", "netns", "add", name)
        self.names[role] = name
        self.ip(role, "link", "set", "lo", "up")
        return name

    def ns(self, role: str) -> str:
        return self.names[role]

    def ip(self, role: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return sh("ip", "-n", self.names[role], *args, check=check)

    def exec(self, role: str, *argv: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return sh("ip", "netns", "exec", self.names[role], *argv, check=check, timeout=timeout)

    def veth(self, a: str, a_if: str, b: str, b_if: str, index: tuple[int, int] | None = None) -> None:
        """A veth pair ``a_if`` in namespace ``a`` and ``b_if`` in ``b``, both up."""
        ia, ib = (("index", str(index[0])), ("index", str(index[1]))) if index else ((), ())
        self.ip(a, "link", "add", a_if, *ia, "type", "veth", "peer", "name", b_if, *ib, "netns", self.names[b])
        self.ip(a, "link", "set", a_if, "up")
        self.ip(b, "link", "set", b_if, "up")

    def sysctl(self, role: str, key: str, value: str | int) -> None:
        self.exec(role, "sysctl", "-q", "-w", f"{key}={value}")

    def read_sysctl(self, role: str, key: str) -> str:
        return self.exec(role, "sysctl", "-n", key).stdout.strip()

    def spawn(self, role: str, argv: list[str], log: Path | None = None, **kw) -> subprocess.Popen:
        out = open(log, "ab") if log else subprocess.DEVNULL
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.names[role], *argv],
            stdout=out, stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
            start_new_session=True, **kw,
        )
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10) -> int:
        """Signal a process we started (and its group), wait, then kill if it lingers."""
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if proc in self.procs:
            self.procs.remove(proc)
        return proc.returncode

    def cleanup(self) -> None:
        for proc in reversed(list(self.procs)):
            self.stop(proc, timeout=5)
        for name in reversed(list(self.names.values())):
            sh("ip", "netns", "del", name, check=False)
        self.names.clear()


def existing(prefix: str) -> list[str]:
    """Namespaces left by an earlier run with this prefix (for ``lab down`` after a crash)."""
    out = sh("ip", "netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(prefix + "-")]


def wait_for(predicate, timeout: float = 5.0, interval: float = 0.01, what: str = "condition"):
    """Poll until predicate() is truthy; return its value or raise TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
