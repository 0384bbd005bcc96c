"""The sidecar's REST API under a real uvicorn on loopback, probing real STAMP reflectors.

Two gateways: 127.0.0.2 answers (the agent's reflector in a thread), 127.0.0.3 does not (down).
No daemon listens on the control socket here, so the state says so; the daemon side is covered
by tests/topotests/sidecar/.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import stat
import threading
import time

import httpx
import pytest
import uvicorn

from api.app import create_app
from failover import config
from failover.agent import StampReflector
from failover.sidecar.core import Sidecar

UP, DOWN = "127.0.0.2", "127.0.0.3"
TOKEN = "s3cret-token"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def reflector_thread(address: str, port: int):
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def run():
        asyncio.set_event_loop(loop)
        r = StampReflector(address, port)
        loop.call_soon(lambda: (r.start(), ready.set()))
        loop.run_forever()
        r.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert ready.wait(5)
    try:
        yield
    finally:
        loop.call_soon_threadsafe(loop.stop)
        t.join(5)


@contextlib.contextmanager
def serve(app):
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="on"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        t.join(10)


def make_config(tmp_path, port: int, **api) -> config.Config:
    token_file = api.get("token_file", str(tmp_path / "token"))
    return config.parse(f"""
        [wan]
        interface = "wan0"
        [failover]
        lan_interface = "lan0"
        [control]
        socket = "{tmp_path}/control.sock"
        [heartbeat]
        port = {port}
        [[gateway]]
        name = "near"
        address = "{UP}"
        [[gateway]]
        name = "dead"
        address = "{DOWN}"
        [api]
        listen = "127.0.0.1:8080"  # not used: the test serves on port 0
        token_file = "{token_file}"
    """)


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api")
    (tmp / "token").write_text(TOKEN + "\n")
    port = free_udp_port()
    cfg = make_config(tmp, port)
    with reflector_thread(UP, port):
        sidecar = Sidecar(cfg)
        app = create_app(sidecar, token_file=cfg.api.token_file,
                         lab_fault_command=f"sh -c 'test $0 = clear || {{ echo no $0; exit 3; }}'")
        with serve(app) as base, httpx.Client(base_url=base, timeout=5) as client:
            wait_until(lambda: statuses(client) == {"near": "up", "dead": "down"}, "near up, dead down")
            client.sidecar = sidecar
            yield client


def wait_until(pred, what: str, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def statuses(client) -> dict[str, str]:
    return {g["name"]: g["status"] for g in client.get("/api/v1/gateways").json()}


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_state_has_the_contract_shape_and_says_daemon_is_missing(api):
    s = api.get("/api/v1/state").json()
    assert set(s) >= {"wan", "failover", "elected", "changes", "daemon"}
    assert set(s["wan"]) == {"interface", "carrier", "path", "up"}
    assert set(s["failover"]) == {"active", "since", "rule"}
    assert set(s["elected"]) == {"address", "name", "pinned"}
    assert s["failover"] == {"active": False, "since": None, "rule": False}
    assert s["daemon"]["connected"] is False and "daemon not there" in s["daemon"]["message"]
    assert s["elected"]["address"] == UP


def test_gateways_report_measured_rtt_and_status(api):
    # Unanswered probes count as lost once their reply timeout (1 s) has passed.
    wait_until(lambda: api.get("/api/v1/gateways").json()[1]["loss"] > 0, "loss counted", timeout=3)
    gws = {g["name"]: g for g in api.get("/api/v1/gateways").json()}
    near, dead = gws["near"], gws["dead"]
    assert near["status"] == "up" and 0 < near["rtt_ms"] < 50 and near["score"] is not None
    assert near["elected"] is True
    assert dead["status"] == "down" and dead["loss"] > 0 and dead["elected"] is False


@pytest.mark.parametrize("method,path,body", [
    ("POST", "/api/v1/elect", {"address": UP}),
    ("DELETE", "/api/v1/elect", None),
    ("POST", "/api/v1/lab/fault", {"kind": "clear"}),
])
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}])
def test_mutations_without_the_token_are_401_and_change_nothing(api, method, path, body, headers):
    before = api.sidecar.election.pinned
    r = api.request(method, path, json=body, headers=headers)
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"] == "Bearer"
    assert api.sidecar.election.pinned == before


@pytest.mark.parametrize("content", [
    b"", b"not json", b"[]", b"{}", b'{"address": 12}', b'{"address": "10.10.0.999"}',
    b'{"address": "127.0.0.2", "extra": 1}', b'{"address": "127.0.0.2/32"}',
])
def test_bad_elect_bodies_are_422_and_change_nothing(api, content):
    r = api.post("/api/v1/elect", content=content, headers={**AUTH, "content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert api.sidecar.election.pinned is None


def test_elect_unknown_is_404_and_down_is_409(api):
    r = api.post("/api/v1/elect", json={"address": "10.9.9.9"}, headers=AUTH)
    assert r.status_code == 404 and "not a configured gateway" in r.json()["detail"]
    r = api.post("/api/v1/elect", json={"address": DOWN}, headers=AUTH)
    assert r.status_code == 409 and "down" in r.json()["detail"]
    assert api.sidecar.election.pinned is None


def test_pin_then_unpin(api):
    r = api.post("/api/v1/elect", json={"address": UP}, headers=AUTH)
    assert r.status_code == 200 and r.json() == {"address": UP, "name": "near", "pinned": True}
    assert api.get("/api/v1/state").json()["elected"]["pinned"] is True
    kinds = [e["kind"] for e in api.get("/api/v1/log").json()]
    assert "election" in kinds
    r = api.delete("/api/v1/elect", headers=AUTH)
    assert r.status_code == 200 and r.json()["pinned"] is False
    assert api.sidecar.election.pinned is None


def test_lab_fault_runs_the_command_and_reports_its_failure(api):
    assert api.get("/api/v1/lab").json() == {"enabled": True, "flow": None, "flow6": None}
    assert api.post("/api/v1/lab/fault", json={"kind": "clear"}, headers=AUTH).json() == {"ok": True}
    r = api.post("/api/v1/lab/fault", json={"kind": "wan-path"}, headers=AUTH)
    assert r.status_code == 502 and "exited 3" in r.json()["detail"] and "no wan-path" in r.json()["detail"]
    assert api.post("/api/v1/lab/fault", json={"kind": "meteor"}, headers=AUTH).status_code == 422


def test_lab_status_carries_each_demo_flow_from_its_file(tmp_path):
    """The dual-stack lab's flow and flow6 files reach GET /api/v1/lab; a missing or half-written
    one is "no data yet", never an error."""
    from api.lab import CommandLab
    from failover.cli import build_parser
    from failover.sidecar.supervisor import ApiOptions, _api_argv

    counters = {"sent": 10, "received": 9, "loss": 0.1, "rtt_ms": 0.5, "outage_ms": 0.0,
                "longest_outage_ms": 20.0, "last_echo": 1.0}
    (tmp_path / "flow.json").write_text(json.dumps(counters))
    (tmp_path / "flow6.json").write_text(json.dumps({**counters, "sent": 11}))
    lab = CommandLab("true", str(tmp_path / "flow.json"), str(tmp_path / "flow6.json"))
    assert (lab.flow().sent, lab.flow6().sent) == (10, 11)
    (tmp_path / "flow6.json").write_text('{"sent": 1')
    assert lab.flow6() is None and lab.flow().sent == 10
    assert CommandLab("true", str(tmp_path / "flow.json")).flow6() is None

    # `failover run --lab-flow6-file F` hands F to the API's process
    args = build_parser().parse_args(["run", "--lab-flow-file", "/f4", "--lab-flow6-file", "/f6"])
    opts = ApiOptions(lab_flow_file=args.lab_flow_file, lab_flow6_file=args.lab_flow6_file)
    argv = _api_argv(make_config(tmp_path, free_udp_port()), 3, opts)
    assert argv[argv.index("--lab-flow6-file") + 1] == "/f6"


def test_metrics_expose_per_gateway_figures_and_wan_state(api):
    text = api.get("/metrics").text
    assert f'failover_gateway_rtt_seconds{{address="{UP}",name="near"}}' in text
    assert f'failover_gateway_up{{address="{DOWN}",name="dead"}} 0.0' in text
    for name in ("failover_gateway_loss_ratio", "failover_gateway_jitter_seconds", "failover_wan_up",
                 "failover_transitions_total", "failover_daemon_connected 0.0"):
        assert name in text


def test_openapi_lists_the_contract_calls(api):
    paths = api.get("/openapi.json").json()["paths"]
    assert {"/api/v1/state", "/api/v1/gateways", "/api/v1/elect", "/api/v1/events", "/metrics"} <= set(paths)
    assert {"post", "delete"} <= set(paths["/api/v1/elect"])


def test_events_stream_starts_with_state_and_gateways_then_ticks(api):
    events = []
    with api.stream("GET", "/api/v1/events") as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in r.iter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                events.append((kind, json.loads(line.split(":", 1)[1])))
                if [k for k, _ in events].count("gateways") == 2:
                    break
    assert events[0][0] == "state" and events[0][1]["wan"]["interface"] == "wan0"
    assert events[1][0] == "gateways" and {g["name"] for g in events[1][1]} == {"near", "dead"}


def test_missing_token_file_is_created_private(tmp_path):
    token_file = tmp_path / "etc" / "token"
    cfg = make_config(tmp_path, 862, token_file=str(token_file))
    app = create_app(Sidecar(cfg), token_file=cfg.api.token_file)
    assert app is not None
    st = token_file.stat()
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == os.geteuid()
    assert len(token_file.read_text().strip()) >= 32
