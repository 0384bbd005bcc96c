"""The one owner of everything a topology created: its namespaces and the pid of every process.

``teardown`` stops each process it started (its whole process group: SIGTERM, then SIGKILL after a
grace period) and deletes every namespace, which takes the links, addresses, routes, rules and
nftables tables inside with it. It runs after a partial build as after a full one.

With a ``pidfile`` the registry is also written to disk, so ``failover lab down`` in another
process (or after a crash) stops exactly those pids: one still ours is told by its command line
(a pid may have been reused since).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .netns import existing, sh


def ours(pid: int) -> bool:
    """Alive and still one of the commands a topology starts (``failover ...``, ``python -m bench....``)."""
    for _ in range(20):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            with open(f"/proc/{pid}/stat") as f:
                zombie = f.read().rsplit(")", 1)[1].split()[0] == "Z"
        except OSError:
            return False
        if cmdline or zombie:
            break
        # Empty while the process is in execve (`ip netns exec` becoming the command): a
        # `lab down` at that moment must not take it for someone else's and leave it running.
        time.sleep(0.005)
    return not zombie and (b"failover" in cmdline or b"\0bench." in cmdline)


@dataclass
class Registry:
    prefix: str
    pidfile: Path | None = None
    namespaces: list[str] = field(default_factory=list)
    children: dict[str, subprocess.Popen] = field(default_factory=dict)
    adopted: dict[str, int] = field(default_factory=dict)  # pids read from the pidfile: not our children

    @classmethod
    def reopen(cls, prefix: str, pidfile: Path) -> Registry:
        """The registry of a topology built by another process: its pidfile, its prefix's namespaces."""
        try:
            pids = {k: int(v) for k, v in json.loads(pidfile.read_text()).items()}
        except (OSError, ValueError):
            pids = {}
        return cls(prefix, pidfile, namespaces=existing(prefix), adopted=pids)

    # -- namespaces ---------------------------------------------------------------------------

    def add_namespace(self, name: str) -> str:
        sh("ip", "netns", "add", name)
        self.namespaces.append(name)
        return name

    # -- processes ----------------------------------------------------------------------------

    def pids(self) -> dict[str, int]:
        return {**self.adopted, **{name: p.pid for name, p in self.children.items()}}

    def spawn(self, name: str, argv: list[str], *, log: Path | None = None, **popen) -> subprocess.Popen:
        """Start ``argv`` in a session of its own (so its group can be signalled) and record it."""
        if name in self.children and self.children[name].poll() is None:
            raise RuntimeError(f"process {name} is running already (pid {self.children[name].pid})")
        out = open(log, "ab") if log else subprocess.DEVNULL
        try:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **popen)
        finally:
            if log:
                out.close()
        self.children[name] = proc
        self._save()
        return proc

    def running(self, name: str) -> bool:
        if name in self.children:
            return self.children[name].poll() is None
        return name in self.adopted and ours(self.adopted[name])

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 10) -> int | None:
        """Signal process ``name`` (its group), wait, SIGKILL it if it lingers; its exit status
        (None for one adopted from the pidfile, whose status is its parent's to collect)."""
        proc = self.children.pop(name, None)
        pid = self.adopted.pop(name, None)
        rc = None
        if proc is not None:
            if proc.poll() is None:
                _killpg(proc.pid, sig)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    _killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            rc = proc.returncode
        elif pid is not None and ours(pid):
            _killpg(pid, sig)
            deadline = time.monotonic() + timeout
            while ours(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if ours(pid):
                _killpg(pid, signal.SIGKILL)
        self._save()
        return rc

    def _save(self) -> None:
        if self.pidfile is None:
            return
        try:
            self.pidfile.write_text(json.dumps(self.pids()))
        except FileNotFoundError:
            # The state folder is gone: `lab down` from another shell took the lab (and this
            # file) already; there is nothing left to record.
            pass

    # -- teardown -----------------------------------------------------------------------------

    def teardown(self) -> list[str]:
        """Stop every process (last started first), delete every namespace; say what went."""
        gone = []
        for name, pid in reversed(list(self.pids().items())):
            if self.running(name):
                gone.append(f"process {name} ({pid})")
            self.stop(name, timeout=5)
        for ns in reversed(self.namespaces):
            # one deleted by another process (`lab down` elsewhere) is not reported as removed here
            if sh("ip", "netns", "del", ns, check=False).returncode == 0:
                gone.append(f"namespace {ns}")
        self.namespaces.clear()
        return gone


def _killpg(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
