"""Photos in and out of the pages: upload / sample pickers (decoded once per content), PNG and zip downloads."""

import hashlib
import io
import zipfile

import numpy as np
import streamlit as st

from models.images import ImageError, encode_png, load_image
from models.samples import load_sample, sample_names

UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff"]


def digest(photo):
    return hashlib.sha1(np.ascontiguousarray(photo).tobytes() + str(photo.shape).encode()).hexdigest()[:16]


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
        upload = st.file_uploader("Upload a photo (JPEG, PNG, WebP, BMP, TIFF)", type=UPLOAD_TYPES,
                                  key=f"{key}_upload")
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


def photos_picker(key="photos", default_samples=1):
    """Several photos: uploads or bundled samples -> [(label, uint8 RGB)]; bad files are reported and
    skipped (the others still run); stops the page when none is usable."""
    source = st.radio("Photos", ["Bundled samples", "Upload"], horizontal=True, key=f"{key}_source")
    photos = []
    if source == "Upload":
        uploads = st.file_uploader("Upload one or more photos (JPEG, PNG, WebP, BMP, TIFF)", type=UPLOAD_TYPES,
                                   accept_multiple_files=True, key=f"{key}_upload")
        for upload in uploads or []:
            try:
                photos.append((upload.name, read_upload(upload.name, upload.getvalue())))
            except ImageError as exc:
                st.error(f"Skipped: {exc}")
        if not uploads:
            st.info("Upload one or more photos to start, or switch to the bundled samples.")
            st.stop()
    else:
        names = st.multiselect("Samples", sample_names(), default=sample_names()[:default_samples],
                               key=f"{key}_samples")
        photos = [(n, read_sample(n)) for n in names]
    if not photos:
        st.info("Pick at least one usable photo.")
        st.stop()
    seen = {}
    for i, (label, image) in enumerate(photos):  # two uploads named alike stay two photos
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            photos[i] = (f"{label} ({seen[label]})", image)
    return photos


def png(image):
    return encode_png(image)


def zip_images(named):
    """{file name: uint8 RGB or bytes} -> zip bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, item in named.items():
            z.writestr(name, item if isinstance(item, (bytes, str)) else encode_png(item))
    return buf.getvalue()
