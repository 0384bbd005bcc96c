"""The dashboard in a real headless Chromium, served by the real app over a fake measuring core
(fake_sidecar.py).

These test the page's behaviour over the HTTP surface of the design: what it shows, that it
follows the server-sent events without reloading, how it asks for the token, reconnection,
layout on a phone and on a wall screen, accessibility basics. A test against the real lab
lives elsewhere.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from .conftest import ARTIFACTS
from .fake_sidecar import TOKEN

pytestmark = pytest.mark.browser

PUSH_BOUND_S = 2.0   # a pushed state change must show within this


def tid(page_or_locator, testid: str):
    return page_or_locator.locator(f'[data-testid="{testid}"]')


def card(page: Page, address: str):
    return page.locator(f'[data-testid="gateway-card"][data-address="{address}"]')


def open_live(page: Page):
    page.goto("/")
    expect(tid(page, "conn-status")).to_have_attribute("data-state", "live")


def wait_until_shown(page: Page, js_predicate: str) -> float:
    """Seconds until the predicate holds on the page (fails past PUSH_BOUND_S)."""
    t0 = time.monotonic()
    page.wait_for_function(js_predicate, timeout=PUSH_BOUND_S * 1000)
    return time.monotonic() - t0


def test_page_loads_with_state(page: Page):
    open_live(page)
    expect(page).to_have_title("WAN up — Adaptive Failover")
    expect(tid(page, "wan-up")).to_have_text("WAN up")
    expect(tid(page, "wan-interface")).to_have_text("(wan0)")
    expect(tid(page, "wan-carrier")).to_have_text("up")
    expect(tid(page, "wan-path")).to_have_text("up")
    expect(tid(page, "failover-active")).to_have_text("off")
    expect(tid(page, "failover-rule")).to_have_text("absent")
    expect(tid(page, "elected-name")).to_have_text("alt1")
    expect(tid(page, "elected-address")).to_have_text("10.10.0.11")
    expect(tid(page, "elected-pinned")).to_have_text("automatic")
    expect(tid(page, "unpin-button")).to_be_hidden()
    expect(tid(page, "daemon-status")).to_be_hidden()
    expect(tid(page, "lab-panel")).to_be_hidden()


def test_gateways_and_latencies_appear_and_update_live(page: Page, sidecar):
    sidecar.tick(interval=0.2)
    open_live(page)
    expect(tid(page, "gateway-card")).to_have_count(3)
    alt2 = card(page, "10.10.0.12")
    expect(tid(alt2, "gw-name")).to_have_text("alt2")
    expect(tid(alt2, "gw-status")).to_have_text("up")
    expect(tid(alt2, "gw-rtt")).to_have_text("18.5 ms")
    expect(tid(alt2, "gw-jitter")).to_have_text("1.10 ms")
    expect(tid(card(page, "10.10.0.13"), "gw-loss")).to_have_text("2.0 %")
    expect(tid(card(page, "10.10.0.11"), "gw-elected")).to_be_visible()
    expect(tid(alt2, "gw-elected")).to_be_hidden()

    # New measurements arrive on the stream and the numbers and charts follow, without reload.
    page.evaluate("window.__noReload = true")
    gws = sidecar.fake.public_gateways()
    gws[1].update(rtt_ms=55.31, loss=0.25, status="down")
    sidecar.set_gateways(gws)
    expect(tid(alt2, "gw-rtt")).to_have_text("55.3 ms")
    expect(tid(alt2, "gw-loss")).to_have_text("25.0 %")
    expect(tid(alt2, "gw-status")).to_have_text("down")
    expect(tid(alt2, "pin-button")).to_be_disabled()
    for chart in ("chart-rtt", "chart-jitter", "chart-loss"):
        expect(page.locator(f'[data-testid="{chart}"] path.series')).to_have_count(3)
    expect(page.locator('[data-testid="chart-rtt"] svg')).to_have_attribute(
        "aria-label", "Round-trip time (ms): alt1 4.2 ms, alt2 55.3 ms, lte 42.0 ms")
    expect(tid(page, "chart-legend").locator("li")).to_have_text(["alt1", "alt2", "lte"])
    assert page.evaluate("window.__noReload") is True


def test_unreachable_gateway_is_shown_unusable_live(page: Page, sidecar):
    sidecar.tick(interval=0.2)
    open_live(page)
    page.evaluate("window.__noReload = true")
    alt1 = card(page, "10.10.0.11")
    expect(tid(alt1, "gw-unreachable")).to_be_hidden()
    expect(tid(alt1, "pin-button")).to_be_enabled()
    # The daemon cannot tell alt1 up/down: its heartbeat is fine, the election may not use it.
    gws = sidecar.fake.public_gateways()
    gws[0].update(reachable=False, usable=False)
    sidecar.set_gateways(gws)
    expect(tid(alt1, "gw-unreachable")).to_be_visible()
    expect(tid(alt1, "gw-unreachable")).to_have_text("unreachable")
    expect(tid(alt1, "gw-status")).to_have_text("up")
    expect(alt1).to_have_attribute("data-usable", "false")
    expect(tid(alt1, "pin-button")).to_be_disabled()
    expect(tid(alt1, "pin-button")).to_have_attribute("title", "A gateway that does not answer up/down cannot be pinned")
    gws[0].update(reachable=True, usable=True)
    sidecar.set_gateways(gws)
    expect(tid(alt1, "gw-unreachable")).to_be_hidden()
    expect(alt1).to_have_attribute("data-usable", "true")
    assert page.evaluate("window.__noReload") is True


def test_failover_pushed_by_sse_shows_within_bound(page: Page, sidecar):
    open_live(page)
    page.evaluate("window.__noReload = true")
    since = time.time()
    sidecar.patch_state({
        "wan": {"carrier": False, "up": False},
        "failover": {"active": True, "since": since, "rule": True},
        "changes": 1,
    })
    took = wait_until_shown(
        page, "document.querySelector('[data-testid=failover-active]').textContent === 'ON'")
    assert took < PUSH_BOUND_S
    expect(tid(page, "wan-up")).to_have_text("WAN down")
    expect(tid(page, "wan-carrier")).to_have_text("down")
    expect(tid(page, "failover-rule")).to_have_text("present")
    expect(tid(page, "failover-since")).to_contain_text("s ago")
    expect(tid(page, "failover-since").locator("time")).to_have_count(1)
    expect(tid(page, "changes")).to_have_text("1")
    expect(page).to_have_title("⚠ Failover ON — Adaptive Failover")
    assert page.evaluate("window.__noReload") is True


def test_log_shows_history_and_live_events_with_reason(page: Page, sidecar):
    sidecar.log({"kind": "gateway", "message": "alt2 up",
                                          "reason": "10 consecutive replies"})
    open_live(page)
    entries = tid(page, "log-entry")
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text("alt2 up")

    sidecar.log({
        "kind": "election", "message": "elected alt2 (10.10.0.12)",
        "reason": "alt1 loss 30% > down threshold", "score": 20.7})
    took = wait_until_shown(page, "document.querySelectorAll('[data-testid=log-entry]').length === 2")
    assert took < PUSH_BOUND_S
    newest = entries.first
    expect(newest).to_have_attribute("data-kind", "election")
    expect(tid(newest, "log-message")).to_have_text("elected alt2 (10.10.0.12)")
    expect(tid(newest, "log-reason")).to_have_text("reason: alt1 loss 30% > down threshold")
    expect(newest).to_contain_text("score=20.7")


def test_pin_through_ui_sends_bearer_token_and_shows_pinned(page: Page, sidecar):
    open_live(page)
    tid(card(page, "10.10.0.12"), "pin-button").click()
    dialog = tid(page, "token-dialog")
    expect(dialog).to_be_visible()
    tid(page, "token-input").fill(TOKEN)
    tid(page, "token-submit").click()
    expect(dialog).to_be_hidden()

    expect(tid(page, "elected-pinned")).to_have_text("pinned")
    expect(tid(page, "elected-name")).to_have_text("alt2")
    expect(tid(card(page, "10.10.0.12"), "pin-button")).to_have_text("Unpin")
    expect(tid(page, "action-status")).to_contain_text("done")
    expect(tid(page, "log-entry").first).to_contain_text("pinned to alt2 10.10.0.12 by the REST API")
    [req] = sidecar.requests()
    assert req == {"method": "POST", "path": "/api/v1/elect", "authorization": f"Bearer {TOKEN}",
                   "body": {"address": "10.10.0.12"}, "status": 200}
    assert page.evaluate("sessionStorage.getItem('failover.token')") == TOKEN

    # The token is kept for the session: unpinning does not ask again.
    tid(page, "unpin-button").click()
    expect(tid(page, "elected-pinned")).to_have_text("automatic")
    expect(dialog).to_be_hidden()
    assert sidecar.requests()[-1] == {"method": "DELETE", "path": "/api/v1/elect",
                                      "authorization": f"Bearer {TOKEN}", "body": None,
                                      "status": 200}


def test_a_late_snapshot_does_not_undo_a_pushed_pin(page: Page, sidecar):
    """The lab's lost "pinned": after a pin the page also GETs the state; under load that answer,
    computed before the daemon applied the pin, can arrive after the stream pushed the pinned
    state, and nothing is pushed after it. The stream's newer state must stand."""
    open_live(page)
    page.evaluate(f"sessionStorage.setItem('failover.token', '{TOKEN}')")
    sidecar.delays(pin_s=0.3, state_s=1.0)
    with page.expect_response(lambda r: r.url.endswith("/api/v1/state")) as late:
        tid(card(page, "10.10.0.12"), "pin-button").click()
        expect(tid(page, "elected-pinned")).to_have_text("pinned")   # pushed after 0.3 s
    assert late.value.json()["elected"]["pinned"] is False            # the late answer is older
    late.value.finished()
    page.evaluate("() => new Promise((done) => setTimeout(done, 200))")  # the page has read it
    expect(tid(page, "elected-pinned")).to_have_text("pinned", timeout=100)
    expect(tid(page, "elected-name")).to_have_text("alt2", timeout=100)


