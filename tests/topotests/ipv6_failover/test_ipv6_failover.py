"""IPv6 failover beside IPv4, with the daemon and notifier in the user-space host, on the
dual-stack router topology (routerlab ``ipv6=True``). Every routing state is read with `ip` and
from the kernel's own notifications (failover.lab.rulewatch.FibWatch), never from the daemon.

Expected routing state, per scenario (P = 1000, T = 100, gw1 elected, both gateways with address6):

    WAN up:               no rule at P in either family; IPv6 table 100 kept ready =
                          { fd00:10::/64 dev lan0, 2001:db8:10::/64 dev lan0, default via fd00:10::11 dev lan0 }
    WAN carrier lost:     one IPv4 rule "1000: from all lookup 100" and one IPv6 rule "1000: from all
                          lookup 100"; IPv6 table 100 as above; gw1 told up
    path6 down (no IPv6 targets of its own, IPv4 path up):
                          the IPv6 rule only; no IPv4 rule at P, ever; gw1 told up (it serves IPv6)
    path down (no IPv6 targets: IPv6 follows IPv4):
                          both rules
    elect fd00:10::12:    elected=10.10.0.12; after carrier loss IPv6 default via fd00:10::12, gw2 up
    gw1 without address6: IPv4 default via 10.10.0.11, IPv6 default via fd00:10::12; gw1 and gw2 up
    no address6 at all:   IPv6 left alone: no IPv6 rule, nothing in IPv6 table 100
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from failover.lab.netns import wait_for

from failover.lab.routerlab import ERROR_STYLES, LAN6_PREFIXES, PRIORITY, TABLE, gateway_address6
from failover.lab.rulewatch import FibWatch

GW1_6, GW2_6 = gateway_address6(1), gateway_address6(2)


def expected_table6(via: str) -> list[tuple[str, str | None, str]]:
    """`ip -6 route show table 100` while IPv6 is failed over, as (dst, gateway, dev), sorted."""
    return sorted([(p, None, "lan0") for p in LAN6_PREFIXES] + [("default", via, "lan0")],
                  key=lambda r: r[0])


EXPECTED_RULE6 = [{"priority": PRIORITY, "src": "all", "table": str(TABLE)}]


def rules(topo, family: str) -> list[dict]:
    out = topo.nets.ip("router", "-j", family, "rule", "show").stdout
    return [{k: r.get(k) for k in ("priority", "src", "table")} for r in json.loads(out)
            if r.get("priority") == PRIORITY]


def table6(topo) -> list[tuple[str, str | None, str]]:
    proc = topo.nets.ip("router", "-j", "-6", "route", "show", "table", str(TABLE), check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        return []
    return sorted(((r["dst"], r.get("gateway"), r.get("dev")) for r in json.loads(proc.stdout)),
                  key=lambda r: r[0])


def watched_table6(topo, watch: FibWatch) -> list[tuple[str, str | None, str]]:
    """The listener's IPv6 table 100, in the same form (interface names from their indexes)."""
    names = {link["ifindex"]: link["ifname"] for link in json.loads(topo.nets.ip("router", "-j", "link").stdout)}
    return sorted(((dst, gw, names.get(oif)) for dst, gw, oif in watch.snapshot()[2]), key=lambda r: r[0])


@pytest.fixture
def dual(topo6):
    """The dual-stack topology, the listener started before the daemon, closed afterwards."""
    with FibWatch(topo6.nets.ns("router")) as watch:
        topo6.watch = watch
        yield topo6


def config6(topo, address6: dict[int, str | None] | None = None) -> Path:
    """The config with ``address6`` for the gateways named (default: every one, gateway_address6(i))."""
    if address6 is None:
        address6 = {i: gateway_address6(i) for i in range(1, len(topo.gateways) + 1)}
    return topo.config(address6={i: a for i, a in address6.items() if a is not None})


def start(topo):
    topo.start_host(config6(topo))
    return topo


@pytest.mark.parametrize("error_style", ERROR_STYLES)
def test_carrier_loss_moves_both_families(dual):
    start(dual)
    w = dual.watch
    wait_for(lambda: table6(dual) == expected_table6(GW1_6), what="IPv6 table 100 kept ready")
    assert rules(dual, "-6") == [] and rules(dual, "-4") == []
    st = dual.state()
    assert (st["wan6"], st["path6"], st["failover6"], st["rule6"]) == ("up", "up", "off", "absent")

    dual.set_isp(False)
    wait_for(lambda: w.snapshot()[:2] == (1, 1), what="one rule per family, as the kernel announces them")
    assert rules(dual, "-6") == EXPECTED_RULE6
    assert rules(dual, "-4") == EXPECTED_RULE6
    assert table6(dual) == expected_table6(GW1_6)
    assert watched_table6(dual, w) == expected_table6(GW1_6)
    wait_for(lambda: dual.forwarding(1) == "1", what="gw1 told up")
    st = dual.state()
    assert (st["wan"], st["failover"], st["rule"]) == ("down", "on", "present")
    assert (st["wan6"], st["path6"], st["failover6"], st["rule6"]) == ("down", "up", "on", "present")

    dual.set_isp(True)
    wait_for(lambda: w.snapshot()[:2] == (0, 0), timeout=10, what="both rules removed")
    assert rules(dual, "-6") == []
    wait_for(lambda: dual.forwarding(1) == "0", what="gw1 told down")
    assert w.max_rules6 == 1
    assert dual.state()["failover6"] == "off"


