"""The dashboard shows both families, in a real headless Chromium over the real app (fake core,
fake_sidecar.py): the state's ipv6 block (up, path, failover, rule, and the gateway carrying
IPv6) and each gateway's IPv6 address, IPv6 heartbeat status and RTT, following the event stream
without a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .test_dashboard import card, open_live, tid

pytestmark = pytest.mark.browser


def dual_stack_gateways(sidecar) -> list[dict]:
    """alt1 and alt2 with an address6 (alt1 elected, carrying IPv6), lte without."""
    gws = sidecar.fake.public_gateways()
    ipv6 = {"10.10.0.11": ("fd00:10::11", "up", 4.61, True), "10.10.0.12": ("fd00:10::12", "up", 19.2, False)}
    for g in gws:
        address6, status6, rtt6, serves6 = ipv6.get(g["address"], (None, None, None, False))
        g.update(address6=address6, status6=status6, rtt6_ms=rtt6, serves6=serves6)
    return gws


def test_both_families_are_shown_and_follow_the_stream(page: Page, sidecar):
    sidecar.tick(interval=0.2)
    sidecar.set_gateways(dual_stack_gateways(sidecar))
    open_live(page)
    expect(tid(page, "ipv6-up")).to_have_text("IPv6 up")
    expect(tid(page, "ipv6-path")).to_have_text("up")
    expect(tid(page, "ipv6-failover")).to_have_text("off")
    expect(tid(page, "ipv6-rule")).to_have_text("absent")
    expect(tid(page, "ipv6-via")).to_have_text("alt1 fd00:10::11")

    alt1, alt2, lte = card(page, "10.10.0.11"), card(page, "10.10.0.12"), card(page, "10.10.0.13")
    expect(tid(alt1, "gw-address6")).to_have_text("fd00:10::11")
    expect(tid(alt1, "gw-status6")).to_have_text("up")
    expect(tid(alt1, "gw-rtt6")).to_have_text("4.61 ms")
    expect(tid(alt1, "gw-serves6")).to_be_visible()
    expect(tid(alt2, "gw-serves6")).to_be_hidden()
    expect(tid(alt2, "gw-rtt6")).to_have_text("19.2 ms")
    # a gateway without address6: said so, no IPv6 status or RTT
    expect(tid(lte, "gw-address6")).to_have_text("no address6")
    expect(tid(lte, "gw-status6")).to_be_hidden()
    expect(tid(lte, "gw-rtt6")).to_have_text("—")
    expect(lte).to_have_attribute("data-status6", "none")

    # alt1's IPv6 dies while its IPv4 lives: IPv6 fails over to alt2, the page follows, no reload
    page.evaluate("window.__noReload = true")
    gws = dual_stack_gateways(sidecar)
    gws[0].update(status6="down", rtt6_ms=None, serves6=False)
    gws[1].update(serves6=True)
    sidecar.set_gateways(gws)
    sidecar.patch_state({"ipv6": {"up": False, "path": False, "failover": True, "rule": True}})
    expect(tid(alt1, "gw-status6")).to_have_text("down")
    expect(tid(alt1, "gw-status6")).to_have_class("pill pill-bad")
    expect(tid(alt1, "gw-status")).to_have_text("up")
    expect(tid(alt1, "gw-rtt6")).to_have_text("—")
    expect(tid(alt2, "gw-serves6")).to_be_visible()
    expect(tid(alt1, "gw-serves6")).to_be_hidden()
    expect(tid(page, "ipv6-via")).to_have_text("alt2 fd00:10::12")
    expect(tid(page, "ipv6-up")).to_have_text("IPv6 down")
    expect(tid(page, "ipv6-path")).to_have_text("down")
    expect(tid(page, "ipv6-failover")).to_have_text("ON")
    expect(tid(page, "ipv6-rule")).to_have_text("present")
    # IPv4 did not move
    expect(tid(page, "wan-up")).to_have_text("WAN up")
    expect(tid(page, "failover-active")).to_have_text("off")
    expect(tid(page, "elected-name")).to_have_text("alt1")
    assert page.evaluate("window.__noReload") is True


def test_ipv6_panel_fits_a_phone_screen(new_page, sidecar):
    sidecar.set_gateways(dual_stack_gateways(sidecar))
    page = new_page(width=390, height=844)
    open_live(page)
    expect(tid(page, "ipv6-panel")).to_be_visible()
    expect(tid(card(page, "10.10.0.11"), "gw-ipv6")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px on a phone"