def test_401_asks_for_the_token_again(page: Page, sidecar):
    open_live(page)
    tid(card(page, "10.10.0.13"), "pin-button").click()
    tid(page, "token-input").fill("wrong-token")
    tid(page, "token-submit").click()

    # Refused: the dialog comes back, saying why.
    expect(tid(page, "token-dialog")).to_be_visible()
    expect(tid(page, "token-message")).to_contain_text("refused")
    assert page.evaluate("sessionStorage.getItem('failover.token')") is None
    tid(page, "token-input").fill(TOKEN)
    tid(page, "token-submit").click()

    expect(tid(page, "elected-name")).to_have_text("lte")
    expect(tid(page, "elected-pinned")).to_have_text("pinned")
    assert [(r["authorization"], r["status"]) for r in sidecar.requests()] == [
        ("Bearer wrong-token", 401), (f"Bearer {TOKEN}", 200)]


def test_cancelled_token_sends_nothing_and_errors_are_shown(page: Page, sidecar):
    open_live(page)
    tid(card(page, "10.10.0.12"), "pin-button").click()
    tid(page, "token-cancel").click()
    expect(tid(page, "token-dialog")).to_be_hidden()
    expect(tid(page, "action-status")).to_contain_text("cancelled")
    assert sidecar.requests() == []

    # A gateway that went down between render and click: the 409 is shown, nothing changes.
    page.evaluate(f"sessionStorage.setItem('failover.token', '{TOKEN}')")
    sidecar.fake.gateways[1]["status"] = "down"
    tid(card(page, "10.10.0.12"), "pin-button").click()
    expect(tid(page, "action-status")).to_contain_text("is down: cannot pin it (HTTP 409)")
    expect(tid(page, "elected-pinned")).to_have_text("automatic")


