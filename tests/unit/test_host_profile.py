"""The host's profile: chosen once from the command line's switches, it decides which modules
``require`` finds (the talk era adds ``fib``, rcu's registry and notifier's old names) and the
few behaviours Lunatik 3 had (strings in rcu tables, ``_ENV`` included; a thread started while a
script loads). Each case runs the same script under both profiles and expects the difference."""

import pytest

from failover.host import Api, ErrorStyle, Profile

BOTH = """
    local rcu, lunatik, notifier = require("rcu"), require("lunatik"), require("notifier")
    print(pcall(function() lunatik._ENV.addr = "10.0.0.1" end))
    print(pcall(function() rcu.table(4).addr = "10.0.0.1" end))
    local n = notifier.netdevice(function() end)
    print(type(n.delete), type(n.stop))
    print(pcall(require("thread").run, lunatik.runtime("body"), "early"))
"""


def test_current_api_refuses_what_lunatik_3_allowed(lua):
    lua.script("body", "return function() end")
    out = lua.run(BOTH)
    assert out == ["false", "bad argument #3 to '__newindex' (unsupported type)",
                   "false", "bad argument #3 to '__newindex' (unsupported type)",
                   "nil", "function",
                   "false", "not allowed during module load"]


def test_talk_profile_allows_what_its_script_does(talk_lua):
    talk_lua.script("body", "return function() end")
    out = talk_lua.run(BOTH)
    assert out[:5] == ["true", "true", "function", "function", "true"]
    assert talk_lua.kernel.env.get(b"addr") == b"10.0.0.1"


def test_profile_from_the_command_line_switches(monkeypatch):
    monkeypatch.delenv("FAILOVER_HOST_ERRORS", raising=False)
    assert Profile.choose() == Profile(Api.CURRENT, ErrorStyle.NAMES)
    assert Profile.choose(talk=True, errors="pre-6.7") == Profile(Api.TALK, ErrorStyle.PRE_6_7)
    monkeypatch.setenv("FAILOVER_HOST_ERRORS", "pre-6.7")
    assert Profile.choose(talk=True).errors is ErrorStyle.PRE_6_7     # the environment's, when not given
    assert Profile.choose(errors="names").errors is ErrorStyle.NAMES   # the switch wins
    with pytest.raises(ValueError, match="error style"):
        Profile(errors="6.1")
