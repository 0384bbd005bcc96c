"""fib.lua's rule requests on real rtnetlink, with errors worded by a kernel >= 6.7 ("EEXIST")
and by an older one ("(efault)" for every errno): a request that finds the work already done
(the rule already there, or already gone) is no failure, whatever the error string says.

Expected routing state: after set_rule(true), one rule "1000: from all lookup 100"; after
set_rule(false), none. The same for the IPv6 rule (`ip -6 rule`).
"""

import json
import shutil

import pytest

from .test_host_netlink import box, lunatik  # noqa: F401 - the one-namespace fixture and runner
from failover.lab.routerlab import ERROR_STYLES, REPO

FIB = REPO / "kernel" / "failover"


def rules_1000(nets, family="-4"):
    out = nets.ip("box", "-j", family, "rule", "show").stdout
    return [r for r in json.loads(out) if r.get("priority") == 1000]


@pytest.mark.parametrize("family", ["INET", "INET6"])
@pytest.mark.parametrize("style", ERROR_STYLES)
def test_set_rule_twice_each_way_is_no_failure(box, tmp_path, style, family, monkeypatch):
    (tmp_path / "failover").mkdir()
    for name in ("fib.lua", "inet6.lua"):
        shutil.copy(FIB / name, tmp_path / "failover" / name)
    monkeypatch.setenv("FAILOVER_HOST_ERRORS", style)   # as `failover host` would get it
    rc, out, err = lunatik(box, tmp_path, """
        local fib = require("failover.fib")
        local family = require("linux.socket").af.%s
        local f <close> = fib.open{wan = "a0", lan = "a0", table = 100, priority = 1000}
        local rules = require("netlink").rt.rule()
        local rule = {family = family, table = 100, priority = 1000}
        -- what the kernel itself says to a duplicate, in this host's wording
        rules:add(rule)
        print("kernel says", select(2, pcall(rules.add, rules, rule)))
        rules:del(rule)
        for _, want in ipairs{true, true, false, false} do
            print(string.format("set_rule(%%s)", want), pcall(f.set_rule, f, family, want))
        end
        f:set_rule(family, true)
    """ % family)
    assert rc == 0, err
    assert out[:2] == ["kernel says", "EEXIST" if style == "names" else "(efault)"]
    assert out[2:] == ["set_rule(true)", "true", "1", "set_rule(true)", "true", "0",
                       "set_rule(false)", "true", "1", "set_rule(false)", "true", "0"]
    assert [r["table"] for r in rules_1000(box, "-6" if family == "INET6" else "-4")] == ["100"]
    assert rules_1000(box, "-4" if family == "INET6" else "-6") == []