def test_lab_buttons_only_when_enabled(new_page, sidecar):
    page = new_page()
    open_live(page)
    expect(tid(page, "lab-panel")).to_be_hidden()
    expect(tid(page, "fault-wan-carrier")).to_be_hidden()
    expect(tid(page, "fault-target-silence")).to_be_hidden()
    expect(tid(page, "fault-target-clear")).to_be_hidden()
    page.close()

    sidecar.lab(True)
    page = new_page()
    open_live(page)
    expect(tid(page, "lab-panel")).to_be_visible()
    tid(page, "fault-wan-carrier").click()
    tid(page, "token-input").fill(TOKEN)
    tid(page, "token-submit").click()
    expect(tid(page, "failover-active")).to_have_text("ON")
    expect(tid(page, "wan-carrier")).to_have_text("down")
    expect(page.locator('[data-testid="log-entry"][data-kind="wan"]')).to_contain_text("WAN down")
    expect(page.locator('[data-testid="log-entry"][data-kind="failover"]')).to_contain_text(
        "reason: WAN down")

    tid(page, "fault-clear").click()   # token kept: no prompt
    expect(tid(page, "failover-active")).to_have_text("off")
    assert [(r["path"], r["body"]["kind"]) for r in sidecar.requests()] == [
        ("/api/v1/lab/fault", "wan-carrier"), ("/api/v1/lab/fault", "clear")]


