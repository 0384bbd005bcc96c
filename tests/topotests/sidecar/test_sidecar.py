"""The sidecar's REST API driving real routing, and its commands, in namespaces.

Topology: failover/lab/sidecarlab.py; host (daemon) and sidecar on the router; the
WAN carrier is cut (ISP side down) so that failover is active and the elected gateway routes.

Expected routing state, per scenario:

    carrier lost, nothing pinned:     rule 1000 -> table 100, default via 10.10.0.11 (gw1)
    POST /api/v1/elect gw2 (token):   default via 10.10.0.12, gw2 forwarding on, gw1 off; pinned
    DELETE /api/v1/elect:             unpinned; gw2 stays (it is not worse by the margin)
    no token / bad body:              401 / 422, default stays via 10.10.0.11, nothing pinned
    daemon restarted after a pin:     the sidecar re-sends its election: default via 10.10.0.12
"""

import json
import signal
import sys

import pytest

from failover.lab.netns import wait_for

from failover.lab.sidecarlab import TOKEN
from failover.lab.routerlab import REPO


@pytest.fixture
def failed_over(hb):
    # A long hold keeps the first-elected gw1 whatever the RTT noise between two veths says
    # while the API's process starts.
    hb.write_config(probe=False, hold_ms=600_000)
    hb.topo.start_host(hb.config_path)
    hb.start_sidecar()
    wait_for(hb.all_up, timeout=5, what="both gateways up")
    hb.topo.set_isp(False)
    wait_for(lambda: hb.topo.default_via() == "10.10.0.11" and hb.topo.forwarding(1) == "1",
             what="failover via gw1")
    wait_for(lambda: hb.state()["failover"]["active"], what="the sidecar has seen it")
    return hb


def test_rest_pin_moves_routing_and_unpin_releases_it(failed_over):
    hb, topo = failed_over, failed_over.topo
    r = hb.http.request("POST", "/api/v1/elect", json={"address": "10.10.0.12"}, headers=hb.auth())
    assert r.status_code == 200 and r.json() == {"address": "10.10.0.12", "name": "gw2", "pinned": True}
    wait_for(lambda: topo.default_via() == "10.10.0.12", what="table 100 default via gw2")
    wait_for(lambda: topo.forwarding(2) == "1" and topo.forwarding(1) == "0", what="gw2 up, gw1 down")
    assert len(topo.rules()) == 1
    wait_for(lambda: hb.state()["elected"] == {"address": "10.10.0.12", "name": "gw2", "pinned": True},
             what="REST state: gw2 pinned")
    r = hb.http.request("DELETE", "/api/v1/elect", headers=hb.auth())
    assert r.status_code == 200 and r.json()["pinned"] is False
    assert hb.state()["elected"]["pinned"] is False
    assert topo.default_via() == "10.10.0.12"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {TOKEN}"}])
def test_pin_without_the_token_is_401_and_routing_stays(failed_over, headers):
    hb = failed_over
    r = hb.http.request("POST", "/api/v1/elect", json={"address": "10.10.0.12"}, headers=headers)
    assert r.status_code == 401
    r = hb.http.request("DELETE", "/api/v1/elect", headers=headers)
    assert r.status_code == 401
    assert hb.topo.default_via() == "10.10.0.11" and hb.topo.state()["elected"] == "10.10.0.11"


@pytest.mark.parametrize("body", [b"{", b'{"address": "10.10.0.300"}', b'{"addr": "10.10.0.12"}', b"null"])
def test_bad_bodies_are_422_and_routing_stays(failed_over, body):
    hb = failed_over
    r = hb.http.request("POST", "/api/v1/elect", content=body,
                        headers={**hb.auth(), "content-type": "application/json"})
    assert r.status_code == 422
    assert "detail" in r.json()
    assert hb.topo.default_via() == "10.10.0.11" and hb.state()["elected"]["pinned"] is False


def test_unknown_is_404_and_down_is_409(failed_over):
    hb = failed_over
    hb.nets.ip("gw2", "link", "set", "eth0", "down")
    wait_for(lambda: hb.gateways()["10.10.0.12"]["status"] == "down", what="gw2 down")
    r = hb.http.request("POST", "/api/v1/elect", json={"address": "10.10.0.99"}, headers=hb.auth())
    assert r.status_code == 404
    r = hb.http.request("POST", "/api/v1/elect", json={"address": "10.10.0.12"}, headers=hb.auth())
    assert r.status_code == 409
    assert hb.topo.default_via() == "10.10.0.11"


