"""Drive the Streamlit app with AppTest (no browser): pages render, a photo produces a cartoon."""

import io

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

TIMEOUT = 180  # first run imports TensorFlow and loads weights


def _app():
    return AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=TIMEOUT)


def test_cartoonize_page_with_sample():
    at = _app().run()
    assert not at.exception
    assert at.title[0].value == "Cartoonize a photo"
    assert len(at.get("imgs")) >= 1 or at.get("image")  # original and cartoon rendered


def test_bad_upload_shows_message_and_app_keeps_working():
    at = _app().run()
    at.radio(key="photo_source").set_value("Upload").run()
    assert not at.exception
    at.get("file_uploader")[0].set_value(("broken.png", b"garbage bytes", "image/png")).run()
    assert not at.exception
    assert any("not an image" in e.value for e in at.error)