def test_unreachable_sidecar_is_shown_and_stream_reconnects(page: Page, sidecar):
    open_live(page)
    sidecar.reachable(False)
    conn = tid(page, "conn-status")
    expect(conn).to_have_attribute("data-state", "unreachable")
    expect(conn).to_contain_text("sidecar unreachable")
    # Missed while away: a log event and a state change.
    sidecar.log({"kind": "wan", "message": "WAN down (missed)"})
    sidecar.patch_state({"failover": {"active": True, "since": time.time()}})

    sidecar.reachable(True)
    expect(conn).to_have_attribute("data-state", "live", timeout=15_000)
    expect(tid(page, "failover-active")).to_have_text("ON")
    expect(tid(page, "log-entry").first).to_contain_text("WAN down (missed)")


def test_daemon_not_connected_is_shown(page: Page, sidecar):
    open_live(page)
    sidecar.patch_state({
        "daemon": {"connected": False, "message": "no daemon at /run/failover/control.sock"}})
    banner = tid(page, "daemon-status")
    expect(banner).to_be_visible()
    expect(banner).to_have_text("Daemon not connected: no daemon at /run/failover/control.sock")
    sidecar.patch_state({"daemon": {"connected": True, "message": "ok"}})
    expect(banner).to_be_hidden()


def test_accessibility_basics(page: Page):
    open_live(page)
    assert page.get_attribute("html", "lang") == "en"
    expect(tid(page, "event-log")).to_have_attribute("role", "log")
    expect(tid(page, "event-log")).to_have_attribute("aria-live", "polite")
    expect(tid(page, "state-panel")).to_have_attribute("aria-live", "polite")
    expect(page.get_by_role("heading", level=1)).to_have_text("Adaptive Failover")
    for name in ("Pin alt1", "Pin alt2", "Pin lte"):
        expect(page.get_by_role("button", name=name)).to_be_visible()
    for chart in ("Round-trip time", "Jitter", "Loss"):
        expect(page.get_by_role("img", name=chart)).to_have_count(1)


CONTRAST_JS = """() => {
  const lum = (c) => { const [r, g, b] = c.map((v) => { v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const rgb = (s) => s.match(/[\\d.]+/g).map(Number);
  const bg = (el) => { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length < 4 || c[3] > 0.5) return c.slice(0, 3); } return [255, 255, 255]; };
  const bad = [];
  for (const el of document.querySelectorAll('main *, header *')) {
    if (!el.offsetParent || ![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    const a = lum(rgb(getComputedStyle(el).color).slice(0, 3)), b = lum(bg(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5 && !el.closest('button:disabled')) bad.push(`${el.tagName}.${el.className}: ${el.textContent.trim().slice(0, 30)} ${ratio.toFixed(2)}`);
  }
  return bad;
}"""


@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_text_contrast_meets_wcag_aa(new_page, sidecar, scheme):
    sidecar.lab(True)
    sidecar.log({"kind": "failover", "message": "failover on",
                                          "reason": "WAN down", "gateway": "10.10.0.11"})
    page = new_page(color_scheme=scheme)
    open_live(page)
    expect(tid(page, "log-entry")).to_have_count(1)
    assert page.evaluate(CONTRAST_JS) == []


