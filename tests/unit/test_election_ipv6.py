"""The IPv6 server choice (failover.core.election.serve_ipv6), tested directly: one election,
the elected gateway serves both families unless it has no address6 or its IPv6 heartbeat is
down; then IPv6 goes to the best gateway whose IPv6 heartbeat is up."""

from __future__ import annotations

import pytest

from failover.core.election import Candidate6, candidate6, serve_ipv6
from failover.core.heartbeat import SessionStats, Status

GW1, GW2, GW3 = "10.0.0.1", "10.0.0.2", "10.0.0.3"


def gw(address: str, address6: str | None, up6: bool = True, score6: float | None = 5.0,
       reachable: bool = True) -> Candidate6:
    return Candidate6(address, "gw" + address[-1], address6, up6, score6, reachable)


def test_the_elected_gateway_serves_ipv6_when_it_can():
    s = serve_ipv6(GW1, [gw(GW1, "fd00::1", score6=50.0), gw(GW2, "fd00::2", score6=1.0)])
    assert (s.address, s.address6, s.elected) == (GW1, "fd00::1", True)
    assert "serves IPv6 too" in s.reason


def test_elected_without_address6_sends_ipv6_to_the_best_gateway_up():
    s = serve_ipv6(GW1, [gw(GW1, None), gw(GW2, "fd00::2", score6=9.0), gw(GW3, "fd00::3", score6=3.0)])
    assert (s.address, s.address6, s.name, s.elected) == (GW3, "fd00::3", "gw3", False)
    assert "has no address6" in s.reason and "best gateway whose IPv6 heartbeat is up" in s.reason


def test_elected_with_ipv6_heartbeat_down_sends_ipv6_elsewhere():
    s = serve_ipv6(GW1, [gw(GW1, "fd00::1", up6=False), gw(GW2, "fd00::2")])
    assert (s.address, s.elected) == (GW2, False)
    assert "IPv6 heartbeat down" in s.reason


def test_a_gateway_whose_ipv6_is_down_or_unreachable_is_never_chosen():
    s = serve_ipv6(GW1, [gw(GW1, None), gw(GW2, "fd00::2", up6=False, score6=1.0),
                         gw(GW3, "fd00::3", reachable=False, score6=1.0), gw("10.0.0.4", "fd00::4", score6=80.0)])
    assert s.address == "10.0.0.4"


def test_measured_before_unmeasured_then_config_order():
    s = serve_ipv6(GW1, [gw(GW1, None), gw(GW2, "fd00::2", score6=None), gw(GW3, "fd00::3", score6=70.0)])
    assert s.address == GW3
    s = serve_ipv6(GW1, [gw(GW1, None), gw(GW2, "fd00::2", score6=None), gw(GW3, "fd00::3", score6=None)])
    assert s.address == GW2


def test_the_gateway_already_serving_ipv6_keeps_it_while_it_can():
    gws = [gw(GW1, None), gw(GW2, "fd00::2", score6=9.0), gw(GW3, "fd00::3", score6=3.0)]
    assert serve_ipv6(GW1, gws, previous=GW2).address == GW2
    gws[1] = gw(GW2, "fd00::2", up6=False)
    assert serve_ipv6(GW1, gws, previous=GW2).address == GW3


def test_the_elected_gateway_takes_ipv6_back_when_its_heartbeat_returns():
    gws = [gw(GW1, "fd00::1", up6=True, score6=40.0), gw(GW2, "fd00::2", score6=1.0)]
    assert serve_ipv6(GW1, gws, previous=GW2).address == GW1


def test_nobody_up_keeps_the_elected_if_it_has_an_address6():
    s = serve_ipv6(GW1, [gw(GW1, "fd00::1", up6=False), gw(GW2, "fd00::2", up6=False)])
    assert (s.address, s.elected) == (GW1, True) and "no other gateway's IPv6 heartbeat is up" in s.reason


def test_nobody_up_and_elected_without_address6_uses_one_that_has():
    gws = [gw(GW1, None), gw(GW2, "fd00::2", up6=False, reachable=False), gw(GW3, "fd00::3", up6=False)]
    assert serve_ipv6(GW1, gws).address == GW3
    assert serve_ipv6(GW1, gws, previous=GW2).address == GW2


def test_no_address6_anywhere_leaves_ipv6_alone():
    s = serve_ipv6(GW1, [gw(GW1, None), gw(GW2, None)])
    assert (s.address, s.address6, s.name) == (None, None, None) and "left alone" in s.reason


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="not a candidate"):
        serve_ipv6("10.9.9.9", [gw(GW1, "fd00::1")])
    with pytest.raises(ValueError, match="duplicate"):
        serve_ipv6(GW1, [gw(GW1, "fd00::1"), gw(GW1, "fd00::2")])


def test_candidate6_from_a_session():
    down = SessionStats(status=Status.DOWN, rtt_ms=None, jitter_ms=None, loss=1.0, sent=10, received=0, last_rtt_ms=None)
    unknown = SessionStats(status=Status.UNKNOWN, rtt_ms=None, jitter_ms=None, loss=0.0, sent=0, received=0, last_rtt_ms=None)
    up = SessionStats(status=Status.UP, rtt_ms=2.0, jitter_ms=0.5, loss=0.0, sent=10, received=10, last_rtt_ms=2.0)
    assert candidate6(GW1, "gw1", "fd00::1", down).up6 is False
    assert candidate6(GW1, "gw1", "fd00::1", unknown).up6 is True  # unknown is not down
    assert candidate6(GW1, "gw1", "fd00::1", up).score6 == pytest.approx(3.0)
    assert candidate6(GW1, "gw1", None, None).address6 is None
