"""Helpers shared by the dashboard pages: cached models and friendly reading of uploads."""

import streamlit as st

from models.images import ImageError, load_image
from models.samples import load_sample, sample_names


@st.cache_resource(show_spinner="Loading DCT-Net weights…")
def original_cartoonizer(style, max_side):
    from models.processing import Cartoonizer, ProcessingConfig, keras_network
    from models.weights import load_model

    return Cartoonizer(keras_network(load_model(style)), ProcessingConfig(max_side=max_side))


@st.cache_data(show_spinner=False, max_entries=32)
def read_upload(name, data):
    """Decode an upload once per distinct file (cached by content)."""
    return load_image(data, name=name)


@st.cache_data(show_spinner=False)
def read_sample(name):
    return load_sample(name)


def photo_picker(key="photo"):
    """Upload a photo or pick a bundled sample; returns (label, uint8 RGB) or stops the page."""
    source = st.radio("Photo", ["Bundled sample", "Upload"], horizontal=True, key=f"{key}_source")
    if source == "Upload":
        upload = st.file_uploader("Upload a photo (JPEG, PNG, WebP, BMP, TIFF)",
                                  type=["jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff"], key=f"{key}_upload")
        if upload is None:
            st.info("Upload a photo to start, or switch to a bundled sample.")
            st.stop()
        try:
            return upload.name, read_upload(upload.name, upload.getvalue())
        except ImageError as exc:
            st.error(str(exc))
            st.stop()
    name = st.selectbox("Sample", sample_names(), key=f"{key}_sample")
    return name, read_sample(name)
