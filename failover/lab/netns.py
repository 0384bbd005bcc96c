"""The shell under the topology engine: run a command (iproute2), list a prefix's namespaces, wait.

What builds namespaces, links and processes is ``builder.py``; what owns and removes them,
``registry.py``.
"""

from __future__ import annotations

import subprocess
import time


class NetnsError(RuntimeError):
    pass


def sh(*argv: str, check: bool = True, timeout: float = 30, input: str | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input)
    if check and proc.returncode != 0:
        raise NetnsError(f"{' '.join(argv)}: exit {proc.returncode}: {proc.stderr.strip()}")
    return proc


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
