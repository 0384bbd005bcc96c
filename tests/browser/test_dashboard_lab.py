"""The dashboard against the real lab: real namespaces, host, sidecar, agents and flow.

Expected: the three gateways appear with measured RTTs ordered by their emulated distance; a
WAN carrier fault from the page's lab button shows failover ON and its event within 3 s, and
the router's rule appears; pinning alt2 through the page moves table 100's default to alt2.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid

import pytest
from playwright.sync_api import Page, expect

from failover.lab.namespaces import Lab
from failover.lab.topology import load
from failover.lab.netns import wait_for

from .conftest import ARTIFACTS
from .test_dashboard import card, tid

pytestmark = [pytest.mark.browser, pytest.mark.netns]
SHOWN_S = 3.0
PINNED_S = 10.0  # generous: CI runs this beside the whole lab on two cores


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if shutil.which("nft") is None:
        pytest.skip("nft not installed (apt-get install nftables)")
    topo = load("conf/lab.toml").model_copy(update={"prefix": f"ab{uuid.uuid4().hex[:5]}"})
    lab = Lab(topo, state=tmp_path_factory.mktemp("lab"), api_port=18080)
    try:
        lab.build()
        lab.start()
        yield lab
    finally:
        # the processes' logs outlive the lab, for a failure to be read afterwards
        if lab.logs.exists():
            shutil.copytree(lab.logs, ARTIFACTS / "lab-logs", dirs_exist_ok=True)
        lab.down()


@pytest.fixture
def lab_page(browser, lab):
    context = browser.new_context(base_url=lab.url, viewport={"width": 1600, "height": 1100})
    page = context.new_page()
    yield page
    context.close()


def routes(lab: Lab) -> dict:
    out = subprocess.run(["ip", "-n", lab.topo.ns("router"), "-j", "route", "show", "table", "100"],
                         capture_output=True, text=True, check=True).stdout
    return {r["dst"]: r for r in json.loads(out or "[]")}


def rules(lab: Lab) -> list:
    out = subprocess.run(["ip", "-n", lab.topo.ns("router"), "-j", "rule", "show"],
                         capture_output=True, text=True, check=True).stdout
    return [r for r in json.loads(out) if r.get("priority") == 1000]


def test_lab_dashboard_shows_failover_and_pin_moves_routing(lab_page: Page, lab):
    page = lab_page
    page.goto("/")
    expect(tid(page, "conn-status")).to_have_attribute("data-state", "live")
    # Gateways and their latencies appear, ordered as the lab's emulated distances.
    for g in lab.topo.gateway:
        expect(tid(card(page, g.address), "gw-status")).to_have_text("up", timeout=10_000)
    rtts = [float(tid(card(page, g.address), "gw-rtt").inner_text().split()[0]) for g in lab.topo.gateway]
    assert rtts == sorted(rtts), rtts
    assert rtts[0] >= lab.topo.gateway[0].delay_ms
    page.wait_for_timeout(10_000)  # ten seconds of live charts, for the screenshot
    expect(tid(page, "lab-flow")).to_contain_text("Demo flow (client")
    # A WAN fault injected from the page: failover shows, with its event, within the bound.
    tid(page, "fault-wan-carrier").click()
    tid(page, "token-input").fill(lab.token_file.read_text().strip())
    tid(page, "token-submit").click()
    expect(tid(page, "failover-active")).to_have_text("ON", timeout=SHOWN_S * 1000)
    expect(tid(page, "event-log")).to_contain_text("failover on", timeout=SHOWN_S * 1000)
    assert len(rules(lab)) == 1
    # Pin alt2 through the page: routing follows.
    alt2 = lab.topo.gateway[1]
    tid(card(page, alt2.address), "pin-button").click()
    expect(tid(page, "action-status")).to_contain_text("Pin alt2: done", timeout=SHOWN_S * 1000)
    # Routing first (the daemon applies the pin within a poll), then the page, live (no reload),
    # which shows "pinned" once the daemon reports the pinned gateway as elected. (It used to be
    # lost under load: the page's GET of the state after the pin, answered before the daemon
    # applied it, arrived after the stream's pinned state and undid it; test_dashboard.py's
    # test_a_late_snapshot_does_not_undo_a_pushed_pin reproduces that.)
    wait_for(lambda: routes(lab).get("default", {}).get("gateway") == alt2.address, timeout=10,
             what="table 100's default via alt2")
    expect(tid(page, "elected-pinned")).to_have_text("pinned", timeout=PINNED_S * 1000)
    expect(tid(card(page, alt2.address), "gw-elected")).to_be_visible(timeout=PINNED_S * 1000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-lab.png"), full_page=True)
    tid(page, "fault-clear").click()
    expect(tid(page, "failover-active")).to_have_text("off", timeout=10_000)
