"""The API's bounds on clients without the token (api/limits.py), and the operator's way through.

The admission decision is tested directly with timestamps; the app under a real uvicorn on
loopback shows the answers: 429 past the rate, 503 past the streams, 200 for the operator.
"""

from __future__ import annotations

import contextlib

import httpx
import pytest

from api.app import create_app
from api.limits import Admission, Limits
from failover.sidecar.core import Sidecar

from .test_api import TOKEN, make_config, serve

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_rate_is_per_client_with_a_burst_and_refills():
    a = Admission(Limits(rate=10, burst=3))
    assert [a.admit("1.1.1.1", 0.0, stream=False).status for _ in range(4)] == [0, 0, 0, 429]
    assert a.admit("2.2.2.2", 0.0, stream=False).status == 0  # another client has its own bucket
    refused = a.admit("1.1.1.1", 0.0, stream=False)
    assert refused.status == 429 and refused.retry_after_s >= 1
    assert a.admit("1.1.1.1", 0.1, stream=False).status == 0  # 0.1 s at 10/s: one more


def test_in_flight_and_streams_are_bounded_and_released():
    a = Admission(Limits(rate=1000, burst=1000, max_in_flight=2, max_streams=1))
    assert [a.admit(f"c{i}", 0.0, stream=False).status for i in range(3)] == [0, 0, 503]
    a.done(stream=False)
    assert a.admit("c9", 0.0, stream=False).status == 0
    assert [a.admit(f"s{i}", 0.0, stream=True).status for i in range(2)] == [0, 503]
    a.done(stream=True)
    assert a.admit("s9", 0.0, stream=True).status == 0


def test_client_memory_is_bounded():
    a = Admission(Limits(max_clients=10))
    for i in range(100):
        a.admit(f"10.0.0.{i}", 0.0, stream=False)
    assert len(a._buckets) == 10


@pytest.fixture
def bounded(tmp_path):
    (tmp_path / "token").write_text(TOKEN + "\n")
    cfg = make_config(tmp_path, 9)
    app = create_app(Sidecar(cfg), token_file=cfg.api.token_file,
                     limits=Limits(rate=5, burst=5, max_streams=2))
    with serve(app) as base:
        yield base


def test_past_the_rate_unauthenticated_reads_get_429_and_the_operator_200(bounded):
    with httpx.Client(base_url=bounded, timeout=5) as c:
        codes = [c.get("/api/v1/state").status_code for _ in range(20)]
        assert codes[:5] == [200] * 5 and codes.count(429) >= 14, codes
        r = c.get("/api/v1/state")
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1 and "API token" in r.json()["detail"]
        # Bad tokens are unauthenticated too: refused before anything is looked at.
        assert c.post("/api/v1/elect", json={"address": "127.0.0.2"},
                      headers={"Authorization": "Bearer wrong"}).status_code == 429
        assert all(c.get("/api/v1/state", headers=AUTH).status_code == 200 for _ in range(50))
        assert c.delete("/api/v1/elect", headers=AUTH).status_code == 200


def test_past_the_stream_bound_unauthenticated_streams_get_503_and_the_operator_a_stream(bounded):
    with contextlib.ExitStack() as stack:
        clients = [stack.enter_context(httpx.Client(base_url=bounded, timeout=5)) for _ in range(4)]
        open_streams = [stack.enter_context(c.stream("GET", "/api/v1/events")) for c in clients[:2]]
        assert [r.status_code for r in open_streams] == [200, 200]
        r = clients[2].get("/api/v1/events")
        assert r.status_code == 503
        op = stack.enter_context(clients[3].stream("GET", "/api/v1/events", headers=AUTH))
        assert op.status_code == 200
        assert next(op.iter_lines()).startswith("event:")
