"""The panel's client and booking parts in headless Chromium on a phone-sized screen: pick the
client before the welcome (the code shows at the top), save a profile, book a one-off."""
from __future__ import annotations

import pytest

from appliance.web.config import WebConfig
from appliance.web.secrets_store import Credentials

from .conftest import PANEL_PASSPHRASE
from .test_web_e2e import ARTIFACTS, browser_page, sync_api  # noqa: F401  (a fixture)
from .test_web_extras import offer_schedule

pytestmark = pytest.mark.browser


def test_the_page_picks_the_client_edits_a_profile_and_books_a_one_off(web_panel, browser_page):
    from appliance.web.adapter import serve
    made = []
    env = web_panel(offer=offer_schedule(made), clients=True)
    env.context.clients.change("K17", {"cap": 50}, adding=True)
    panel = serve(env.context, WebConfig(host="127.0.0.1", port=0), Credentials(env.state_dir))
    page, expect = browser_page, sync_api.expect
    try:
        page.goto(panel.url)
        page.fill("#passphrase", PANEL_PASSPHRASE)
        page.click("text=Unlock")
        expect(page.locator("#phase")).to_have_text("Ready")
        expect(page.locator("#client-pick option")).to_have_count(2)
        page.select_option("#client-pick", "K17")
        expect(page.locator("#client")).to_have_text("Client K17")  # at the top, at once
        expect(page.locator("#cap")).to_have_text("cap 50")
        assert env.engine.status().client == "K17"

        page.click("text=Profiles")
        page.fill("#pf-code", "K18")
        page.fill("#pf-cap", "90")
        page.click("text=Save profile")
        expect(page.locator("#message")).to_contain_text("cap: 90 is above the room's cap (80)")
        page.fill("#pf-cap", "60")
        page.click("text=Save profile")
        expect(page.locator("#profiles li")).to_have_count(2)
        assert env.context.clients.profiles()["K18"].cap == 60

        page.fill("#book-start", "2026-03-04T10:00")
        page.fill("#book-minutes", "30")
        page.select_option("#book-client", "K18")
        page.click("text=Book a session")
        booked = page.locator("#sessions li", has_text="K18")
        expect(booked).to_contain_text("Wed")
        expect(booked).to_contain_text("30 min · K18")
        assert [(s.label, s.minutes) for s in made[0].one_offs] == [("K18", 30)]
        expect(page.locator("#weekly")).to_contain_text("Weekly mon 09:30 · 50 min · group-a")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.screenshot(path=str(ARTIFACTS / "web-panel-clients-360x640.png"), full_page=True)
        booked.locator("text=Cancel").click()
        expect(booked).to_have_count(0)
        assert made[0].one_offs == []
    finally:
        panel.stop()
