"""Debian's Prometheus scrapes the sidecar through a failover; PromQL through its HTTP API sees it.

Prometheus runs in the router's namespace (the sidecar listens on the router's 127.0.0.1),
scrapes every second and evaluates conf/prometheus/alerts.yml. The WAN's carrier is cut.

Expected routing state (router namespace):

    before:  no rule at priority 1000
    after:   one rule "1000: from all lookup 100", the elected gateway told "up"

Expected in Prometheus: failover_active went 0 -> 1 within the last minute,
failover_transitions_total grew, failover_wan_up and failover_wan_carrier read 0,
failover_gateway_rtt_seconds has one positive series per gateway, and FailoverWanDown is
pending or firing.
"""

from __future__ import annotations

import shutil
import textwrap

import httpx
import pytest

from failover.lab.netns import wait_for

from failover.lab.routerlab import REPO

PROMETHEUS = "http://127.0.0.1:9090"
RULES = REPO / "conf" / "prometheus" / "alerts.yml"


@pytest.fixture
def prometheus(hb):
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is missing: apt-get install prometheus (.ci/run does)")
    tmp = hb.topo.tmp
    config = tmp / "prometheus.yml"
    config.write_text(textwrap.dedent(f"""
        global:
          scrape_interval: 1s
          evaluation_interval: 1s
        rule_files: ["{RULES}"]
        scrape_configs:
          - job_name: failover
            static_configs:
              - targets: ["127.0.0.1:8080"]
        """))
    proc = hb.nets.spawn("router", [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'tsdb'}",
                                    "--web.listen-address=127.0.0.1:9090"], log=tmp / "prometheus.log")

    def ready() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"prometheus exited {proc.returncode}:\n{hb.topo.log('prometheus')}")
        try:
            return hb.http.get(f"{PROMETHEUS}/-/ready").status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(ready, timeout=30, what="Prometheus ready")
    return proc


def query(hb, promql: str) -> list[dict]:
    """The instant vector Prometheus answers for ``promql`` (through its HTTP API)."""
    r = hb.http.get(f"{PROMETHEUS}/api/v1/query", params={"query": promql})
    body = r.json()
    assert r.status_code == 200 and body["status"] == "success", body
    return body["data"]["result"]


def value(hb, promql: str) -> float | None:
    result = query(hb, promql)
    return float(result[0]["value"][1]) if len(result) == 1 else None


def test_prometheus_sees_the_failover_verdict_and_rtts(hb, prometheus):
    topo = hb.topo
    hb.write_config(probe=True)
    hb.sidecar = topo.start_host(hb.config_path, command="run")
    wait_for(hb._api_ready, timeout=15, what="the sidecar's REST API")
    wait_for(hb.all_up, timeout=10, what="both gateways' heartbeats up")
    wait_for(lambda: value(hb, 'up{job="failover"}') == 1, timeout=20, what="Prometheus scraping the sidecar")
    wait_for(lambda: value(hb, "failover_active") == 0 and value(hb, "failover_wan_up") == 1,
             timeout=10, what="Prometheus: WAN up, no failover")
    before = value(hb, "failover_transitions_total")

    topo.set_isp(False)
    wait_for(topo.has_failover_rule, what="the failover rule")
    elected = topo.state()["elected"]
    wait_for(lambda: topo.forwarding(topo.gateways.index(elected) + 1) == "1", what=f"{elected} told up")

    # The failover, as scraped: the same series was 0 and is now 1.
    wait_for(lambda: value(hb, "failover_active") == 1, timeout=10, what="Prometheus: failover_active 1")
    assert value(hb, "min_over_time(failover_active[1m])") == 0
    assert value(hb, "failover_transitions_total") > before
    assert value(hb, "increase(failover_transitions_total[1m])") > 0
    # The WAN verdict, and why (the path check, bound to wan0, loses it too).
    assert (value(hb, "failover_wan_up"), value(hb, "failover_wan_carrier")) == (0, 0)
    # The gateway RTTs: one positive series per gateway, under 50 ms on veth links.
    rtts = {r["metric"]["address"]: float(r["value"][1]) for r in query(hb, "failover_gateway_rtt_seconds")}
    assert set(rtts) == set(topo.gateways) and all(0 < v < 0.05 for v in rtts.values()), rtts
    # The elected gateway as scraped is the daemon's. Both gateways measure alike on veth links, so
    # the election may move between two reads: compare a scrape with the daemon's state of now.
    wait_for(lambda: {r["metric"]["address"] for r in query(hb, "failover_gateway_elected == 1")}
             == {topo.state()["elected"]}, timeout=10, what="Prometheus: the daemon's elected gateway")
    # The alert rules are loaded and the WAN-down one has started (pending, firing after 30 s).
    wait_for(lambda: query(hb, 'ALERTS{alertname="FailoverWanDown"}'), timeout=10, what="FailoverWanDown pending")
    rules = hb.http.get(f"{PROMETHEUS}/api/v1/rules").json()["data"]["groups"]
    assert {r["name"] for g in rules for r in g["rules"]} >= {"FailoverWanDown", "FailoverGatewayDown"}
    assert all(r["health"] == "ok" for g in rules for r in g["rules"]), rules
