"""Real-browser UI tests: headless Chromium drives `streamlit run dashboard.py` (slow: CI runs them).

The app reads the quick registry the dashboard tests build (tests/dashboard_fixtures.py), passed
to the server process through DCTNET_LAB_DATA. Screenshots land in lab_data/screenshots/.
"""

import pytest

from tests.browser import browser_page, screenshot, streamlit_server
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

PAGES = {  # url path -> text that shows once the page has finished its work
    "": "Star ratings",  # Overview, the default page
    "recommend": "Excluded, and why",
    "compare": "Per-image metrics",
    "blind": "Scores so far",
    "cartoonize": "Download the cartoon",
    "history": "Two runs side by side",
    "lab": "Compress, evaluate and register",
}


# every Plotly chart on the page has drawn its SVG (pages without charts pass at once)
CHARTS_DRAWN = ("() => [...document.querySelectorAll('[data-testid=\"stPlotlyChart\"]')]"
                ".every(c => c.querySelector('.main-svg'))")


def _server(registry):
    return streamlit_server({"DCTNET_LAB_DATA": str(registry["data"]), "MLFLOW_TRACKING_URI": ""})


def test_compare_page_upload_in_real_browser(dashboard_registry):
    photo = ROOT / "models" / "samples" / "face_crop.jpg"
    with _server(dashboard_registry) as url, browser_page(height=2600) as page:
        page.goto(f"{url}/compare")
        page.get_by_text("Compare variants on your photos").first.wait_for(timeout=180_000)
        page.get_by_text("Upload", exact=True).first.click()
        page.locator("input[type=file]").first.set_input_files(str(photo))
        page.get_by_text("Per-image metrics").first.wait_for(timeout=300_000)
        page.get_by_text("face_crop.jpg ·").first.wait_for(timeout=30_000)
        page.get_by_text("Download all outputs").first.wait_for(timeout=60_000)
        page.wait_for_timeout(2500)  # let images and the slider iframe paint
        path = screenshot(page, "compare_upload")
        # photo, original, >= 1 variant, diff heatmap
        assert page.locator("img").count() >= 4
        assert page.get_by_text("Traceback").count() == 0
        assert path.stat().st_size > 50_000


def test_every_page_renders_in_real_browser(dashboard_registry):
    with _server(dashboard_registry) as url, browser_page(height=2600) as page:
        for path, ready in PAGES.items():
            page.goto(f"{url}/{path}")
            page.get_by_text(ready).first.wait_for(timeout=300_000)
            page.wait_for_function(CHARTS_DRAWN, timeout=120_000)  # Plotly draws after the page settles
            page.wait_for_timeout(2000)
            shot = screenshot(page, f"page_{path or 'overview'}")
            assert page.get_by_text("Traceback").count() == 0, path
            assert shot.stat().st_size > 20_000, path


def test_first_run_screen_in_real_browser(empty_registry):
    with streamlit_server({"DCTNET_LAB_DATA": str(empty_registry), "MLFLOW_TRACKING_URI": ""}) as url, \
            browser_page() as page:
        page.goto(url)
        page.get_by_text("Build the quick default registry").first.wait_for(timeout=180_000)
        page.wait_for_timeout(1000)
        screenshot(page, "first_run")
        assert page.get_by_text("the registry is empty").count() >= 1
