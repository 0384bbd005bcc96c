"""A step of the wall clock (linux.time(), the scripts' only clock) during a failover hold
changes no decision.

Expected routing state (expected.toml beside this file): carrier lost → failed over; carrier back →
the rule stays for the hold (`[dampening] min_clean_ms`, 3 s here), then goes and gw1 is told down.
The host's clock is stepped by ±1 h one second into the hold: the rule still goes about 3 s of
real time after the carrier came back: not at once (forward step), not an hour later (backward).
The observer is `ip rule`, polled from outside the daemon, timed with this process's monotonic clock.
"""

import time

import pytest

from failover.lab.netns import wait_for

from failover.lab.routerlab import failover_rule

HOUR_MS = 3_600_000
HOLD_S = 3.0


@pytest.mark.parametrize("step_ms", [HOUR_MS, -HOUR_MS], ids=["forward-1h", "backward-1h"])
def test_clock_step_during_hold_neither_hastens_nor_delays_failback(topo, tmp_path, step_ms, expected):
    topo.clock_offset_file = tmp_path / "clock-offset"
    topo.start_host(topo.config(dampening={"min_clean_ms": int(HOLD_S * 1000)}))
    topo.set_isp(False)
    wait_for(lambda: failover_rule(topo), what="the failover rule")
    wait_for(lambda: topo.forwarding(1) == "1", what="gw1 told up")
    assert topo.routing_is(expected["failed_over"]), topo.routing()

    topo.set_isp(True)
    back = time.monotonic()
    time.sleep(1.0)
    topo.shift_clock(step_ms)
    wait_for(lambda: topo.rules() == [], timeout=HOLD_S + 7, interval=0.02, what="failback")
    held = time.monotonic() - back

    # Not a speed figure: the hold is 3 s of real time, whatever the wall clock did.
    assert HOLD_S - 0.2 < held < HOLD_S + 2, f"failback after {held:.2f} s"
    wait_for(lambda: topo.routing_is(expected["failed_back"]), what="gw1 told down")
    assert "wall clock stepped by" in topo.log("host")
    assert topo.state()["failover"] == "off"
