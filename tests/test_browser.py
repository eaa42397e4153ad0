"""Real-browser UI tests: headless Chromium drives `streamlit run dashboard.py` (slow: CI runs them)."""

import pytest

from tests.browser import browser_page, screenshot, streamlit_server

pytestmark = pytest.mark.slow


def test_cartoonize_page_renders_sample_cartoon():
    with streamlit_server() as url, browser_page() as page:
        page.goto(url)
        page.get_by_text("Cartoonize a photo").first.wait_for(timeout=120_000)
        # the cartoon's caption appears once the network has run
        page.get_by_text("DCT-Net anime").first.wait_for(timeout=180_000)
        page.get_by_text("Download the cartoon").first.wait_for(timeout=30_000)
        page.wait_for_timeout(1500)  # let images paint before the screenshot
        path = screenshot(page, "cartoonize")
        assert page.locator("img").count() >= 2
        assert path.stat().st_size > 50_000
