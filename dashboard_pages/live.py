"""Running registered variants live on a user's photo: loading, locking, timing, scoring, diff images.

No streamlit here (the pages cache what these return): this is the part of the Compare and Blind
rating pages that the timing script and the tests call directly.

- `load(style, version, mode)` -> `Live`: `registry.load_predictor(..., mode)` plus a lock. LiteRT
  interpreters are not thread-safe and Streamlit runs every session in its own thread, so every call
  goes through `Live.run`, which holds the variant's lock (the pages share one Live per variant
  across sessions through st.cache_resource).
- the working size of a photo is models.fitting.shrink_to_serve (short side <= max_side, as the
  official pipeline shrinks); every variant and the original see the same pixels, so PSNR / SSIM /
  LPIPS compare like with like.
- `score(reference, output, lpips)`: PSNR / SSIM (evaluation.quality) and LPIPS when the real
  backbone is present (None otherwise: never a number from a random backbone).
- `diff_heatmap(a, b)`: |a - b| averaged over channels, scaled so 64 levels is full scale, INFERNO.
"""

import threading
import time
from dataclasses import dataclass, field

import cv2
import numpy as np

HEATMAP_FULL_SCALE = 64.0  # a mean |difference| of 64 grey levels (of 255) is drawn at full heat


@dataclass
class Live:
    """A registered version (registry.aliasing.LoadedVariant) behind its lock: `run(photo)` -> (uint8 RGB
    cartoon, milliseconds). Reads through to the loaded version (style, version, variant, method,
    runtime, precision, mode, label, predictor)."""

    loaded: object  # registry.aliasing.LoadedVariant
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __getattr__(self, name):  # only called for names Live itself lacks
        if name == "loaded":
            raise AttributeError(name)
        return getattr(self.loaded, name)

    def run(self, photo):
        with self.lock:  # one call at a time per interpreter/model (LiteRT is not thread-safe)
            start = time.perf_counter()
            out = self.loaded.predict(photo)
            ms = (time.perf_counter() - start) * 1000.0
        return out, ms


def load(style, version, mode="full", store=None):
    """A registry version (number or alias) as a Live predictor (registry.load_predictor + a lock)."""
    from registry.aliasing import load_predictor

    return Live(load_predictor(style, version, store, mode=mode))


def load_lpips():
    """(metric, None) or (None, why): the real AlexNet LPIPS (evaluation.perceptual keeps triton out)."""
    from evaluation.perceptual import try_load_lpips

    metric, why = try_load_lpips()
    if metric is not None:
        import torch  # already imported by the metric, after its triton guard

        # One intra-op thread: on this shared 2-core CPU torch's 2-thread pool spins against TensorFlow's
        # and LiteRT's threads; measured 3.9 s -> 0.4 s for one 512x512 LPIPS under load (docs/dashboard.md).
        torch.set_num_threads(1)
    return metric, why


def score(reference, output, lpips_metric=None):
    from evaluation.quality import psnr, ssim

    return {"psnr": psnr(output, reference), "ssim": ssim(output, reference),
            "lpips": lpips_metric(output, reference) if lpips_metric is not None else None}


def diff_heatmap(a, b, full_scale=HEATMAP_FULL_SCALE):
    """uint8 RGB heat image of the per-pixel mean absolute difference between two uint8 RGB images."""
    if a.shape != b.shape:
        raise ValueError(f"diff needs images of one shape. Received: {a.shape} vs {b.shape}")
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16)).mean(axis=2)
    level = np.clip(diff * (255.0 / full_scale), 0, 255).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(level, cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB)


def compare(photo, reference_live, lives, lpips_metric=None, progress=None):
    """Run the original and every variant on one photo -> (reference output, reference ms, rows).

    rows: [{"live", "output", "ms", "psnr", "ssim", "lpips"}]; `progress(done, total, text)` after each.
    Sequential on purpose: scoring in a helper thread while the next variant runs made a pass slower
    on 2 cores (LiteRT's and TensorFlow's threads then share the cores with torch; docs/dashboard.md)."""
    total = len(lives) + 1
    progress = progress or (lambda done, total, text: None)
    progress(0, total, f"running the original ({reference_live.label})")
    ref, ref_ms = reference_live.run(photo)
    rows = []
    for i, live in enumerate(lives, start=1):
        progress(i, total, f"running {live.label}")
        out, ms = live.run(photo)
        rows.append({"live": live, "output": out, "ms": ms, **score(ref, out, lpips_metric)})
    progress(total, total, "done")
    return ref, ref_ms, rows
