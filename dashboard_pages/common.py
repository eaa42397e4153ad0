"""Helpers shared by the dashboard pages: the registry store, cached tables and models, photo pickers,
the first-run screen.

Caching, and why:
- registry tables (`versions_table`, `records_of`, ...) are st.cache_data with a short TTL keyed by the
  store URI: every rerun would otherwise query MLflow; anything that writes to the registry (first-run
  build, Lab, alias setting) calls `registry_changed()`.
- loaded variants are st.cache_resource (`live_variant`): one model / interpreter per version and
  mode for the whole server, each behind its own lock (dashboard_pages/live.py).
- cartoons of a photo are st.cache_data keyed by the photo's content digest (`cartoon`, Blind rating);
  Compare's measured passes (outputs + warm-up-then-median timings) are kept per photo digest and
  version set (`measured_pass`): showing the same photo again reuses the outputs and the latencies
  measured when they were made.
"""

import hashlib
import io
import os
import zipfile

import numpy as np
import streamlit as st

from models.images import ImageError, encode_png, load_image
from models.samples import load_sample, sample_names

UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff"]
DEFAULT_STYLE = "anime"
# The default Compare set: one of each family, in this order, those that are registered.
DEFAULT_ENTRIES = ("int8-full", "int8-dynamic", "fp16", "prune-t375", "svd-trunk", "student-trunk")


# -- models of the first page (original DCT-Net, no registry needed) -------------------------------------

@st.cache_resource(show_spinner="Loading DCT-Net weights…")
def original_cartoonizer(style, max_side):
    from models.processing import Cartoonizer, ProcessingConfig, keras_network
    from models.weights import load_model

    return Cartoonizer(keras_network(load_model(style)), ProcessingConfig(max_side=max_side))


@st.cache_resource(show_spinner=False)
def warm_shapes(style, max_side):
    """The photo shapes the cached original cartoonizer has already run at (its first call at a new shape
    traces the graph: that call is labelled, not shown as the network's speed)."""
    return set()


# -- photos -----------------------------------------------------------------------------------------------

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


# -- the registry -----------------------------------------------------------------------------------------

def store():
    """The registry store the app reads (MLFLOW_TRACKING_URI, else the embedded one in $DCTNET_LAB_DATA)."""
    from registry.store import user_tracking_uri  # MLFLOW_TRACKING_URI unless mlflow itself set it

    return _store(user_tracking_uri() or "", os.environ.get("DCTNET_LAB_DATA") or "")


@st.cache_resource(show_spinner=False)
def _store(uri, data):
    from registry.store import Store

    return Store(uri=uri or None, data=data or None)


def store_key():
    s = store()
    return s.uri


@st.cache_data(ttl=60, show_spinner=False)
def versions_table(uri, style=None):
    import registry

    return registry.versions(style, store())


@st.cache_data(ttl=60, show_spinner=False)
def records_of(uri, style):
    import registry

    return registry.records(style, store=store())


@st.cache_data(ttl=60, show_spinner=False)
def history_of(uri, style):
    import registry

    return registry.history(style, store=store())


@st.cache_data(ttl=60, show_spinner=False)
def regressions_of(uri, style):
    import registry

    return registry.regressions(style, store=store())


def registry_changed():
    for fn in (versions_table, records_of, history_of, regressions_of):
        fn.clear()


def registered_styles():
    table = versions_table(store_key())
    return sorted(table["style"].unique()) if not table.empty else []


def require_registry():
    """Call at the top of a page, outside any column: an empty registry shows the first-run screen."""
    if not registered_styles():
        first_run_screen()
        st.stop()


def style_picker(key="style"):
    """The style to look at: registered styles only (shows the first-run screen when there are none)."""
    require_registry()
    styles = registered_styles()
    default = styles.index(DEFAULT_STYLE) if DEFAULT_STYLE in styles else 0
    return st.selectbox("Style", styles, index=default, key=key)


def version_label(row):
    alias = f"  @{row['aliases'].replace(',', ' @')}" if row.get("aliases") else ""
    return f"v{int(row['version'])} {row['entry'] or row['variant']}{alias}"


def first_run_screen():
    """Empty registry: say so and offer the quick default build, with progress."""
    from registry.catalogue import DEFAULT_CATALOGUE
    from models.weights import STYLES

    st.header("Welcome: the registry is empty")
    st.write(f"No compressed variant is registered yet in **{store().describe()}**. The quick default "
             f"build makes the {len(DEFAULT_CATALOGUE)} catalogue variants of one style (original, LiteRT "
             "FP32/FP16/INT8, pruned, SVD, distilled students) with cheap settings, evaluates them on 3 "
             "bundled photos at 512 px (face regions and face identity included) and registers them. On a 2-core CPU that takes about 5-10 minutes; "
             "`python -m registry build --quick` does the same from a terminal.")
    style = st.selectbox("Style to build", STYLES, index=STYLES.index(DEFAULT_STYLE), key="first_run_style")
    if st.button("Build the quick default registry", type="primary", key="first_run_build"):
        run_build(style=style, quick=True)
        st.rerun()


