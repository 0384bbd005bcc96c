"""Schemathesis against the /openapi.json of a real running sidecar (`failover sidecar`, uvicorn
on loopback, API token configured): every operation, generated valid and invalid inputs, with
and without the token. No answer may be a 5xx. (The SSE stream never ends, so it is left out.)
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx
import pytest
import schemathesis
from schemathesis import GenerationMode
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from failover.config import Config, to_toml
from failover.lab.routerlab import REPO

pytestmark = pytest.mark.slow

TOKEN = "fuzz-token-0123456789"
MAX_EXAMPLES = 300  # per operation, each sent with and without the token


def free_port(kind=socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def sidecar(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("schemathesis")
    (tmp / "token").write_text(TOKEN + "\n")
    port = free_port()
    (tmp / "failover.toml").write_text(to_toml(Config.model_validate({
        "wan": {"interface": "wan0"}, "failover": {"lan_interface": "lan0"},
        "control": {"socket": f"{tmp}/control.sock"}, "heartbeat": {"port": free_port(socket.SOCK_DGRAM)},
        "gateway": [{"name": "a", "address": "127.0.0.2"}, {"name": "b", "address": "127.0.0.3"}],
        "api": {"listen": f"127.0.0.1:{port}", "token_file": f"{tmp}/token"}})))
    log = open(tmp / "sidecar.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "failover.cli", "sidecar", "--config", str(tmp / "failover.toml"),
                             "--lab-fault-command", "true"],
                            stdout=log, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            assert proc.poll() is None, (tmp / "sidecar.log").read_text()
            try:
                if httpx.get(f"{base}/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "sidecar did not start"
            time.sleep(0.1)
        yield base, proc, tmp
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_no_operation_answers_5xx(sidecar):
    # Driven through Hypothesis directly: schemathesis' pytest plugin does not support pytest 9.
    base, proc, tmp = sidecar
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json").exclude(path="/api/v1/events")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7, [op.label for op in operations]
    calls = Counter()
    t0 = time.monotonic()

    for op, mode in [(op, mode) for op in operations for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]:
        try:
            strategy = op.as_strategy(generation_mode=mode)
        except Exception:  # noqa: BLE001 - nothing negative to generate for a parameterless GET
            continue

        @given(case=strategy)
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            for headers in ({}, {"Authorization": f"Bearer {TOKEN}"}):
                response = case.call(headers=headers, timeout=10)
                calls[response.status_code] += 1
                assert response.status_code < 500, (
                    f"{case.method} {case.formatted_path} {case.body!r} -> "
                    f"{response.status_code}: {response.text[:300]}")

        try:
            check()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # no input to break, e.g. a GET without parameters
        assert proc.poll() is None, (tmp / "sidecar.log").read_text()[-2000:]
    print(f"\nschemathesis ({time.monotonic() - t0:.1f} s): {len(operations)} operations, {sum(calls.values())} calls, statuses {dict(calls)}")
    assert calls[401] > 0 and calls[422] > 0 and calls[200] > 0


def test_the_sidecar_survived_and_still_answers(sidecar):
    base, proc, _ = sidecar
    assert proc.poll() is None
    r = httpx.get(f"{base}/api/v1/gateways", timeout=5)
    assert r.status_code == 200 and {g["name"] for g in r.json()} == {"a", "b"}
