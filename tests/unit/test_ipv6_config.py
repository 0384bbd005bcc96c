"""IPv6 in the config and in conf.lua: `[[gateway]] address6`, and kernel/failover/inet6.lua, the
scripts' IPv6 address parser (checked against Python's ipaddress)."""

from __future__ import annotations

import ipaddress
import shutil
import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from failover.config import Config
from failover.scripts.conflua import to_lua

KERNEL = Path(__file__).resolve().parents[2] / "kernel"

BASE = """
[wan]
interface = "wan0"
[failover]
lan_interface = "lan0"
[[gateway]]
name = "alt1"
address = "10.10.0.11"
address6 = "FD00:10:0::0011"
[[gateway]]
name = "alt2"
address = "10.10.0.12"
"""


def test_address6_is_optional_canonical_and_in_conf_lua():
    cfg = Config.model_validate(tomllib.loads(BASE))
    assert [g.address6 for g in cfg.gateway] == ["fd00:10::11", None]
    lua = to_lua(cfg)
    assert '{name = "alt1", address = "10.10.0.11", address6 = "fd00:10::11"},' in lua
    assert '{name = "alt2", address = "10.10.0.12", address6 = nil},' in lua
    assert "probe6 = nil" in lua


def test_address6_values_must_be_distinct():
    text = BASE + 'address6 = "fd00:10::11"\n'
    with pytest.raises(ValidationError, match="address6 values must be distinct"):
        Config.model_validate(tomllib.loads(text))


@pytest.fixture
def inet6(lua):
    (lua.root / "failover").mkdir()
    shutil.copy(KERNEL / "failover" / "inet6.lua", lua.root / "failover" / "inet6.lua")
    return lua


GOOD = ["fd00:10::11", "::", "::1", "2001:db8::", "fe80::1:2:3:4", "1:2:3:4:5:6:7:8", "1::8",
        "FD00:0:0:0:0:0:0:1", "0:0:0:0:0:0:0:0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "1:2:3:4:5:6:7::"]
BAD = ["", "10.10.0.11", "fd00::1::2", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "12345::", "g::1", ":1::",
       "1::2:", ":::", "::ffff:1.2.3.4", "fd00:10::11 ", "1:2:3:4:5:6:7:8::"]


def test_pton_agrees_with_ipaddress(inet6):
    lines = "\n".join(f'print(h(inet6.pton("{a}")))' for a in GOOD + BAD)
    out = inet6.run(f"""
        local inet6 = require("failover.inet6")
        local function h(b)
            if not b then return "nil" end
            return (b:gsub(".", function(c) return string.format("%02x", c:byte()) end))
        end
        {lines}
    """)
    want = [ipaddress.IPv6Address(a).packed.hex() for a in GOOD] + ["nil"] * len(BAD)
    assert out == want


@pytest.mark.parametrize("address,length", [("fd00:10::1", 64), ("2001:db8:10:ff::1", 56), ("fd00::1", 0),
                                            ("fd00::1", 128), ("2001:db8:abcd:1234::", 13)])
def test_prefix_clears_the_host_bits(inet6, address, length):
    out = inet6.run(f"""
        local inet6 = require("failover.inet6")
        local p = inet6.prefix(inet6.pton("{address}"), {length})
        print((p:gsub(".", function(c) return string.format("%02x", c:byte()) end)))
    """)
    assert out == [ipaddress.IPv6Network(f"{address}/{length}", strict=False).network_address.packed.hex()]
