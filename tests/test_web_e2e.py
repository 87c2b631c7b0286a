"""The panel in headless Chromium on a phone-sized screen, against the real daemon (libVLC into
the listening sink): log in, press Welcome, hear it, see the room move on by itself."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from appliance.session.phases import TRANSITIONS, Phase
from appliance.web.config import WebConfig
from appliance.web.secrets_store import Credentials, set_passphrase

from .conftest import WELCOME_HZ
from .test_web_extras import with_buttons  # noqa: F401  (a fixture)

pytestmark = pytest.mark.browser

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# screenshots: outside the checkout (a test writes nothing there); CI may point this elsewhere
ARTIFACTS = Path(os.environ.get("APPLIANCE_TEST_ARTIFACTS")
                 or Path(tempfile.gettempdir()) / "appliance-test-artifacts")
PASSPHRASE = "quiet river 42"
HEARD_DB = -45.0
# no downloads, no background traffic: the clinic may have no internet, and tests stay local
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def enabled_buttons(page) -> list:
    return sorted(page.eval_on_selector_all("[data-verb]:not(.unavailable)",
                                            "els => els.map(e => e.dataset.verb)"))


def enabled_by_the_table(page, phase) -> list:
    shown = page.eval_on_selector_all("[data-verb]", "els => els.map(e => e.dataset.verb)")
    return sorted(verb for verb in shown if phase in TRANSITIONS[verb])


@pytest.fixture
def browser_page():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (./setup.sh test installs it)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 360, "height": 640},
                                          device_scale_factor=2, is_mobile=True, has_touch=True)
            yield context.new_page()
            context.close()
        finally:
            browser.close()


def test_phone_logs_in_presses_welcome_hears_it_and_follows_the_room(
        room_factory, recorder, tones, browser_page):
    room = room_factory(
        extra='[web]\nhost = "127.0.0.1"\nport = 0\n',
        playlists={"welcome": [("Short hello", tones / "welcome-short.wav")]})
    set_passphrase(room.cfg.state_dir, PASSPHRASE)
    page = browser_page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with room:
        page.goto(room.daemon.adapters["web"].url)
        page.fill("#passphrase", "quiet river 41")
        page.click("text=Unlock")
        sync_api.expect(page.locator("#login-error")).to_have_text("Wrong passphrase. Try again.")
        page.screenshot(path=str(ARTIFACTS / "web-login-360x640.png"))
        page.fill("#passphrase", PASSPHRASE)
        page.click("text=Unlock")
        sync_api.expect(page.locator("#phase")).to_have_text("Ready")
        sync_api.expect(page.locator("#live")).to_have_text("live")  # the event stream is open
        assert enabled_buttons(page) == enabled_by_the_table(page, Phase.IDLE)
        page.screenshot(path=str(ARTIFACTS / "web-panel-ready-360x640.png"))

        # everything a therapist needs fits the screen: no sideways scroll, big targets
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        for selector in ("[data-verb]", "#minutes", "#vol-down", "#vol-up"):
            for box in (el.bounding_box() for el in page.query_selector_all(selector)):
                assert box["height"] >= 48 and box["width"] >= 48, (selector, box)
                assert box["x"] >= 0 and box["x"] + box["width"] <= 360, (selector, box)
                assert box["y"] >= 0 and box["y"] + box["height"] <= 640, (selector, box)

        asked = []
        page.on("request", lambda r: asked.append(r.url))
        sent = time.monotonic()
        page.click("[data-verb=welcome]")
        sync_api.expect(page.locator("#phase")).to_have_text("Welcome")
        sync_api.expect(page.locator("#playing")).to_contain_text("Short hello")
        assert [u for u in asked if "/api/" in u] == [page.url + "api/commands/welcome"]

        # the song ends by itself: only the event stream can tell the page
        sync_api.expect(page.locator("#phase")).to_have_text("Active", timeout=8000)
        assert [u for u in asked if "/api/" in u] == [page.url + "api/commands/welcome"]
        rec = recorder.take()
        onset = rec.onset(WELCOME_HZ, after=sent, threshold_db=HEARD_DB)
        assert onset is not None, "the welcome tone was never heard"
        assert onset - sent < 1.0, f"welcome heard {1000 * (onset - sent):.0f} ms after the tap"

        page.select_option("#minutes", "5")
        page.click("[data-verb=receptive]")
        sync_api.expect(page.locator("#phase")).to_have_text("Receptive")
        sync_api.expect(page.locator("#countdown")).to_have_text(re.compile(r"^4:5\d$"))
        assert enabled_buttons(page) == enabled_by_the_table(page, Phase.RECEPTIVE)
        assert "welcome" not in enabled_buttons(page)  # dimmed, and still says why:
        page.click("[data-verb=welcome]")  # not now: the page says why in plain words
        sync_api.expect(page.locator("#message")).to_contain_text(
            "Not now. Welcome: not possible during receptive")
        page.screenshot(path=str(ARTIFACTS / "web-panel-360x640.png"))
        page.click("[data-verb=quiet]")  # never refused; reflection is never skipped
        sync_api.expect(page.locator("#phase")).to_have_text("Reflection")
        sync_api.expect(page.locator("#countdown")).to_have_text(re.compile(r"^(1:00|0:5\d)$"))


def test_page_lists_the_next_sessions_and_presses_virtual_buttons(web_panel, browser_page,
                                                                  with_buttons):
    from appliance.web.adapter import serve

    from .conftest import PANEL_PASSPHRASE
    from .test_web_extras import offer_schedule

    schedule = []

    def offer(context):
        offer_schedule(schedule)(context)
        with_buttons(context)
    env = web_panel(offer=offer)
    cfg = WebConfig(host="127.0.0.1", port=0)
    panel = serve(env.context, cfg, Credentials(env.state_dir))
    page = browser_page
    try:
        page.goto(panel.url)
        page.fill("#passphrase", PANEL_PASSPHRASE)
        page.click("text=Unlock")
        sync_api.expect(page.locator("#sessions li").first).to_contain_text("50 min · group-a")
        sync_api.expect(page.locator("#vbuttons button")).to_have_count(3)  # 2 presses, 1 hold
        with page.expect_response("**/api/buttons/session") as answer:
            page.click("#vbuttons button >> nth=0")  # session: next
        assert answer.value.status == 200
        sync_api.expect(page.locator("#phase")).to_have_text("Ambient")
        with page.expect_response("**/api/buttons/session") as answer:
            page.click("#vbuttons button >> nth=1")  # session, held: end
        assert answer.value.status == 200
        sync_api.expect(page.locator("#phase")).to_have_text("Ready")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.screenshot(path=str(ARTIFACTS / "web-panel-extras-360x640.png"), full_page=True)
    finally:
        panel.stop()


def test_the_panel_draws_the_blocks_tempo_curve_and_holds_it(web_panel, browser_page):
    """An iso block on the panel: its planned tempo (dashed) and what was heard so far, and
    Hold, which freezes the countdown and becomes Release."""
    from appliance.session import Library, Track
    from appliance.web.adapter import serve

    from .conftest import PANEL_PASSPHRASE
    tracks = tuple(Track(f"/m/{bpm}.wav", f"Piece {bpm}", seconds=200, bpm=bpm)
                   for bpm in (120, 106, 94, 84, 76))
    env = web_panel(library=Library(receptive=tracks))
    panel = serve(env.context, WebConfig(host="127.0.0.1", port=0), Credentials(env.state_dir))
    page = browser_page
    try:
        page.goto(panel.url)
        page.fill("#passphrase", PANEL_PASSPHRASE)
        page.click("text=Unlock")
        sync_api.expect(page.locator("#phase")).to_have_text("Ready")
        sync_api.expect(page.locator("#block")).to_be_hidden()
        page.select_option("#energy", "high")
        page.click("#iso-start")
        sync_api.expect(page.locator("#phase")).to_have_text("Receptive")
        sync_api.expect(page.locator("#curve path.planned")).to_have_count(1)
        sync_api.expect(page.locator("#curve path.played")).to_have_count(1)
        numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?",
                                                page.get_attribute("#curve path.planned", "d"))]
        heights = numbers[1::2]  # SVG y grows downwards: a tempo that falls, a y that grows
        assert len(heights) >= 8 and heights == sorted(heights) and heights[-1] > heights[0]
        page.click("#hold")
        sync_api.expect(page.locator("#hold")).to_have_text("Release")
        sync_api.expect(page.locator("#playing")).to_contain_text("held")
        sync_api.expect(page.locator("#countdown")).to_have_class(re.compile(r"\bheld\b"))
        frozen = page.inner_text("#countdown")
        time.sleep(1.2)
        assert page.inner_text("#countdown") == frozen
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.screenshot(path=str(ARTIFACTS / "web-panel-iso-360x640.png"), full_page=True)
    finally:
        panel.stop()