def run_build(style, quick=True, only=None, catalogue=None):
    """registry.build with a progress bar and a status box; returns the outcomes. Never half-registers:
    the pipeline publishes a version last, after its artifacts and metrics."""
    import registry
    from registry.catalogue import DEFAULT_CATALOGUE

    bar = st.progress(0.0, text="starting…")
    lines = []
    with st.status(f"Building {style} variants…", expanded=True) as status:
        def progress(step, total, message):
            bar.progress(min(step / max(total, 1), 1.0), text=f"{step}/{total}: {message}")

        def log(text):
            lines.append(text)
            status.write(text)

        outcomes = registry.build(registry.BuildOptions(styles=(style,), quick=quick, only=only), store=store(),
                                  progress=progress, catalogue=catalogue or DEFAULT_CATALOGUE, log=log)
        failed = [o for o in outcomes if o.status == "failed"]
        status.update(label=f"Build finished: {len(outcomes) - len(failed)} ok, {len(failed)} failed",
                      state="error" if failed else "complete", expanded=bool(failed))
    registry_changed()
    for o in failed:
        st.error(f"{o.style}/{o.entry} failed and was not registered: {o.message.splitlines()[0]}")
    return outcomes


# -- live variants ------------------------------------------------------------------------------------------

@st.cache_resource(show_spinner=False, max_entries=64)
def live_variant(uri, style, version, mode="full"):
    """One loaded variant per (store, style, version, mode) for the whole server (locked inside)."""
    from dashboard_pages.live import load

    return load(style, version, mode, store())


@st.cache_resource(show_spinner=False)
def _measured_passes():
    """Measured passes (outputs + live timings) by (store, style, versions, mode, photo digest, runs),
    for the whole server; a plain dict behind a lock so the pass can draw its own progress bar."""
    import threading

    return {}, threading.Lock()


def measured_pass(uri, style, versions, mode, photo_digest, photo, lives, runs, progress=None):
    """live.measure over the Live of each version on one photo -> [(output, Timing)], cached by content:
    a repeated photo (rerun, another page or session) shows the times measured when it was first run."""
    from dashboard_pages.live import measure

    cache, lock = _measured_passes()
    key = (uri, style, tuple(versions), mode, photo_digest, runs)
    with lock:
        hit = cache.get(key)
    if hit is None:
        hit = measure(photo, lives, runs, progress)
        with lock:
            if len(cache) >= 256:
                cache.pop(next(iter(cache)))  # the oldest
            cache[key] = hit
    return hit


@st.cache_resource(show_spinner=False)
def identity_unavailable():
    from evaluation.identity import unavailable_reason

    return unavailable_reason()


@st.cache_resource(show_spinner=False, max_entries=64)
def _faces_and_landmarks(photo_digest, _photo):
    from evaluation.identity import landmarks
    from models.faces import detect_faces

    faces = detect_faces(_photo)
    return landmarks(_photo, faces) if faces else []


def identity_distances(photo_digest, photo, reference, outputs):
    """{version: face-identity distance to the reference output (None: no face)} for one photo's outputs
    (evaluation.identity; faces and landmarks from the input photo, cached by its digest)."""
    from evaluation.identity import embed, identity_distance

    shapes = _faces_and_landmarks(photo_digest, photo)
    if not shapes:
        return {}
    refs = [embed(reference, s) for s in shapes]
    return {v: (0.0 if out is reference else identity_distance(out, reference, shapes, refs))
            for v, out in outputs.items()}


@st.cache_resource(show_spinner=False)
def this_machine():
    from registry.measure import machine_id

    return machine_id()


def registry_speedups(uri, style):
    """({(variant, size): (speed-up, noise band)} the Overview shows for THIS machine, note or None)."""
    from decisions.comparisons import compare
    from decisions.noise import LATENCY_REL_BAND, latency_band

    records = records_of(uri, style)
    if not records:
        return {}, "The registry has no evaluation records to compare with."
    comps = [c for c in compare(records) if c.mode == "full"]
    here = [c for c in comps if c.hardware_id == this_machine()]
    if not here:
        return {}, ("The registry's latencies were measured on another machine: the Overview's speed-ups are "
                    "not compared with this page's.")
    base = {(c.size): c for c in here if c.is_baseline}
    out = {}
    for c in here:
        s, b = c.metrics.get("speedup"), base.get(c.size)
        if s is None or b is None:
            continue
        rel = max(latency_band(c, b) / max(c.metrics["p50_ms"], b.metrics["p50_ms"]), LATENCY_REL_BAND)
        out[(c.variant, c.size)] = (s, rel * s)
    return out, None


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


def png(image):
    return encode_png(image)


def zip_images(named):
    """{file name: uint8 RGB or bytes} -> zip bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, item in named.items():
            z.writestr(name, item if isinstance(item, (bytes, str)) else encode_png(item))
    return buf.getvalue()


def stars(n):
    return "–" if n is None else "★" * int(n) + "☆" * (5 - int(n))


# -- records: machines ---------------------------------------------------------------------------------------

def environments(records):
    """{hardware_id: human label} of the machines the records were measured on (evaluation.environment.machine_id:
    the Keras and LiteRT runs of one machine share it), in a stable order."""
    from evaluation.environment import machine_id

    out = {}
    for r in records:
        e = r.get("env") or {}
        hw = machine_id(e)
        if hw not in out:
            gpu = e.get("gpu")
            gpu = f", GPU {gpu.get('name') if isinstance(gpu, dict) else gpu}" if gpu else ""
            out[hw] = f"{e.get('cpu') or 'cpu ?'} · {e.get('cores') or '?'} cores{gpu} ({hw})"
    return dict(sorted(out.items()))