def add_raw_rule6(topo) -> None:
    """An IPv6 rule at P added without NLM_F_EXCL: a duplicate, as old tools leave them."""
    topo.nets.exec("router", sys.executable, "-m", "failover.lab.rawrule", str(TABLE), str(PRIORITY), "6")


def test_stale_and_duplicate_ipv6_rules_are_repaired_to_exactly_one(dual):
    add_raw_rule6(dual)
    add_raw_rule6(dual)
    assert len(rules(dual, "-6")) == 2
    start(dual)  # the daemon starts failed over (a rule was there), then fails back on a clean WAN
    wait_for(lambda: rules(dual, "-6") == [], timeout=10, what="the stale IPv6 rules removed")
    dual.set_isp(False)
    wait_for(lambda: rules(dual, "-6") == EXPECTED_RULE6, what="one IPv6 rule")
    add_raw_rule6(dual)
    wait_for(lambda: rules(dual, "-6") == EXPECTED_RULE6, timeout=5, what="the duplicate removed")
    assert dual.state()["rule6"] == "present"


def test_path6_down_moves_ipv6_only(dual):
    start(dual)
    w = dual.watch
    wait_for(lambda: table6(dual) == expected_table6(GW1_6), what="IPv6 table 100 kept ready")
    assert dual.control("path6 down") == "ok"
    wait_for(lambda: w.snapshot()[1] == 1, what="the IPv6 rule")
    wait_for(lambda: dual.forwarding(1) == "1", what="gw1, serving IPv6, told up")
    time.sleep(1.5)  # more than a reconcile period: room for a wrong IPv4 rule to appear
    assert w.rule4_adds == 0 and rules(dual, "-4") == []
    assert rules(dual, "-6") == EXPECTED_RULE6
    assert table6(dual) == expected_table6(GW1_6)
    st = dual.state()
    assert (st["wan"], st["path"], st["failover"], st["rule"]) == ("up", "up", "off", "absent")
    assert (st["wan6"], st["path6"], st["failover6"], st["rule6"]) == ("down", "down", "on", "present")

    assert dual.control("path6 up") == "ok"
    wait_for(lambda: w.snapshot()[1] == 0, timeout=10, what="the IPv6 rule removed after the clean time")
    wait_for(lambda: dual.forwarding(1) == "0", what="gw1 told down")
    assert w.rule4_adds == 0 and w.max_rules6 == 1


def test_ipv6_without_targets_follows_the_ipv4_path(dual):
    start(dual)
    w = dual.watch
    assert dual.control("path down") == "ok"
    wait_for(lambda: w.snapshot()[:2] == (1, 1), what="both rules")
    st = dual.state()
    assert (st["path"], st["path6"], st["wan6"], st["failover6"]) == ("down", "up", "down", "on")


def test_elect_by_ipv6_address(dual):
    start(dual)
    assert dual.control(f"elect {GW2_6}") == "ok"
    assert dual.state()["elected"] == "10.10.0.12"
    assert dual.control("elect fd00:10::99").startswith("err unknown gateway")
    assert dual.control("elect fd00::1::2").startswith("err")
    assert dual.state()["elected"] == "10.10.0.12"
    wait_for(lambda: table6(dual) == expected_table6(GW2_6), what="IPv6 table 100 via gw2")
    dual.set_isp(False)
    wait_for(lambda: dual.watch.snapshot()[1] == 1, what="the IPv6 rule")
    wait_for(lambda: dual.forwarding(2) == "1", what="gw2 told up")
    assert dual.forwarding(1) == "0"
    assert dual.default_via() == "10.10.0.12"
    assert table6(dual) == expected_table6(GW2_6)


def test_ipv6_goes_to_a_gateway_that_has_an_address6(dual):
    dual.start_host(config6(dual, {1: None, 2: GW2_6}))
    wait_for(lambda: table6(dual) == expected_table6(GW2_6), what="IPv6 table 100 via gw2")
    dual.set_isp(False)
    wait_for(lambda: dual.watch.snapshot()[:2] == (1, 1), what="one rule per family")
    wait_for(lambda: dual.forwarding(1) == "1" and dual.forwarding(2) == "1", what="gw1 and gw2 told up")
    assert dual.default_via() == "10.10.0.11"
    assert table6(dual) == expected_table6(GW2_6)
    assert "ipv6 via fd00:10::12 (the elected gateway has no address6)" in dual.log("host")


def test_without_any_address6_ipv6_is_left_alone(dual):
    dual.start_host(config6(dual, {1: None, 2: None}))
    dual.set_isp(False)
    wait_for(lambda: dual.watch.snapshot()[0] == 1, what="the IPv4 rule")
    time.sleep(1.5)  # more than a reconcile period
    assert dual.watch.snapshot()[1:] == (0, frozenset())
    assert rules(dual, "-6") == [] and table6(dual) == []
    st = dual.state()
    assert (st["failover"], st["failover6"], st["rule6"]) == ("on", "off", "absent")
