"""Cartoonize one photo with the original DCT-Net: original and cartoon side by side, download."""

import time

import streamlit as st

from dashboard_pages.loaded import original_cartoonizer, warm_shapes
from dashboard_pages.photos import photo_picker
from models.images import ImageError, encode_png
from models.weights import STYLES

st.title("Cartoonize a photo")
st.caption("The original DCT-Net (official weights, Keras FP32) with the official full-image processing.")

left, right = st.columns([1, 1])
with left:
    style = st.selectbox("Style", STYLES, index=STYLES.index("anime"))
with right:
    shrink = st.toggle("Shrink so the short side is at most 720 px (official)", value=True)
label, photo = photo_picker()

try:
    cartoonizer = original_cartoonizer(style, 720 if shrink else None)
    shapes = warm_shapes(style, 720 if shrink else None)
    cold = photo.shape not in shapes
    with st.spinner(f"Cartoonizing {label} ({photo.shape[1]}x{photo.shape[0]}) in the {style} style…"):
        start = time.perf_counter()
        cartoon = cartoonizer(photo)
        seconds = time.perf_counter() - start
    shapes.add(photo.shape)
except ImageError as exc:
    st.error(str(exc))
    st.stop()

# One call is not a speed measurement (docs/dashboard.md): the first call at a new size also pays Keras'
# tracing; say which it was, and point to Compare for timed latencies.
when = "first call at this size, includes one-time set-up" if cold else "one call at a size already run"
col_a, col_b = st.columns(2)
col_a.image(photo, caption=f"Original: {label}", width="stretch")
col_b.image(cartoon, caption=f"DCT-Net {style} ({seconds:.2f} s: {when})", width="stretch")
st.caption("For latencies to compare, use Compare (a warm-up call, then the median of timed calls) or the "
           "Overview (the registry's repeated measurements).")
st.download_button("Download the cartoon (PNG)", encode_png(cartoon),
                   file_name=f"{label.rsplit('.', 1)[0]}_{style}.png", mime="image/png")
