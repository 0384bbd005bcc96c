"""``failover replay`` with targets of both families: the IPv4 path check's records (prober
``path``) and the IPv6 one's (``path6``) feed two quorums, and the daemon's decision
(kernel/failover/decision.lua) runs once per family, as kernel/failover/daemon.lua runs it."""

from __future__ import annotations

from failover import config
from failover.core.events import FailoverChanged, PathVerdict, WanChanged
from failover.core.journal import Link, Reply, Send, Tick
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