def test_phone_layout_single_column(new_page, sidecar):
    sidecar.lab(True)
    sidecar.tick(interval=0.2, wobble=True)
    page = new_page(width=390, height=844, is_mobile=True, has_touch=True)
    open_live(page)
    expect(tid(page, "gateway-card")).to_have_count(3)
    page.wait_for_timeout(2000)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    boxes = {s: page.locator(sel).bounding_box() for s, sel in {
        "wan": '[data-testid="wan-panel"]', "failover": '[data-testid="failover-panel"]',
        "gateways": "section.gateways", "charts": "section.charts", "log": "section.log"}.items()}
    lefts = {round(b["x"]) for b in boxes.values()}
    assert len(lefts) == 1, boxes                            # one column
    assert boxes["wan"]["y"] < boxes["failover"]["y"] < boxes["gateways"]["y"] < boxes["log"]["y"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-phone.png"), full_page=True)


def test_wall_screen_layout_and_screenshot(new_page, sidecar):
    """Multi-column on a wall screen (screenshot in tests/artifacts; the README's comes from the
    real lab: tests/browser/test_dashboard_lab.py writes tests/artifacts/dashboard-lab.png)."""
    sidecar.lab(True)
    sidecar.tick(interval=0.25, wobble=True)
    for kind, msg, reason in [
        ("gateway", "alt1 up", "10 consecutive replies"),
        ("gateway", "alt2 up", "10 consecutive replies"),
        ("gateway", "lte up", "10 consecutive replies"),
        ("election", "elected alt1 (10.10.0.11)", "best score 4.8 (rtt 4.2 ms, jitter 0.3 ms, loss 0 %)"),
    ]:
        sidecar.log({"kind": kind, "message": msg, "reason": reason})
    page = new_page(width=1600, height=1000, color_scheme="dark")
    open_live(page)
    page.wait_for_timeout(6000)
    page.evaluate(f"sessionStorage.setItem('failover.token', '{TOKEN}')")
    tid(page, "fault-wan-path").click()
    expect(tid(page, "failover-active")).to_have_text("ON")
    page.wait_for_timeout(4000)

    gw = page.locator("section.gateways").bounding_box()
    log = page.locator("section.log").bounding_box()
    status = tid(page, "state-panel").bounding_box()
    assert log["x"] > gw["x"] + gw["width"] - 1             # log beside, not below
    assert abs(tid(page, "wan-panel").bounding_box()["y"]
               - tid(page, "elected-panel").bounding_box()["y"]) < 1   # status cards in a row
    assert status["y"] < gw["y"]
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)



def test_targets_panel_shows_each_target_and_follows_its_status(page: Page, sidecar):
    open_live(page)
    expect(tid(page, "targets-panel")).to_be_hidden()  # no path check targets: no panel
    sidecar.call(lambda: setattr(sidecar.fake, "targets", [
        {"address": "203.0.113.1", "kind": "stamp", "status": "up", "rtt_ms": 0.4, "loss": 0.0},
        {"address": "192.0.2.53", "kind": "icmp", "status": "up", "rtt_ms": 12.5, "loss": 0.01},
        {"address": "198.18.0.53", "kind": "icmp", "status": "up", "rtt_ms": 23.0, "loss": 0.0}]))
    expect(tid(page, "targets-panel")).to_be_visible()
    rows = page.locator('[data-testid="target-row"]')
    expect(rows).to_have_count(3)
    expect(tid(page, "targets-quorum")).to_have_text("(IPv4 3 of 3 up)")
    row = page.locator('[data-testid="target-row"][data-address="192.0.2.53"]')
    expect(tid(row, "target-kind")).to_have_text("icmp")
    expect(tid(row, "target-rtt")).to_have_text("12.5 ms")
    expect(tid(row, "target-loss")).to_have_text("1.0 %")
    # one target silenced: shown down within a couple of seconds (polled every second)
    sidecar.call(lambda: sidecar.fake.targets[1].update(status="down", rtt_ms=None, loss=1.0))
    expect(tid(row, "target-status")).to_have_text("down", timeout=3000)
    expect(tid(row, "target-status")).to_have_class("pill pill-bad")
    expect(tid(page, "targets-quorum")).to_have_text("(IPv4 2 of 3 up)")


