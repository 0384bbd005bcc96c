"""kernel/failover/dampening.lua, the failback hold-down, driven by millisecond timestamps."""

import random
import shutil
from pathlib import Path

import pytest

KERNEL = Path(__file__).resolve().parents[2] / "kernel"
CONF = "{penalty = 1000, half_life_ms = 1000, suppress = 3000, reuse = 1500, max_penalty = 6000, min_clean_ms = 200}"


@pytest.fixture
def damp(lua):
    (lua.root / "failover").mkdir()
    shutil.copy(KERNEL / "failover" / "dampening.lua", lua.root / "failover" / "dampening.lua")
    return lua


def run(damp, body):
    return damp.run(f"""
        local dampening = require("failover.dampening")
        local d = dampening.new({CONF})
        {body}
    """)


def test_failback_waits_for_min_clean_time(damp):
    out = run(damp, """
        d:wan(false, 0); d:wan(true, 100)
        print(d:failback(200)); print(d:failback(299)); print(d:failback(300))
    """)
    assert out == ["false", "100", "false", "1", "true"]


def test_no_failback_while_down(damp):
    assert run(damp, "d:wan(false, 0); print(d:failback(10000))") == ["false", "nil"]


def test_repeated_flaps_suppress_until_penalty_decays_below_reuse(damp):
    out = run(damp, """
        local t = 0
        for i = 1, 4 do d:wan(true, t); d:wan(false, t + 100); t = t + 200 end
        d:wan(true, t)
        print(d.flaps, d.suppressed, d:current(t) >= 3000)
        print(d:failback(t + 300))                      -- clean long enough, but suppressed
        local wait = t + 300
        while not d:failback(wait) do wait = wait + 50 end
        print(d:current(wait) < 1500, wait - t > 1000)   -- decayed below reuse, after > 1 half-life
    """)
    assert out[:3] == ["4", "true", "true"]
    assert out[3] == "false"
    assert out[-2:] == ["true", "true"]


def test_penalty_is_capped_so_suppression_ends(damp):
    out = run(damp, """
        local t = 0
        for i = 1, 200 do d:wan(true, t); d:wan(false, t + 50); t = t + 100 end
        print(d:current(t) <= 6000)
        d:wan(true, t)
        print(d:failback(t + 2100))   -- 6000 -> 1500 takes two half-lives
    """)
    assert out == ["true", "true"]


def test_decay_is_integer_and_halves_per_half_life(damp):
    out = run(damp, """
        d:wan(true, 0); d:wan(false, 1)
        print(d:current(500), d:current(1), d:current(1001), d:current(2001))
    """)
    # kernel Lua has no math.type: an integer prints as digits only
    assert out[0].isdigit() and out[1:] == ["1000", "500", "250"]


def test_frequent_queries_do_not_freeze_the_decay(damp):
    """The daemon asks every 10 ms: a long half-life must still decay to reuse."""
    out = damp.run("""
        local dampening = require("failover.dampening")
        local d = dampening.new{penalty = 1000, half_life_ms = 15000, suppress = 3000, reuse = 1500,
                                max_penalty = 12000, min_clean_ms = 1000}
        local t = 0
        for i = 1, 100 do d:wan(true, t); d:wan(false, t + 100); t = t + 300 end
        d:wan(true, t)
        local now = t
        while not d:failback(now) and now < t + 120000 do now = now + 10 end
        print(d:failback(now), (now - t) // 1000)
    """)
    assert out[0] == "true"
    assert 40 <= int(out[1]) <= 50, out  # 12000 -> 1500: three half-lives of 15 s


def flapping_schedule(seed: int, seconds: int = 90) -> list[tuple[int, bool]]:
    """The namespace test's schedule (failover/lab/flapping.py): down 0.1-0.5 s, up 0.1-5 s."""
    rng, t, out = random.Random(seed), 0, []
    while t < seconds * 1000:
        out.append((t, False))
        t += rng.randint(100, 500)
        out.append((t, True))
        t += rng.randint(100, 5000)
    return out


def rule_changes_while_flapping(damp, conf: str, seed: int, name: str) -> int:
    """The daemon's decision (failover at once, failback when dampening allows), asked every
    10 ms over 90 s of flapping: how often the rule would go in or out."""
    events = ", ".join(f"{{{t}, {str(up).lower()}}}" for t, up in flapping_schedule(seed))
    out = damp.run(f"""
        local dampening = require("failover.dampening")
        local d = dampening.new({conf})
        local events, i, failover, changes = {{{events}}}, 1, false, 0
        d:wan(true, -10000)   -- up before the flapping starts
        for now = 0, 90000, 10 do
            while events[i] and events[i][1] <= now do
                local up = events[i][2]
                d:wan(up, events[i][1])
                if not up and not failover then failover, changes = true, changes + 1 end
                i = i + 1
            end
            local raw_up = events[i - 1][2]
            if failover and raw_up and d:failback(now) then failover, changes = false, changes + 1 end
        end
        print(changes)
    """, name=name)
    return int(out[0])


def test_default_dampening_makes_at_most_3_rule_changes_in_90_s_of_flapping(damp):
    from failover.config import Dampening

    d = Dampening()
    conf = (f"{{penalty = {d.penalty}, half_life_ms = {d.half_life_ms}, suppress = {d.suppress}, "
            f"reuse = {d.reuse}, max_penalty = {d.max_penalty}, min_clean_ms = {d.min_clean_ms}}}")
    counts = [rule_changes_while_flapping(damp, conf, seed, f"new{seed}") for seed in range(30)]
    assert max(counts) <= 3, counts
    # the old defaults (suppress 3000, reuse 1500) let the third flap through: 5-9 changes
    old = conf.replace(f"suppress = {d.suppress}", "suppress = 3000").replace(f"reuse = {d.reuse}", "reuse = 1500")
    old_counts = [rule_changes_while_flapping(damp, old, seed, f"old{seed}") for seed in range(30)]
    assert max(old_counts) > 3, old_counts
