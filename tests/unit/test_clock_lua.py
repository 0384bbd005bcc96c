"""kernel/failover/clock.lua: step-free milliseconds from wall-clock readings (run in the host)."""

import shutil
from pathlib import Path

import pytest

KERNEL = Path(__file__).resolve().parents[2] / "kernel"
HOUR = 3_600_000


@pytest.fixture
def clk(lua):
    (lua.root / "failover").mkdir()
    shutil.copy(KERNEL / "failover" / "clock.lua", lua.root / "failover" / "clock.lua")
    return lua


def reads(clk, walls, max_gap=1010, name="t"):
    """Feed the readings; one printed line per reading: step-free ms, then the step or nil."""
    return clk.run(name=name, source=f"""
        local clock = require("failover.clock")
        local c = clock.new({max_gap})
        for _, wall in ipairs{{{", ".join(map(str, walls))}}} do print(c:read(wall)) end
        print("steps", c.steps)
    """)


def test_follows_the_wall_clock_while_it_runs_evenly(clk):
    assert reads(clk, [5000, 5010, 5030, 6030]) == ["5000", "5010", "5030", "6030", "steps", "0"]


def test_a_backward_step_stops_nothing_and_moves_nothing(clk):
    walls = [10 * HOUR, 10 * HOUR + 10, 9 * HOUR + 10, 9 * HOUR + 20, 9 * HOUR + 1020]
    out = reads(clk, walls)
    assert out[:2] == [str(10 * HOUR), str(10 * HOUR + 10)]
    assert out[2:4] == [str(10 * HOUR + 10), str(-HOUR)]           # the step itself counts as no time
    assert out[4:6] == [str(10 * HOUR + 20), str(10 * HOUR + 1020)]  # then real time again
    assert out[-2:] == ["steps", "1"]


def test_a_forward_step_beyond_the_gap_counts_as_no_time(clk):
    walls = [1000, 1010, 1010 + HOUR, 1020 + HOUR]
    out = reads(clk, walls)
    assert out == ["1000", "1010", "1010", str(HOUR), "1020", "steps", "1"]


def test_a_late_turn_within_the_gap_is_real_time(clk):
    assert reads(clk, [0, 1010, 1011], max_gap=1010)[:3] == ["0", "1010", "1011"]
    assert reads(clk, [0, 1011], max_gap=1010, name="t2")[:2] == ["0", "0"]


def test_now_keeps_time_across_a_shift_of_the_host_clock(clk, tmp_path):
    # The host's clock shift, changed while the runtime runs, is a step to clock.now().
    from failover.host import Kernel
    from failover.host.wallclock import WallClock

    offset = tmp_path / "offset"
    clk.kernel.shutdown()
    clk.kernel = Kernel(clk.root, out=clk.out, err=clk.err, clock=WallClock(offset))
    clk.script("failover/probe", """
        local clock = require("failover.clock")
        local linux = require("linux")
        clock.start(10)
        return function()
            print(clock.now() .. " " .. linux.time() // 1000000)
        end
    """)
    rt = clk.kernel.run("failover/probe")

    def probe():
        start = len(clk.out.getvalue().splitlines())
        rt.resume(clk.kernel.env)
        lines = clk.out.getvalue().splitlines()[start:]
        return lines, [int(x) for x in lines[-1].split()]

    _, (mono0, wall0) = probe()
    for shift in (-HOUR, HOUR):
        offset.write_text(str(shift))
        lines, (mono, wall) = probe()
        assert abs((wall - wall0) - shift) < 1000           # linux.time() did jump
        assert 0 <= mono - mono0 < 1000                       # clock.now() did not
        assert lines[0].startswith("failover: wall clock stepped by ")
        mono0, wall0 = mono, wall - shift
        offset.write_text("0")
        probe()