def test_sidecar_resends_its_election_to_a_restarted_daemon(failed_over):
    hb, topo = failed_over, failed_over.topo
    assert hb.http.request("POST", "/api/v1/elect", json={"address": "10.10.0.12"},
                           headers=hb.auth()).status_code == 200
    wait_for(lambda: topo.default_via() == "10.10.0.12", what="default via gw2")
    topo.stop_host()
    wait_for(lambda: hb.state()["daemon"]["connected"] is False, what="sidecar notices the daemon is gone")
    assert hb.sidecar.poll() is None  # and keeps serving
    topo.start_host(hb.config_path)  # the daemon starts with its default, gw1 ...
    # ... and the sidecar puts its election back.
    wait_for(lambda: topo.state()["elected"] == "10.10.0.12", what="daemon told gw2 again")
    wait_for(lambda: topo.default_via() == "10.10.0.12", what="default via gw2 again")


def test_events_stream_reports_failover_and_election(failed_over):
    hb = failed_over

    def read(client):
        seen = []
        with client.stream("GET", "/api/v1/events") as r:
            event = None
            for line in r.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:"):
                    seen.append((event, json.loads(line.split(":", 1)[1])))
                    # Until the pin shows in a state event (the sidecar learns it from the daemon's
                    # next poll), or a few periodic gateways events (1 s apart) without it.
                    if event == "state" and len(seen) > 2 and seen[-1][1]["elected"]["pinned"]:
                        return seen
                    if [k for k, _ in seen].count("gateways") > 5:
                        return seen
                    if event == "state" and len(seen) == 1:
                        client.request("POST", "/api/v1/elect", json={"address": "10.10.0.12"},
                                       headers=hb.auth())

    seen = hb.http.run(read)
    kinds = [k for k, _ in seen]
    assert kinds[:2] == ["state", "gateways"]
    assert seen[0][1]["failover"]["active"] is True
    election = [d for k, d in seen if k == "election"]
    assert election and election[0]["kind"] == "election" and "pinned" in election[0]["message"]
    assert isinstance(election[0]["ts"], float)
    assert any(k == "state" and d["elected"]["pinned"] for k, d in seen[1:])


def test_status_command_prints_a_table_and_json(failed_over):
    hb = failed_over
    cli = [sys.executable, "-m", "failover.cli", "status", "--config", str(hb.config_path)]
    table = hb.nets.exec("router", *cli)
    out = table.stdout
    assert "failover: on" in out and "gw1" in out and "10.10.0.12" in out and "RTT ms" in out
    assert out.startswith("WAN ")  # the table and nothing else: no HTTP client log lines
    as_json = hb.nets.exec("router", *cli, "--json")
    data = json.loads(as_json.stdout)
    assert data["state"]["failover"]["active"] is True and len(data["gateways"]) == 2
    assert table.stderr == "" and as_json.stderr == "", table.stderr + as_json.stderr


def test_status_command_without_sidecar_says_so(hb):
    hb.write_config(probe=False)
    cli = [sys.executable, "-m", "failover.cli", "status", "--config", str(hb.config_path)]
    proc = hb.nets.exec("router", *cli, check=False)
    assert proc.returncode == 1 and "no sidecar answering" in proc.stderr


def test_run_is_host_and_sidecar_in_one_process_and_stops_on_sigterm(hb):
    topo = hb.topo
    hb.write_config(probe=False, hold_ms=600_000)
    topo.socket_path = str(topo.tmp / "control.sock")
    proc = hb.nets.spawn("router", [sys.executable, "-m", "failover.cli", "run", "--config", str(hb.config_path)],
                         log=topo.tmp / "run.log", cwd=REPO)
    hb.sidecar = proc
    wait_for(hb._api_ready, timeout=15, what="the REST API of failover run")
    wait_for(lambda: hb.state()["daemon"]["connected"], what="its sidecar talks to its daemon")
    topo.set_isp(False)
    wait_for(lambda: topo.forwarding(1) == "1", what="failover via gw1")
    assert hb.nets.stop(proc, signal.SIGTERM, timeout=10) == 0, topo.log("run")
    assert "daemon stopped" in topo.log("run")