def test_targets_quorum_is_shown_per_family(page: Page, sidecar):
    """wan.reliability applies to each family on its own: the panel counts each family's targets
    apart, and each row says its family."""
    open_live(page)
    sidecar.call(lambda: setattr(sidecar.fake, "targets", [
        {"address": "203.0.113.1", "kind": "stamp", "status": "up", "rtt_ms": 0.4, "loss": 0.0},
        {"address": "192.0.2.53", "kind": "icmp", "status": "up", "rtt_ms": 12.5, "loss": 0.0},
        {"address": "fd00:203:0:113::1", "kind": "stamp", "status": "up", "rtt_ms": 0.5, "loss": 0.0,
         "family": "ipv6"},
        {"address": "fd00:192:0:2::53", "kind": "icmp", "status": "up", "rtt_ms": 13.0, "loss": 0.0,
         "family": "ipv6"}]))
    expect(page.locator('[data-testid="target-row"]')).to_have_count(4)
    expect(tid(page, "targets-quorum")).to_have_text("(IPv4 2 of 2 up · IPv6 2 of 2 up)")
    row6 = page.locator('[data-testid="target-row"][data-address="fd00:192:0:2::53"]')
    expect(row6).to_have_attribute("data-family", "ipv6")
    expect(tid(row6, "target-family")).to_have_text("IPv6")
    expect(tid(page.locator('[data-testid="target-row"][data-address="192.0.2.53"]'), "target-family")) \
        .to_have_text("IPv4")
    # IPv6's targets go silent: only IPv6's count drops, IPv4's stays whole
    sidecar.call(lambda: [t.update(status="down", rtt_ms=None, loss=1.0) for t in sidecar.fake.targets[2:]])
    expect(tid(page, "targets-quorum-ipv6")).to_have_text("IPv6 0 of 2 up", timeout=3000)
    expect(tid(page, "targets-quorum-ipv4")).to_have_text("IPv4 2 of 2 up")
    expect(tid(page, "targets-quorum")).to_have_text("(IPv4 2 of 2 up · IPv6 0 of 2 up)")


FLOW = {"sent": 1200, "received": 1195, "loss": 0.004, "rtt_ms": 0.6, "outage_ms": 0.0,
        "longest_outage_ms": 84.0, "last_echo": None}


def test_lab_panel_shows_both_demo_flows(page: Page, sidecar):
    """The dual-stack lab runs its demo flow over IPv4 and IPv6: the lab panel shows both."""
    sidecar.lab(True)
    sidecar.lab_fake.flow_counters = FLOW
    sidecar.lab_fake.flow6_counters = {**FLOW, "sent": 1100, "received": 900, "loss": 200 / 1100,
                                       "outage_ms": 350.0, "longest_outage_ms": 1250.0}
    open_live(page)
    expect(tid(page, "lab-flow")).to_have_text(
        "Demo flow (client → internet host, UDP echo): sent 1200, echoed 1195 (0.4 % lost), longest outage 84 ms.")
    expect(tid(page, "lab-flow6")).to_be_visible()
    expect(tid(page, "lab-flow6")).to_have_text(
        "IPv6 demo flow (client → internet host, UDP echo): sent 1100, echoed 900 (18.2 % lost), "
        "longest outage 1250 ms, no echo for 350 ms now.")
    # polled: the IPv6 flow's counters move on the page
    sidecar.lab_fake.flow6_counters = {**sidecar.lab_fake.flow6_counters, "sent": 1200, "received": 1000}
    expect(tid(page, "lab-flow6")).to_contain_text("sent 1200, echoed 1000", timeout=3000)


def test_lab_panel_without_an_ipv6_flow_shows_the_ipv4_one_only(page: Page, sidecar):
    sidecar.lab(True)
    sidecar.lab_fake.flow_counters = FLOW
    open_live(page)
    expect(tid(page, "lab-flow")).to_contain_text("sent 1200, echoed 1195")
    expect(tid(page, "lab-flow6")).to_be_hidden()
