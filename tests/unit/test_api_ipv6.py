"""The REST API's IPv6 additions over a real Sidecar (real sockets, no daemon): each gateway's
address6, status6 and rtt6_ms; the state's ipv6 block; POST /api/v1/elect by a gateway's IPv6
address; the IPv6 heartbeat figures in /metrics. (IPv6 heartbeats that answer, and routing that
follows, are the namespace scenario tests/topotests/ipv6_gateways.)"""

from __future__ import annotations

import httpx
import pytest

from api.app import create_app
from failover import config
from failover.sidecar.core import Sidecar

from .test_api import AUTH, DOWN, TOKEN, UP, free_udp_port, reflector_thread, serve, wait_until

#: No host answers here: near's IPv6 heartbeat goes down while its IPv4 one is up.
NEAR6 = "fd00:99::2"


@pytest.fixture(scope="module")
def api6(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api6")
    (tmp / "token").write_text(TOKEN + "\n")
    port = free_udp_port()
    cfg = config.parse(f"""
        [wan]
        interface = "wan0"
        [failover]
        lan_interface = "lan0"
        [control]
        socket = "{tmp}/control.sock"
        [heartbeat]
        port = {port}
        [[gateway]]
        name = "near"
        address = "{UP}"
        address6 = "{NEAR6}"
        [[gateway]]
        name = "dead"
        address = "{DOWN}"
        [api]
        token_file = "{tmp}/token"
    """)
    with reflector_thread(UP, port):
        sidecar = Sidecar(cfg)
        app = create_app(sidecar, token_file=cfg.api.token_file)
        with serve(app) as base, httpx.Client(base_url=base, timeout=5) as client:
            wait_until(lambda: {g["name"]: (g["status"], g["status6"]) for g in client.get("/api/v1/gateways").json()}
                       == {"near": ("up", "down"), "dead": ("down", None)}, "near up (IPv6 down), dead down")
            client.sidecar = sidecar
            yield client


def test_gateways_carry_their_ipv6_heartbeat(api6):
    gws = {g["name"]: g for g in api6.get("/api/v1/gateways").json()}
    near, dead = gws["near"], gws["dead"]
    assert (near["address6"], near["status6"], near["rtt6_ms"]) == (NEAR6, "down", None)
    assert near["status"] == "up" and near["rtt_ms"] is not None  # its IPv4 heartbeat is its own
    # a gateway without address6: no IPv6 heartbeat at all, every IPv6 field null
    assert (dead["address6"], dead["status6"], dead["rtt6_ms"]) == (None, None, None)
    # near is elected and no other gateway has an address6: it keeps IPv6
    assert near["serves6"] is True and dead["serves6"] is False


def test_state_has_the_ipv6_block(api6):
    s = api6.get("/api/v1/state").json()
    assert s["ipv6"] == {"path": True, "up": False, "failover": False, "rule": False}  # no daemon, no carrier
    assert set(s) == {"wan", "failover", "elected", "changes", "daemon", "ipv6"}


def test_elect_by_ipv6_address_pins_that_gateway(api6):
    r = api6.post("/api/v1/elect", json={"address": NEAR6}, headers=AUTH)
    assert r.status_code == 200 and r.json() == {"address": UP, "name": "near", "pinned": True}
    assert api6.sidecar.election.pinned == UP
    assert api6.delete("/api/v1/elect", headers=AUTH).status_code == 200
    assert api6.sidecar.election.pinned is None


@pytest.mark.parametrize("address,code", [("fd00:99::9", 404), ("fd00:99::1::2", 422), ("fe80::1%lo", 422),
                                          ("fd00:99::2/64", 422)])
def test_bad_or_unknown_ipv6_elect_changes_nothing(api6, address, code):
    r = api6.post("/api/v1/elect", json={"address": address}, headers=AUTH)
    assert r.status_code == code, r.text
    assert api6.sidecar.election.pinned is None


def test_elect_by_a_non_canonical_ipv6_address_names_the_same_gateway(api6):
    r = api6.post("/api/v1/elect", json={"address": "FD00:0099:0:0::2"}, headers=AUTH)
    assert r.status_code == 200 and r.json()["address"] == UP
    api6.delete("/api/v1/elect", headers=AUTH)


def test_metrics_carry_the_ipv6_heartbeats(api6):
    text = api6.get("/metrics").text
    labels = f'address="{UP}",address6="{NEAR6}",name="near"'
    assert f"failover_gateway_ipv6_up{{{labels}}} 0.0" in text
    assert f'failover_gateway_ipv6_status{{{labels},status="down"}} 1.0' in text
    assert f"failover_gateway_ipv6_serving{{{labels}}} 1.0" in text
    assert f"failover_heartbeats_ipv6_sent_total{{{labels}}}" in text
    assert "dead" not in "".join(line for line in text.splitlines() if "ipv6" in line)
    for name in ("failover_ipv6_wan_up", "failover_ipv6_path 1.0", "failover_ipv6_active 0.0",
                 "failover_ipv6_rule_present 0.0"):
        assert name in text


def test_the_ipv6_server_choice_is_logged_with_its_reason(api6):
    entries = [e for e in api6.get("/api/v1/log").json() if e.get("family") == "ipv6"]
    assert entries and entries[-1]["kind"] == "election" and entries[-1]["address6"] == NEAR6
    assert "IPv6 heartbeat" in entries[-1]["reason"] or "serves IPv6 too" in entries[-1]["reason"]
