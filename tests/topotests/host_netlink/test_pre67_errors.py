"""fib.lua's rule requests on real rtnetlink, with errors worded by a kernel >= 6.7 ("EEXIST")
and by an older one ("(efault)" for every errno): a request that finds the work already done
(the rule already there, or already gone) is no failure, whatever the error string says.

Expected routing state: after set_rule(true), one rule "1000: from all lookup 100"; after
set_rule(false), none.
"""

import json
import shutil

import pytest

from .test_host_netlink import box, lunatik  # noqa: F401 - the one-namespace fixture and runner
from failover.lab.routerlab import ERROR_STYLES, REPO

FIB = REPO / "kernel" / "failover" / "fib.lua"


def rules_1000(nets):
    out = nets.ip("box", "-j", "-4", "rule", "show").stdout
    return [r for r in json.loads(out) if r.get("priority") == 1000]


@pytest.mark.parametrize("style", ERROR_STYLES)
def test_set_rule_twice_each_way_is_no_failure(box, tmp_path, style, monkeypatch):
    (tmp_path / "failover").mkdir()
    shutil.copy(FIB, tmp_path / "failover" / "fib.lua")
    monkeypatch.setenv("FAILOVER_HOST_ERRORS", style)   # as `failover host` would get it
    rc, out, err = lunatik(box, tmp_path, """
        local fib = require("failover.fib")
        local f <close> = fib.open{wan = "a0", lan = "a0", table = 100, priority = 1000}
        local rules = require("netlink").rt.rule()
        -- what the kernel itself says to a duplicate, in this host's wording
        rules:add{table = 100, priority = 1000}
        print("kernel says", select(2, pcall(rules.add, rules, {table = 100, priority = 1000})))
        rules:del{table = 100, priority = 1000}
        for _, want in ipairs{true, true, false, false} do
            print(string.format("set_rule(%s)", want), pcall(f.set_rule, f, want))
        end
        f:set_rule(true)
    """)
    assert rc == 0, err
    assert out[:2] == ["kernel says", "EEXIST" if style == "names" else "(efault)"]
    assert out[2:] == ["set_rule(true)", "true", "1", "set_rule(true)", "true", "0",
                       "set_rule(false)", "true", "1", "set_rule(false)", "true", "0"]
    assert [r["table"] for r in rules_1000(box)] == ["100"]
