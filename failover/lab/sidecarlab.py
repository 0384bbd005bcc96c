"""The router scenario with what heartbeats and the REST API need: the internet host beyond the
ISP with a STAMP reflector (the WAN path check's target), the sidecar on the router, and an HTTP
client that speaks from inside the router's namespace (the sidecar listens on its 127.0.0.1).

A silent WAN blackout is the ISP no longer forwarding: wan0's carrier stays up, the ISP itself
still answers, only what lies beyond it goes dark.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from .builder import REPO
from .netns import wait_for
from .nsocket import enter
from .routerlab import INTERNET, RouterTopology

TOKEN = "topotest-token"
API = "http://127.0.0.1:8080"


class NetnsHttp:
    """httpx from a worker thread that has joined a network namespace (setns is per thread)."""

    def __init__(self, netns: str) -> None:
        self._pool = ThreadPoolExecutor(1, initializer=self._enter, initargs=(netns,))
        self._client: httpx.Client | None = None

    def _enter(self, netns: str) -> None:
        enter(netns)
        self._client = httpx.Client(base_url=API, timeout=5)

    def request(self, method: str, path: str, **kw) -> httpx.Response:
        return self._pool.submit(lambda: self._client.request(method, path, **kw)).result()

    def get(self, path: str, **kw) -> httpx.Response:
        return self.request("GET", path, **kw)

    def run(self, fn):
        """Run ``fn(client)`` in the namespace (for streaming)."""
        return self._pool.submit(lambda: fn(self._client)).result()

    def close(self) -> None:
        if self._client is not None:
            self._pool.submit(self._client.close).result()
        self._pool.shutdown()


@dataclass
class HeartbeatTopology:
    topo: RouterTopology
    sidecar: object = None
    http: NetnsHttp | None = None
    config_path: Path | None = None
    token_file: Path = field(default=Path())

    @classmethod
    def build(cls, tmp: Path, n_gateways: int = 2, **options) -> HeartbeatTopology:
        topo = RouterTopology.build(tmp, n_gateways=n_gateways, internet=True, **options)
        self = cls(topo, token_file=tmp / "token")
        try:
            self.http = NetnsHttp(topo.nets.ns("router"))
        except BaseException:
            self.cleanup()
            raise
        return self

    @property
    def nets(self):
        return self.topo.nets

    def isp_forwarding(self, on: bool) -> None:
        """The ISP forwards to the internet, or silently stops (carrier stays up)."""
        self.topo.isp_forwarding(on)

    def write_config(self, gateways: list[str] | None = None, probe: bool = True, hold_ms: int = 500,
                     **sections: dict) -> Path:
        """The router's failover.toml: path check at the internet host (``probe``), the REST API
        on the router's 127.0.0.1:8080, and any more ``sections`` (dicts of fields)."""
        self.token_file.write_text(TOKEN + "\n")
        wan = ({"probe": INTERNET} if probe else {}) | sections.pop("wan", {})
        self.config_path = self.topo.config(gateways, wan=wan, election={"hold_ms": hold_ms},
                                            api={"listen": "127.0.0.1:8080", "token_file": str(self.token_file)},
                                            **sections)
        return self.config_path

    def start_sidecar(self, *extra: str):
        assert self.config_path is not None, "write_config first"
        self.sidecar = self.nets.spawn(
            "router", [sys.executable, "-m", "failover.cli", "sidecar", "--config", str(self.config_path), *extra],
            log=self.topo.tmp / "sidecar.log", name="sidecar", cwd=REPO,
        )
        wait_for(self._api_ready, timeout=15, what="the sidecar's REST API")
        return self.sidecar

    def _api_ready(self) -> bool:
        if self.sidecar.poll() is not None:
            raise RuntimeError(f"sidecar exited {self.sidecar.returncode}:\n{self.topo.log('sidecar')}")
        try:
            return self.http.get("/api/v1/state").status_code == 200
        except httpx.HTTPError:
            return False

    # -- observations ----------------------------------------------------------------------

    def state(self) -> dict:
        return self.http.get("/api/v1/state").json()

    def gateways(self) -> dict[str, dict]:
        return {g["address"]: g for g in self.http.get("/api/v1/gateways").json()}

    def all_up(self) -> bool:
        return all(g["status"] == "up" for g in self.gateways().values())

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {TOKEN}"}

    def cleanup(self) -> None:
        try:
            if self.http is not None:
                self.http.close()
        finally:
            self.topo.cleanup()


def path_verdicts(hb: HeartbeatTopology) -> list[bool]:
    """The path check's verdicts so far, from the sidecar's event log."""
    return [e["path"] for e in hb.http.get("/api/v1/log").json()
            if e["kind"] == "wan" and e.get("source") == "path-check"]



def failover_switches(hb: HeartbeatTopology) -> list[bool]:
    """Failover on/off as the sidecar's event log tells it, in order."""
    return [e["active"] for e in hb.http.get("/api/v1/log").json() if e["kind"] == "failover" and "active" in e]



def hb_fixture(tmp_path, n_gateways: int = 2, **options):
    """Generator for the test modules' fixtures: built (``options``: router_topology's, e.g.
    ``ipv6=True``), yielded, always torn down."""
    t = HeartbeatTopology.build(tmp_path, n_gateways=n_gateways, **options)
    try:
        yield t
    finally:
        t.cleanup()
