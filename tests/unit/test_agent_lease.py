"""The agent's lease: an ``up`` lapses unless the router renews it.

The pure core (:class:`failover.agent.Lease`) with explicit times, then a real agent on loopback
whose hooks record what it did (the harness of test_agent_security.py). The namespace version,
with the daemon's refresh renewing the lease and the router dying, is
tests/topotests/gateway_reconcile/test_gateway_reconcile.py.
"""

from __future__ import annotations

import time

import pytest

from failover.agent import Lease

from .test_agent_security import agent_thread, send


def test_lease_lapses_its_length_after_the_last_up() -> None:
    lease = Lease(30)
    assert not lease.lapsed(0)
    lease.told("up", 100.0)
    assert not lease.lapsed(129.9)
    lease.told("up", 120.0)           # a refresh renews
    assert not lease.lapsed(149.9) and lease.lapsed(150.0)
    lease.told("down", 151.0)         # a down ends it: nothing to lapse
    assert not lease.lapsed(1e9)
    lease.told("up", 200.0)
    lease.end()
    assert not lease.lapsed(1e9)


def test_no_lease_never_lapses() -> None:
    lease = Lease(0)
    lease.told("up", 0.0)
    assert lease.deadline is None and not lease.lapsed(1e12)


@pytest.mark.parametrize("seconds", [-1, float("nan"), float("inf")])
def test_bad_lease_is_refused(seconds) -> None:
    with pytest.raises(ValueError, match="lease"):
        Lease(seconds)


def test_agent_applies_down_when_the_lease_lapses(tmp_path) -> None:
    with agent_thread(tmp_path, lease_s=1.0) as a:
        assert send(a.port, b"up\n") == "ok"
        for _ in range(6):                 # renewed every 0.1 s for 0.6 s: never lapses (1 s lease:
                                           # room for a stalled thread on a loaded machine)
            time.sleep(0.1)
            assert send(a.port, b"up\n") == "ok"
        assert a.actions() == ["up"] * 7   # every up is applied again: reconciled, not assumed
        deadline = time.monotonic() + 3
        # The hook's line is written before the agent has reaped the hook and recorded the
        # state: wait for both, never read one in between.
        while (a.actions()[-1:] != ["down"] or a.state != "down") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert a.actions() == ["up"] * 7 + ["down"]
        assert a.control["lapsed"] == 1 and a.state == "down"
        assert send(a.port, b"down\n") == "ok"
        time.sleep(0.5)                    # a down leaves nothing to lapse
        assert a.actions() == ["up"] * 7 + ["down", "down"] and a.control["lapsed"] == 1
