"""conf/prometheus/alerts.yml: valid for Prometheus (`promtool check rules`) and doing what it says
(`promtool test rules` with tests/unit/prometheus/alerts_test.yml). The metric names themselves
are checked against a real Prometheus scraping the sidecar in tests/topotests/prometheus/test_prometheus.py.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "conf" / "prometheus" / "alerts.yml"
RULE_TESTS = REPO / "tests" / "unit" / "prometheus" / "alerts_test.yml"
ALERTS = ["FailoverWanDown", "FailoverActiveLong", "FailoverGatewayDown", "FailoverNoUsableGateway",
          "FailoverTargetFault", "FailoverDaemonDisconnected", "FailoverHookDrops"]


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    tool = shutil.which("promtool")
    if tool is None:
        pytest.fail("promtool is missing: apt-get install prometheus (.ci/run does)")
    return subprocess.run([tool, *args], capture_output=True, text=True, cwd=cwd, timeout=60)


def rule_tests_against(tmp: Path, rules_text: str) -> subprocess.CompletedProcess:
    """Run the unit tests against another version of the rules (same relative layout)."""
    (tmp / "conf" / "prometheus").mkdir(parents=True)
    (tmp / "conf" / "prometheus" / "alerts.yml").write_text(rules_text)
    tests = tmp / "tests" / "unit" / "prometheus"
    tests.mkdir(parents=True)
    shutil.copy(RULE_TESTS, tests)
    return promtool("test", "rules", RULE_TESTS.name, cwd=tests)


def test_rules_are_valid():
    proc = promtool("check", "rules", str(RULES), cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in proc.stdout


def test_every_alert_is_unit_tested():
    tested = RULE_TESTS.read_text()
    for alert in ALERTS:
        assert f"alertname: {alert}" in tested, alert
        assert f"alert: {alert}" in RULES.read_text(), alert


def test_rules_pass_their_unit_tests(tmp_path):
    proc = rule_tests_against(tmp_path, RULES.read_text())
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("change", [
    ("expr: failover_wan_up == 0", "expr: failover_wan_carrier == 0"),  # a path-only outage missed
    ("for: 30m", "for: 5m"),  # "long" failover alerting after an ordinary outage
    ('failover_gateway_status{status="down"} == 1', 'failover_gateway_up == 0'),  # unknown counted as down
    ("and on(instance) failover_wan_path == 1", ""),  # a WAN fault reported as a target fault
    ("failover_gateway_up * failover_gateway_elected", "failover_gateway_up"),  # any gateway up hides it
    ("increase(failover_hook_drops_total[10m]) > 0", "failover_hook_drops_total > 0"),  # fires forever after one drop
])
def test_unit_tests_catch_a_wrong_rule(tmp_path, change):
    old, new = change
    text = RULES.read_text()
    assert old in text
    proc = rule_tests_against(tmp_path, text.replace(old, new))
    assert proc.returncode != 0, f"rules with {new!r} still pass"
