"""The path check's targets in the config: ``[[wan.target]]``, ``reliability``, ``wan.probe``.

Each refused case goes through the real CLI (`failover conf lua`): exit 2, a message naming the
field, nothing written."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from failover import config
from failover.config import WanTarget
from failover.scripts.conflua import to_lua
from failover.lab.routerlab import REPO

TAIL = """
[failover]
lan_interface = "lan0"

[[gateway]]
name = "alt1"
address = "10.10.0.11"
"""

CONTRACT = """
[wan]
interface = "wan0"
reliability = 2

[[wan.target]]
address = "203.0.113.1"
kind = "stamp"
interval_ms = 5

[[wan.target]]
address = "192.0.2.53"
kind = "icmp"
""" + TAIL


def wan(body: str) -> str:
    return '[wan]\ninterface = "wan0"\n' + body + TAIL


def target(address: str, kind: str, interval: int | None = None) -> str:
    line = f"\ninterval_ms = {interval}" if interval is not None else ""
    return f'\n[[wan.target]]\naddress = "{address}"\nkind = "{kind}"{line}\n'


def test_the_contract_example_parses():
    cfg = config.parse(CONTRACT)
    assert cfg.wan.targets == [WanTarget(address="203.0.113.1", kind="stamp", interval_ms=5),
                               WanTarget(address="192.0.2.53", kind="icmp", interval_ms=100)]
    assert cfg.wan.quorum == 2


def test_probe_means_one_stamp_target_at_its_interval():
    cfg = config.parse(wan('probe = "203.0.113.1"\nprobe_interval_ms = 7\n'))
    assert cfg.wan.targets == [WanTarget(address="203.0.113.1", kind="stamp", interval_ms=7)]
    assert cfg.wan.quorum == 1


@pytest.mark.parametrize("n,quorum", [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3)])
def test_default_reliability_is_one_then_a_majority(n, quorum):
    body = "".join(target(f"192.0.2.{i + 1}", "icmp") for i in range(n))
    assert config.parse(wan(body)).wan.quorum == quorum


def test_no_target_means_no_path_check():
    cfg = config.parse(wan(""))
    assert cfg.wan.targets == [] and "probe = nil" in to_lua(cfg)


def test_defaults_by_kind_and_the_lua_flag():
    cfg = config.parse(wan(target("192.0.2.1", "stamp") + target("192.0.2.2", "icmp") + target("192.0.2.3", "icmp", 20)))
    assert [t.interval_ms for t in cfg.wan.targets] == [5, 100, 20]
    assert 'probe = "192.0.2.1"' in to_lua(cfg)  # the scripts' "a path check runs"


def test_ipv6_targets_judge_the_ipv6_path_on_their_own():
    cfg = config.parse(wan(target("203.0.113.1", "stamp") + target("192.0.2.53", "icmp") + target("192.0.2.54", "icmp")
                           + target("2001:DB8:1::1", "stamp") + target("fd00:53::1", "icmp")))
    assert [(t.address, t.family) for t in cfg.wan.targets] == [
        ("203.0.113.1", "ipv4"), ("192.0.2.53", "ipv4"), ("192.0.2.54", "ipv4"),
        ("2001:db8:1::1", "ipv6"), ("fd00:53::1", "ipv6")]
    assert cfg.wan.families == ["ipv4", "ipv6"]
    # The default: each family's own majority.
    assert (cfg.wan.quorum_of("ipv4"), cfg.wan.quorum_of("ipv6")) == (2, 2)
    lua = to_lua(cfg)
    assert 'probe = "203.0.113.1"' in lua and 'probe6 = "2001:db8:1::1"' in lua  # both families judged


def test_an_explicit_reliability_holds_for_each_family():
    cfg = config.parse(wan("reliability = 1\n" + target("192.0.2.1", "icmp") + target("192.0.2.2", "icmp")
                           + target("2001:db8::1", "icmp")))
    assert (cfg.wan.quorum_of("ipv4"), cfg.wan.quorum_of("ipv6")) == (1, 1)


def test_ipv6_targets_only():
    cfg = config.parse(wan("reliability = 2\n" + target("2001:db8::1", "icmp") + target("2001:db8::2", "icmp")))
    assert cfg.wan.families == ["ipv6"] and cfg.wan.quorum_of("ipv6") == 2
    lua = to_lua(cfg)
    assert "probe = nil" in lua and 'probe6 = "2001:db8::1"' in lua


REFUSED = [
    ("probe and targets", wan('probe = "203.0.113.1"\n' + target("192.0.2.53", "icmp")), "wan.target"),
    ("reliability above the targets", wan("reliability = 3\n" + target("192.0.2.1", "icmp") + target("192.0.2.2", "icmp")),
     "wan.reliability"),
    ("reliability above the probe", wan('probe = "203.0.113.1"\nreliability = 2\n'), "wan.reliability"),
    ("reliability without targets", wan("reliability = 1\n"), "wan.reliability"),
    ("reliability zero", wan("reliability = 0\n" + target("192.0.2.1", "icmp")), "wan.reliability"),
    ("reliability quoted", wan('reliability = "1"\n' + target("192.0.2.1", "icmp")), "wan.reliability"),
    ("unknown kind", wan(target("192.0.2.1", "icmp") + target("192.0.2.2", "tcp")), "wan.target.1.kind"),
    ("icmp below 20 ms", wan(target("192.0.2.1", "icmp", 19)), "wan.target.0.interval_ms"),
    ("interval zero", wan(target("192.0.2.1", "stamp", 0)), "wan.target.0.interval_ms"),
    ("not an address", wan(target("2001:db8::1::2", "icmp")), "wan.target.0.address"),
    ("IPv6 link-local", wan(target("fe80::1", "icmp")), "wan.target.0.address"),
    ("IPv6 link-local with zone", wan(target("fe80::1%wan0", "stamp")), "wan.target.0.address"),
    ("IPv6 multicast", wan(target("ff02::1", "icmp")), "wan.target.0.address"),
    ("IPv6 loopback", wan(target("::1", "icmp")), "wan.target.0.address"),
    ("IPv6 written twice", wan(target("2001:db8::1", "icmp") + target("2001:DB8:0::1", "stamp")), "wan.target"),
    ("reliability above one family's targets",
     wan("reliability = 2\n" + target("192.0.2.1", "icmp") + target("192.0.2.2", "icmp") + target("2001:db8::1", "icmp")),
     "wan.reliability"),
    ("icmp below 20 ms on IPv6", wan(target("2001:db8::1", "icmp", 19)), "wan.target.0.interval_ms"),
    ("no kind", wan('\n[[wan.target]]\naddress = "192.0.2.1"\n'), "wan.target.0.kind"),
    ("no address", wan('\n[[wan.target]]\nkind = "icmp"\n'), "wan.target.0.address"),
    ("unknown key", wan(target("192.0.2.1", "icmp") + "port = 7\n"), "wan.target.0.port"),
    ("same address twice", wan(target("192.0.2.1", "icmp") + target("192.0.2.1", "stamp")), "wan.target"),
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("targets")
    paths = {}
    for i, (name, text, _) in enumerate(REFUSED):
        paths[name] = tmp / f"case{i}.toml"
        paths[name].write_text(text)

    def run(path):
        return subprocess.run([sys.executable, "-m", "failover.cli", "conf", "lua", "--config", str(path)],
                              capture_output=True, text=True, cwd=REPO, timeout=60)

    with ThreadPoolExecutor(8) as pool:
        return dict(zip(paths, pool.map(run, paths.values())))


@pytest.mark.parametrize("name,text,field", REFUSED, ids=[c[0] for c in REFUSED])
def test_refused_with_exit_2_naming_the_field(runs, name, text, field):
    r = runs[name]
    assert r.returncode == 2, f"exit {r.returncode}\n{r.stderr[-800:]}"
    assert f"{field}:" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_the_shipped_examples_targets_parse_when_uncommented():
    shipped = (REPO / "conf" / "failover.toml").read_text()
    text = "\n".join(line[2:] if line.startswith(("# reliability", "# [[wan.target]]", "# address", "# kind",
                                                  "# interval_ms")) else line
                     for line in shipped.splitlines())
    cfg = config.parse(text)
    assert [(t.address, t.kind, t.interval_ms) for t in cfg.wan.targets] == [
        ("1.1.1.1", "icmp", 100), ("9.9.9.9", "icmp", 100), ("8.8.8.8", "icmp", 100)]
    assert cfg.wan.quorum == 2
