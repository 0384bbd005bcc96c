"""The dashboard against the real lab: real namespaces, host, sidecar, agents and flow.

Expected: the three gateways appear with measured RTTs ordered by their emulated distance; a
WAN carrier fault from the page's lab button shows failover ON and its event within 3 s, and
the router's rule appears; pinning alt2 through the page moves table 100's default to alt2; the
lab panel shows both demo flows (IPv4 and IPv6). One path-check target silenced from the page
shows down in the Targets panel (its family's quorum 2 of 3, the other's 3 of 3) while the path
stays up and no failover rule is made; cleared, it shows up again.
IPv6 black-holed beyond the ISP from the page (`wan-path6`) fails IPv6 over on its own: the IPv6
card's failover ON and `ip -6 rule` at 1000 in the router, IPv4's failover off with no IPv4 rule,
and the IPv4 demo flow keeps echoing; cleared, IPv6 comes back.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid

import pytest
from playwright.sync_api import Page, expect

from failover.core.controlline import STATE, state_fields
from failover.lab.namespaces import Lab
from failover.lab.netns import wait_for
from failover.lab.rulewatch import FibWatch, RuleWatch
from failover.lab.topology import load
from failover.net.control_client import request_blocking

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
def lab_page(browser, lab, request):
    context = browser.new_context(base_url=lab.url, viewport={"width": 1600, "height": 1100})
    page = context.new_page()
    yield page
    # A failure keeps what the page and the lab showed then (a later run overwrites lab-logs/).
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"failed-{request.node.name}.png"), full_page=True)
        shutil.copytree(lab.logs, ARTIFACTS / f"failed-{request.node.name}-logs", dirs_exist_ok=True)
    context.close()


def routes(lab: Lab) -> dict:
    out = subprocess.run(["ip", "-n", lab.topo.ns("router"), "-j", "route", "show", "table", "100"],
                         capture_output=True, text=True, check=True).stdout
    return {r["dst"]: r for r in json.loads(out or "[]")}


def press_fault(page: Page, lab: Lab, fault: str) -> None:
    """A lab fault button pressed, the token given (each test's browser context is new: it is
    asked once), and the page's "done" for it."""
    tid(page, f"fault-{fault}").click()
    tid(page, "token-input").fill(lab.token_file.read_text().strip())
    tid(page, "token-submit").click()
    expect(tid(page, "action-status")).to_contain_text(f"{fault}: done", timeout=10_000)


