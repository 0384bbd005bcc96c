"""The lab (conf/lab.toml, `make lab`) dual-stack: both demo flows echo over the WAN, and a WAN
carrier loss moves both through an alternate that NATs both families.

Built as `failover lab up` builds it (failover/lab/namespaces.py), with a prefix, a state folder
and a dashboard port of its own so it never meets a running lab. Observed from outside the
product: the flows' own counters (the client's sender), `ip -4|-6 rule`, `ip -6 route show table
100`, and `conntrack -L -f ipv6` in the elected alternate.

Expected (T = 100, P = 1000):

    WAN up:        no rule at P in either family; flow and flow6 echo
    carrier lost:  one rule at P per family; IPv6 table 100 = { fd00:10::/64 dev lan0,
                   default via <address6 of the gateway serving IPv6> dev lan0 }; both flows echo
                   again, flow6 through that gateway: its conntrack holds the client's flow NATed
                   to its uplink (fd00:100:64:N::2)
    cleared:       both rules gone; both flows echo
"""

from __future__ import annotations

import json
import secrets
import socket

import pytest

from failover.lab.flow_scale import table
from failover.lab.namespaces import Lab
from failover.lab.netns import wait_for
from failover.lab.topology import load


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    topo = load().model_copy(update={"prefix": f"afd{secrets.token_hex(2)}"})
    assert topo.ipv6, "conf/lab.toml is dual-stack"
    lab = Lab(topo, state=tmp_path / "state", api_port=free_port())
    try:
        lab.build()
        lab.start()
        yield lab
    finally:
        lab.down()


def received(path) -> int:
    try:
        return json.loads(path.read_text())["received"]
    except (OSError, ValueError, KeyError):
        return 0


def echoing(lab, path, more: int = 20, timeout: float = 15) -> None:
    """The flow's echo count grows by ``more`` (the sender writes it once a second)."""
    start = received(path)
    wait_for(lambda: received(path) >= start + more, timeout=timeout, interval=0.2, what=f"{path.name} echoing")


def rules(lab, family: int) -> list[dict]:
    out = lab.net.ip("router", "-j", f"-{family}", "rule", "show").stdout
    return [r for r in json.loads(out) if r.get("priority") == 1000]


def table6(lab) -> dict[str, str]:
    proc = lab.net.ip("router", "-j", "-6", "route", "show", "table", "100", check=False)
    routes = json.loads(proc.stdout) if proc.returncode == 0 and proc.stdout.strip() else []
    return {r["dst"]: (f"via {r['gateway']} " if r.get("gateway") else "") + f"dev {r['dev']}" for r in routes}


def test_carrier_loss_moves_both_demo_flows_through_an_alternate(lab):
    topo = lab.topo
    echoing(lab, lab.flow_file)
    echoing(lab, lab.flow6_file)
    assert rules(lab, 4) == [] and rules(lab, 6) == []

    lab.fault("wan-carrier")
    wait_for(lambda: len(rules(lab, 4)) == 1 and len(rules(lab, 6)) == 1, timeout=10, what="one rule per family")
    [serving] = [g for g in topo.gateway if table6(lab).get("default") == f"via {g.address6} dev lan0"]
    assert table6(lab) == {topo.lan.prefix6: "dev lan0", "default": f"via {serving.address6} dev lan0"}
    echoing(lab, lab.flow_file)
    echoing(lab, lab.flow6_file)
    uplink6 = serving.uplink6_ends[0].split("/")[0]
    wait_for(lambda: any(e.src == topo.lan.client6 and e.dst == topo.internet.host6 and e.reply_dst == uplink6
                         for e in table(lab.net.ns(serving.name), "ipv6")),
             what=f"the client's IPv6 flow NATed by {serving.name}")

    lab.fault("clear")
    wait_for(lambda: rules(lab, 4) == [] and rules(lab, 6) == [], timeout=15, what="both rules gone")
    echoing(lab, lab.flow_file)
    echoing(lab, lab.flow6_file)
