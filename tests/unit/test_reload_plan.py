"""failover/sidecar/reload.py: which config changes a SIGHUP may apply live."""

from __future__ import annotations

import pytest

from failover.config import parse
from failover.core.controlline import parse_state
from failover.scripts import launch
from failover.sidecar.reload import fixed_changes

SITE = """
[wan]
interface = "wan0"
[failover]
lan_interface = "lan0"
priority = 1000
[heartbeat]
detect_multiplier = 3
[[gateway]]
name = "alt1"
address = "10.10.0.11"
"""


def test_gateways_and_thresholds_may_change_live():
    old = parse(SITE)
    new = parse(SITE.replace("detect_multiplier = 3", "detect_multiplier = 5")
                + '[[gateway]]\nname = "alt2"\naddress = "10.10.0.12"\n')
    assert fixed_changes(old, new) == []


def test_the_rules_priority_and_the_api_may_not():
    old = parse(SITE)
    new = parse(SITE.replace("priority = 1000", "priority = 1001") + '[api]\nlisten = "127.0.0.1:9999"\n')
    assert fixed_changes(old, new) == ["api.listen", "failover.priority"]


def test_the_daemons_elected_gateway_is_read_from_its_state_line():
    line = "ok wan=down carrier=down path=up failover=on elected=10.10.0.12 rule=present changes=1"
    assert parse_state(line).elected == "10.10.0.12"
    with pytest.raises(ValueError):
        parse_state("err busy")


def test_the_journal_may_not_change_live_and_its_absence_counts_as_none():
    old = parse(SITE)
    new = parse(SITE + '[journal]\npath = "/var/lib/failover/j.jsonl"\n')
    assert fixed_changes(old, new) == ["journal.path", "journal.max_bytes"]
    assert fixed_changes(new, new) == []


def test_the_bare_host_refuses_only_what_its_scripts_cannot_change():
    old = parse(SITE)
    new = parse(SITE.replace("priority = 1000", "priority = 1001") + '[api]\nlisten = "127.0.0.1:9999"\n')
    assert launch.fixed_changes(old, new) == ["failover.priority"]
