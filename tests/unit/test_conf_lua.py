"""conf.lua (failover/scripts/conflua.py) carries every field the failover scripts read, and the
scripts hold no default of their own: failover/config.py is the one place a default is set."""

from __future__ import annotations

import re
from pathlib import Path

import lupa.lua55 as lua55

from failover.config import parse
from failover.scripts.conflua import to_lua

KERNEL = Path(__file__).resolve().parents[2] / "kernel" / "failover"
SITE = """
[wan]
interface = "wan0"
[failover]
lan_interface = "lan0"
[[gateway]]
name = "alt1"
address = "10.10.0.11"
"""


#: ``conf.<field>`` read from the generated module (not ``damp.conf.<field>``, another table).
READ = re.compile(r"(?<![\w.])conf\.([a-z_]+)")
#: ``conf.<field> or <a literal, a table or a CONSTANT>``: a default of the script's own.
FALLBACK = re.compile(r"(?<![\w.])conf\.[a-z_.]+\s+or\s+(?:\{|\d|\"|'|[A-Z_]+\b)")


def _code(path: Path) -> str:
    """The script without its comments (which name conf.lua and its fields in prose)."""
    return re.sub(r"--\[(=*)\[.*?\]\1\]|--[^\n]*", "", path.read_text(), flags=re.S)


def _generated(toml: str = SITE):
    return lua55.LuaRuntime().execute(to_lua(parse(toml)))


def test_every_field_the_scripts_read_is_generated():
    conf = _generated()
    top = set(conf.keys())
    damp = set(conf["dampening"].keys())
    read = {m for p in KERNEL.glob("*.lua") if p.name != "dampening.lua" for m in READ.findall(_code(p))}
    # dampening.lua is handed the dampening table as its own ``conf`` (``self.conf``)
    read_damp = set(re.findall(r"\bconf\.([a-z_]+)", _code(KERNEL / "dampening.lua")))
    # probe and key are nil when off (no path check, no gateway key): written, not defaulted
    assert read - top <= {"probe", "key"} and {"probe", "key"} <= set(to_lua(parse(SITE)).split())
    assert read_damp - damp == set()
    assert read and read_damp


def test_the_scripts_have_no_fallback_for_a_conf_field():
    fallbacks = {p.name: FALLBACK.findall(_code(p)) for p in KERNEL.glob("*.lua")}
    assert {k: v for k, v in fallbacks.items() if v} == {}
