"""``failover replay`` with targets of both families: the IPv4 path check's records (prober
``path``) and the IPv6 one's (``path6``) feed two quorums, and the daemon's decision
(kernel/failover/decision.lua) runs once per family, as kernel/failover/daemon.lua runs it."""

from __future__ import annotations

from failover import config
from failover.core.events import (ElectionChanged, FailoverChanged, GatewayStatusChanged, Ipv6ServerChanged, PathVerdict,
                                  WanChanged)
from failover.core.journal import Elect, Link, Reply, Send, Tick
from failover.sidecar.replay import Replay

MS = 1_000_000
T0 = 1_800_000_000 * 1_000_000_000
V4, V6 = "203.0.113.1", "fd00:203:0:113::1"


def cfg(targets: str, address6: bool = True) -> config.Config:
    return config.parse(f"""
[wan]
interface = "wan0"
{targets}
[failover]
lan_interface = "lan0"
[[gateway]]
name = "gw1"
address = "10.10.0.11"
{'address6 = "fd00:10::11"' if address6 else ''}
""")


BOTH = f'[[wan.target]]\naddress = "{V4}"\nkind = "stamp"\n[[wan.target]]\naddress = "{V6}"\nkind = "stamp"\n'


def run(c: config.Config, silent: dict[str, int], until_ms: int = 1500) -> Replay:
    """Both targets probed every 5 ms and answering in 1 ms, each until its ``silent`` time."""
    replay = Replay(c)
    replay.feed(Link(T0, True, True))
    seq = {"path": 0, "path6": 0}
    for ms in range(0, until_ms, 5):
        t = T0 + ms * MS
        for p, a in (("path", V4), ("path6", V6)):
            if a not in {x.address for x in c.wan.targets}:
                continue
            replay.feed(Tick(t, p))
            replay.feed(Send(t, p, a, seq[p]))
            if ms < silent.get(p, until_ms):
                replay.feed(Reply(t + MS, p, a, seq[p], t, t, t))
            seq[p] += 1
    return replay


def kinds(replay: Replay) -> list[tuple[str, str, bool]]:
    out = []
    for e in replay.events:
        if isinstance(e, PathVerdict):
            out.append(("path", e.family, e.up))
        elif isinstance(e, FailoverChanged):
            out.append(("failover", e.family, e.active))
        elif isinstance(e, WanChanged):
            out.append(("wan", e.family, e.up))
    return out


def test_an_ipv6_blackout_moves_ipv6_only():
    got = kinds(run(cfg(BOTH), {"path6": 500}))
    assert ("failover", "ipv6", True) in got and ("path", "ipv6", False) in got
    assert ("failover", "ipv4", True) not in got and ("path", "ipv4", False) not in got
    assert ("wan", "ipv4", False) not in got


def test_an_ipv4_blackout_moves_ipv4_only():
    got = kinds(run(cfg(BOTH), {"path": 500}))
    assert ("failover", "ipv4", True) in got and ("path", "ipv4", False) in got
    assert ("failover", "ipv6", True) not in got and ("path", "ipv6", False) not in got


def test_a_family_without_targets_follows_the_other():
    only4 = f'[[wan.target]]\naddress = "{V4}"\nkind = "stamp"\n'
    got = kinds(run(cfg(only4), {"path": 500}))
    assert ("failover", "ipv4", True) in got and ("failover", "ipv6", True) in got


def test_without_a_gateway_address6_ipv6_never_fails_over():
    got = kinds(run(cfg(BOTH, address6=False), {"path6": 500}))
    assert ("path", "ipv6", False) in got and not any(k == "failover" for k, *_ in got)


def test_the_ipv6_verdict_names_its_family():
    replay = run(cfg(BOTH), {"path6": 500})
    down = next(e for e in replay.events if isinstance(e, PathVerdict) and not e.up)
    assert down.message.startswith("path6 down: IPv6 path check via wan0: 0 of 1 targets up")
    on = next(e for e in replay.events if isinstance(e, FailoverChanged))
    assert on.message.startswith("failover6 on via gw1 10.10.0.11") and "rule6 present" in on.message


# -- the gateways' IPv6 heartbeats (prober ``gw``, by address6) and the gateway serving IPv6 -----

GATEWAYS = (("gw1", "10.10.0.11", "fd00:10::11"), ("gw2", "10.10.0.12", "fd00:10::12"))


def gateways_cfg(address6: bool) -> config.Config:
    gws = "".join(f'[[gateway]]\nname = "{n}"\naddress = "{a}"\n' + (f'address6 = "{a6}"\n' if address6 else "")
                  for n, a, a6 in GATEWAYS)
    return config.parse(f'[wan]\ninterface = "wan0"\n[failover]\nlan_interface = "lan0"\n'
                        f'[election]\nhold_ms = 600000\n{gws}')


def heartbeats(c: config.Config, silent: dict[str, int], until_ms: int = 1500) -> Replay:
    """Every heartbeat target in ``c`` probed every 10 ms, answering in 1 ms until its ``silent``
    time; the election every 50 ms, as the core records them."""
    replay = Replay(c)
    addresses = [g.address for g in c.gateway] + [g.address6 for g in c.gateway if g.address6]
    seq = dict.fromkeys(addresses, 0)
    for ms in range(0, until_ms, 10):
        t = T0 + ms * MS
        replay.feed(Tick(t, "gw"))
        for a in addresses:
            replay.feed(Send(t, "gw", a, seq[a]))
            if ms < silent.get(a, until_ms):
                replay.feed(Reply(t + MS, "gw", a, seq[a], t, t, t))
            seq[a] += 1
        if ms % 50 == 0:
            replay.feed(Elect(t + 2 * MS, ms * MS))
    return replay


def test_a_dead_ipv6_heartbeat_moves_the_ipv6_server_only():
    replay = heartbeats(gateways_cfg(True), {"fd00:10::11": 500})
    down = [e for e in replay.events if isinstance(e, GatewayStatusChanged) and e.status == "down"]
    assert [e.address for e in down] == ["fd00:10::11"]
    moves = [(e.name, e.elected) for e in replay.events if isinstance(e, Ipv6ServerChanged)]
    assert moves == [("gw1", True), ("gw2", False)]
    assert [e.name for e in replay.events if isinstance(e, ElectionChanged)] == ["gw1"]
    assert replay.skipped == 0


def test_a_journal_without_ipv6_heartbeats_replays_as_before():
    replay = heartbeats(gateways_cfg(False), {"10.10.0.11": 500})
    assert not [e for e in replay.events if isinstance(e, Ipv6ServerChanged)]
    assert [e.name for e in replay.events if isinstance(e, ElectionChanged)] == ["gw1", "gw2"]
