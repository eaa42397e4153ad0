"""Models the whole server shares, loaded once (st.cache_resource), and the cartoons they made.

- `original_cartoonizer(style, max_side)`: the original DCT-Net with the official processing (no registry).
- `live_variant(uri, style, version, mode)`: one registered version per (store, style, version, mode),
  behind its own lock (dashboard_pages/live.py: registry.load_predictor + a lock).
- `cartoon(...)`: st.cache_data keyed by the photo's content digest: showing the same photo again (another
  page, another session, a rerun) reuses the output and the latency measured when it was made.
- `lpips_metric()`: the real AlexNet LPIPS or why not; `portrait_available()`: whether the face pipeline imports.
"""

import streamlit as st

from dashboard_pages.registry_access import store


@st.cache_resource(show_spinner="Loading DCT-Net weights…")
def original_cartoonizer(style, max_side):
    from models.processing import Cartoonizer, ProcessingConfig, keras_network
    from models.weights import load_model

    return Cartoonizer(keras_network(load_model(style)), ProcessingConfig(max_side=max_side))


@st.cache_resource(show_spinner=False, max_entries=64)
def live_variant(uri, style, version, mode="full"):
    """One loaded variant per (store, style, version, mode) for the whole server (locked inside)."""
    from dashboard_pages.live import load

    return load(style, version, mode, store())


@st.cache_resource(show_spinner="Loading LPIPS (AlexNet)…")
def lpips_metric():
    from dashboard_pages.live import load_lpips

    return load_lpips()


@st.cache_data(show_spinner=False, max_entries=512)
def cartoon(uri, style, version, mode, photo_digest, _photo):
    """(output, ms) of one version on one photo; cached by the photo's content digest."""
    return live_variant(uri, style, version, mode).run(_photo)


def portrait_available():
    import importlib

    try:
        importlib.import_module("models.portrait")
        importlib.import_module("models.faces")
    except Exception:  # the face pipeline is optional: any import failure hides the switch
        return False
    return True