def rules(lab: Lab, family: str = "-4") -> list:
    out = subprocess.run(["ip", family, "-n", lab.topo.ns("router"), "-j", "rule", "show"],
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
    expect(tid(page, "lab-flow6")).to_contain_text("IPv6 demo flow (client")  # the dual-stack lab's second flow
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


def target_row(page: Page, address: str):
    return page.locator(f'[data-testid="target-row"][data-address="{address}"]')


def quorum(down4: int = 0, down6: int = 0) -> str:
    """The Targets panel's count: each family's own quorum (three targets each in the lab)."""
    return f"(IPv4 {3 - down4} of 3 up · IPv6 {3 - down6} of 3 up)"


TARGET_DOWN_S = 5.0  # 100 ms x 3 to notice, 1 s between the page's polls; generous on two loaded cores
WATCH_S = 3.0        # the fault held this long with the path up before it is cleared


def test_lab_silenced_target_goes_down_on_the_page_and_the_path_stays_up(lab_page: Page, lab):
    """One of the three path-check targets silenced from the page's lab button (nftables in its
    own namespace drops echo requests): the Targets panel shows it down and the others up, the
    path stays up and no failover rule is made, by the kernel's own account (an rtnetlink listener
    in the router's namespace and `ip rule`); cleared from the page, it comes back up."""
    page = lab_page
    _, silenced = lab.topo.fault_target
    addresses = [t.address for t in lab.router_config().wan.target]
    assert len(addresses) == 6 and silenced in addresses  # three per family
    # Start from the steady state (an earlier test may have left a fault cleared a moment ago).
    wait_for(lambda: not rules(lab), timeout=15, what="no failover rule")
    page.goto("/")
    expect(tid(page, "conn-status")).to_have_attribute("data-state", "live")
    expect(tid(page, "targets-panel")).to_be_visible(timeout=10_000)
    for a in addresses:
        expect(tid(target_row(page, a), "target-status")).to_have_text("up", timeout=15_000)
    expect(tid(page, "targets-quorum")).to_have_text(quorum())
    expect(tid(page, "wan-path")).to_have_text("up")
    expect(tid(page, "failover-active")).to_have_text("off")
    with RuleWatch(lab.topo.ns("router")) as watch:
        press_fault(page, lab, "target-silence")
        expect(tid(target_row(page, silenced), "target-status")).to_have_text("down", timeout=TARGET_DOWN_S * 1000)
        six = ":" in silenced
        expect(tid(page, "targets-quorum")).to_have_text(quorum(down4=int(not six), down6=int(six)))
        expect(tid(target_row(page, silenced), "target-family")).to_have_text("IPv6" if six else "IPv4")
        page.wait_for_timeout(WATCH_S * 1000)
        for a in addresses:
            if a != silenced:
                expect(tid(target_row(page, a), "target-status")).to_have_text("up")
        expect(tid(target_row(page, silenced), "target-status")).to_have_text("down")
        expect(tid(page, "wan-path")).to_have_text("up")
        expect(tid(page, "failover-active")).to_have_text("off")
        expect(tid(page, "event-log")).to_contain_text(f"target fault: icmp {silenced} down")
        # the daemon's own word (its control socket), beside the page's
        daemon = state_fields(request_blocking(str(lab.control_socket), STATE, 2))
        assert (daemon["path"], daemon["failover"], daemon["rule"]) == ("up", "off", "absent"), daemon
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard-lab-target-fault.png"), full_page=True)
        watch.sync()
        assert watch.changes == 0, f"failover rule added or removed during a target fault: {watch.snapshot()}"
        assert rules(lab) == []
        tid(page, "fault-target-clear").click()
        expect(tid(page, "action-status")).to_contain_text("target-clear: done", timeout=10_000)
        expect(tid(target_row(page, silenced), "target-status")).to_have_text("up", timeout=15_000)
        expect(tid(page, "targets-quorum")).to_have_text(quorum())
        watch.sync()
        assert watch.changes == 0, watch.snapshot()


PATH6_S = 5.0  # IPv6 silent 60 ms, a confirmation burst, then the next SSE push; generous on two cores


def flow_received(lab: Lab) -> int:
    try:
        return json.loads(lab.flow_file.read_text())["received"]
    except (OSError, ValueError, KeyError):
        return 0


def test_lab_ipv6_blackout_beyond_the_isp_moves_ipv6_only(lab_page: Page, lab):
    """IPv6 black-holed beyond the ISP from the page's lab button (the ISP's nftables drops the
    IPv6 it would forward; its IPv4 untouched): the IPv6 card shows failover ON and its path down
    while the IPv4 failover stays off, by the kernel's own account too (an rtnetlink listener and
    `ip -6 rule` / `ip -4 rule` in the router's namespace: one IPv6 rule at 1000, no IPv4 rule ever),
    and the IPv4 demo flow keeps echoing through the WAN. Cleared from the page, IPv6 comes back."""
    page = lab_page
    targets6 = [t.address for t in lab.router_config().wan.target if ":" in t.address]
    assert len(targets6) == 3
    wait_for(lambda: not rules(lab) and not rules(lab, "-6"), timeout=15, what="no failover rule in either family")
    page.goto("/")
    expect(tid(page, "conn-status")).to_have_attribute("data-state", "live")
    expect(tid(page, "targets-quorum")).to_have_text(quorum(), timeout=15_000)
    expect(tid(page, "ipv6-failover")).to_have_text("off")
    expect(tid(page, "failover-active")).to_have_text("off")
    with FibWatch(lab.topo.ns("router")) as fib:
        press_fault(page, lab, "wan-path6")
        expect(tid(page, "ipv6-failover")).to_have_text("ON", timeout=PATH6_S * 1000)
        expect(tid(page, "ipv6-path")).to_have_text("down")
        for a in targets6:
            expect(tid(target_row(page, a), "target-status")).to_have_text("down", timeout=PATH6_S * 1000)
        expect(tid(page, "targets-quorum")).to_have_text(quorum(down6=3))
        # the kernel: IPv6 failed over, IPv4 not
        wait_for(lambda: len(rules(lab, "-6")) == 1, timeout=5, what="the IPv6 rule at 1000")
        received = flow_received(lab)
        page.wait_for_timeout(WATCH_S * 1000)
        expect(tid(page, "failover-active")).to_have_text("off")
        expect(tid(page, "wan-path")).to_have_text("up")
        expect(tid(page, "ipv6-failover")).to_have_text("ON")
        assert rules(lab) == [] and len(rules(lab, "-6")) == 1
        # 50 packets/s for WATCH_S through the WAN: IPv4 kept flowing (the sender writes once a second)
        assert flow_received(lab) - received >= 50 * (WATCH_S - 1.5), (received, flow_received(lab))
        daemon = state_fields(request_blocking(str(lab.control_socket), STATE, 2))
        assert (daemon["path"], daemon["failover"], daemon["rule"]) == ("up", "off", "absent"), daemon
        assert (daemon["path6"], daemon["failover6"], daemon["rule6"]) == ("down", "on", "present"), daemon
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard-lab-ipv6-path.png"), full_page=True)
        fib.sync()
        rules4, rules6, _ = fib.snapshot()
        assert (rules4, fib.rule4_adds, rules6, fib.max_rules6) == (0, 0, 1, 1), fib
        tid(page, "fault-clear").click()
        expect(tid(page, "action-status")).to_contain_text("clear: done", timeout=10_000)
        expect(tid(page, "ipv6-failover")).to_have_text("off", timeout=15_000)
        expect(tid(page, "targets-quorum")).to_have_text(quorum(), timeout=15_000)
        wait_for(lambda: not rules(lab, "-6"), timeout=5, what="the IPv6 rule gone")
        fib.sync()
        assert fib.rule4_adds == 0 and fib.snapshot()[:2] == (0, 0), fib
