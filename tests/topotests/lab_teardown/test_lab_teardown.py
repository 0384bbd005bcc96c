"""A lab's owner tears down after `failover lab down` already did it from another shell.

`make lab` (`failover lab up --foreground`) keeps the registry of what it started; `failover lab
down` in a second shell reopens that registry from pids.json, stops those processes, deletes the
namespaces and removes the state folder. Ctrl-C on `make lab` afterwards must then find nothing
to do, not fail writing pids.json into the folder that is gone (it exited 2 with
FileNotFoundError).

Expected: the second shell's teardown stops the real process (in a real namespace) and deletes
the namespace; the owner's teardown afterwards raises nothing and reports nothing removed.
"""

from __future__ import annotations

import secrets
import shutil
import sys

import pytest

from failover.lab.netns import existing
from failover.lab.registry import Registry, ours

pytestmark = pytest.mark.netns


def test_teardown_after_a_lab_down_from_another_shell(tmp_path):
    prefix = f"aft{secrets.token_hex(2)}"
    state = tmp_path / "state"
    state.mkdir()
    pidfile = state / "pids.json"
    owner = Registry(prefix, pidfile)
    try:
        ns = owner.add_namespace(f"{prefix}-echo")
        # a real lab process (its command line names failover, as `lab down` requires to stop it)
        proc = owner.spawn("echo", ["ip", "netns", "exec", ns, sys.executable, "-m", "failover.cli",
                                    "lab", "echo", "--port", "9000", "--bind", "127.0.0.1"])
        # `failover lab down` in another shell: the registry from the pidfile, then the state folder
        other = Registry.reopen(prefix, pidfile)
        assert other.adopted == {"echo": proc.pid}
        assert f"process echo ({proc.pid})" in other.teardown()
        shutil.rmtree(state)
        assert proc.wait(10) is not None and not ours(proc.pid)
        assert existing(prefix) == []
        # Ctrl-C on the owner: nothing left, nothing raised
        assert owner.teardown() == []
    finally:
        owner.teardown()
        for left in existing(prefix):
            Registry(prefix, namespaces=[left]).teardown()
