"""failover/sidecar/hooks.py's pure parts: which hook event a domain event is, what a hook is given
(FAILOVER_* variables, JSON), the signature, the bounded queue, and the config's refusals.
(Running hooks for real: tests/topotests/hooks/test_hooks.py.)"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from failover.config import ConfigError, parse
from failover.core.events import ElectionChanged, FailoverChanged, GatewayStatusChanged, PathVerdict, WanChanged
from failover.sidecar.hooks import HookCounters, HookEvent, HookRunner, hook_event, signature

SITE = """
[wan]
interface = "wan0"
[failover]
lan_interface = "lan0"
[[gateway]]
name = "alt1"
address = "10.10.0.11"
"""


def test_failover_and_failback_carry_the_gateway_and_the_wan():
    on = hook_event(FailoverChanged(active=True, elected="10.10.0.11", elected_name="alt1", carrier=False,
                                    path=True, rule=True, ts=100.5), "wan0")
    assert on.event == "failover"
    env = on.environ()
    assert env["FAILOVER_EVENT"] == "failover" and env["FAILOVER_WAN"] == "wan0"
    assert (env["FAILOVER_GATEWAY"], env["FAILOVER_ADDRESS"]) == ("alt1", "10.10.0.11")
    assert (env["FAILOVER_CARRIER"], env["FAILOVER_PATH"], env["FAILOVER_RULE"]) == ("0", "1", "1")
    assert env["FAILOVER_TIME"] == "100.5"
    body = json.loads(on.json())
    assert body["event"] == "failover" and body["address"] == "10.10.0.11" and body["carrier"] is False
    off = hook_event(FailoverChanged(active=False, elected=None, elected_name=None, carrier=True, path=True,
                                     rule=False), "wan0")
    assert off.event == "failback" and "FAILOVER_GATEWAY" not in off.environ()


@pytest.mark.parametrize("event, name", [
    (ElectionChanged(address="10.10.0.12", name="alt2", pinned=False, pinned_down=False, reason="r", moved=True),
     "elected"),
    (GatewayStatusChanged(name="alt1", address="10.10.0.11", status="down", previous="up", reason="r",
                          rtt_ms=None, loss=1.0), "gateway"),
    (PathVerdict(up=False, reason="no replies"), "target"),
    (WanChanged(interface="wan0", carrier=True, path=False, up=False), "wan"),
])
def test_each_kind(event, name):
    assert hook_event(event, "wan0").event == name


def test_an_election_that_keeps_its_gateway_is_no_hook_event():
    assert hook_event(ElectionChanged(address="10.10.0.12", name="alt2", pinned=False, pinned_down=True,
                                      reason="r", moved=False), "wan0") is None


def test_signature_is_hmac_sha256_of_the_body():
    body = b'{"event": "failover"}'
    assert signature(b"k" * 32, body) == "sha256=" + hmac.new(b"k" * 32, body, hashlib.sha256).hexdigest()


def test_a_full_queue_drops_and_counts_and_other_events_are_not_queued():
    hook = parse(SITE + '[[hook]]\non = ["failover"]\nexec = "/bin/true"\nqueue = 2\n').hook[0]
    counters = HookCounters()
    runner = HookRunner(hook, 0, counters)
    for _ in range(5):
        runner.offer(HookEvent("failover", {}))
    runner.offer(HookEvent("wan", {}))
    assert len(runner._queue) == 2 and counters.drops == 3


@pytest.mark.parametrize("body, field", [
    ('on = ["failover"]', "hook.0"),                                         # neither exec nor url
    ('on = []\nexec = "/bin/true"', "hook.0.on"),
    ('on = ["failover", "lunch"]\nexec = "/bin/true"', "hook.0.on.1"),
    ('on = ["failover"]\nexec = "true"', "hook.0.exec"),                     # not an absolute path
    ('on = ["failover"]\nurl = "ftp://host/x"', "hook.0.url"),
    ('on = ["failover"]\nexec = "/bin/true"\nsecret_file = "/etc/k"', "hook.0"),  # secret without url
    ('on = ["failover"]\nexec = "/bin/true"\ntimeout_ms = 0', "hook.0.timeout_ms"),
    ('on = ["failover"]\nexec = "/bin/true"\nqueue = 0', "hook.0.queue"),
])
def test_bad_hooks_are_refused_by_field(body, field):
    with pytest.raises(ConfigError) as e:
        parse(SITE + "[[hook]]\n" + body + "\n")
    assert f"\n{field}" in str(e.value), str(e.value)
