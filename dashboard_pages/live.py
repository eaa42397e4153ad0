"""Running registered variants live on a user's photo: loading, locking, timing, scoring, diff images.

No streamlit here (the pages cache what these return): this is the part of the Compare and Blind
rating pages that the timing script and the tests call directly.

- `load(style, version, mode)` -> `Live`: `registry.load_predictor(..., mode)` plus a lock. LiteRT
  interpreters are not thread-safe and Streamlit runs every session in its own thread, so every call
  goes through `Live.run`, which holds the variant's lock (the pages share one Live per variant
  across sessions through st.cache_resource).
- `measure(photo, lives, runs)`: the timing rule wherever the dashboard shows a time it measured live
  (docs/dashboard.md, DESIGN "Measuring honestly"): per (variant, input shape) one untimed warm-up call
  (LiteRT re-allocates and XNNPACK repacks weights on the first call at a new shape; Keras retraces),
  then `runs` timed calls, interleaved round-robin over the variants so a load change on the shared
  machine hits them all alike; the median is the latency, the warm-up call's time is kept apart as the
  "first call". A timed call made after another session ran the same model at another shape re-warms
  first (untimed), so no timed call pays a re-allocation.
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

TIMED_RUNS = 3  # timed calls per (variant, photo) after the untimed warm-up; their median is shown
HEATMAP_FULL_SCALE = 64.0  # a mean |difference| of 64 grey levels (of 255) is drawn at full heat


@dataclass
class Live:
    """A registered version (registry.aliasing.LoadedVariant) behind its lock: `run(photo)` -> (uint8 RGB
    cartoon, milliseconds). Reads through to the loaded version (style, version, variant, method,
    runtime, precision, mode, label, predictor)."""

    loaded: object  # registry.aliasing.LoadedVariant
    lock: threading.Lock = field(default_factory=threading.Lock)
    warm_shape: tuple | None = None  # the input shape of the last call: the one the model is warm at

    def __getattr__(self, name):  # only called for names Live itself lacks
        if name == "loaded":
            raise AttributeError(name)
        return getattr(self.loaded, name)

    def run(self, photo, warm=False):
        """(output, ms) of one call. `warm=True`: the call is made at a warm shape: if the last call (this
        session's or another's) had another input shape, an untimed call re-warms first."""
        with self.lock:  # one call at a time per interpreter/model (LiteRT is not thread-safe)
            if warm and self.warm_shape != photo.shape:
                self.loaded.predict(photo)
            self.warm_shape = photo.shape
            start = time.perf_counter()
            out = self.loaded.predict(photo)
            ms = (time.perf_counter() - start) * 1000.0
        return out, ms


@dataclass(frozen=True)
class Timing:
    """Latency of one variant on one photo, measured live: the median of `runs_ms` (calls at a warm
    shape); `first_ms` is the untimed warm-up call, cold when `cold` (the first at this shape)."""

    median_ms: float
    runs_ms: tuple
    first_ms: float
    cold: bool

    @property
    def runs(self):
        return len(self.runs_ms)

    def to_dict(self):
        return {"median_ms": self.median_ms, "runs_ms": list(self.runs_ms), "first_ms": self.first_ms,
                "cold": self.cold, "runs": self.runs}


def measure(photo, lives, runs=TIMED_RUNS, progress=None):
    """Run every Live on one photo: one untimed warm-up call each, then `runs` timed rounds over all of
    them -> [(output, Timing)] in the order of `lives`. `progress(done, total, text)` after each call."""
    if not isinstance(runs, int) or runs < 1:
        raise ValueError(f"runs must be an int >= 1. Received: runs={runs!r}")
    total = len(lives) * (runs + 1)
    progress = progress or (lambda done, total, text: None)
    outputs, first, cold, times = [], [], [], [[] for _ in lives]
    for i, live in enumerate(lives):
        progress(i, total, f"{live.label}: warm-up call (not timed)")
        cold.append(live.warm_shape != photo.shape)
        out, ms = live.run(photo)
        outputs.append(out)
        first.append(ms)
    done = len(lives)
    for r in range(runs):
        for i, live in enumerate(lives):
            progress(done, total, f"{live.label}: timed call {r + 1}/{runs}")
            times[i].append(live.run(photo, warm=True)[1])
            done += 1
    progress(total, total, "done")
    return [(out, Timing(float(np.median(t)), tuple(t), f, c))
            for out, t, f, c in zip(outputs, times, first, cold)]


def ratio_range(reference, variant):
    """(lowest, highest) speed-up the timed calls allow: the original's fastest / the variant's slowest
    and the original's slowest / the variant's fastest (the noise band of this page's ratio)."""
    return min(reference.runs_ms) / max(variant.runs_ms), max(reference.runs_ms) / min(variant.runs_ms)


def agrees(overview, low, high):
    """Whether the Overview's (speed-up, (lowest, highest)) range overlaps this page's range [low, high]."""
    _, (lowest, highest) = overview
    return highest >= low and lowest <= high


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


def compare(photo, reference_live, lives, lpips_metric=None, progress=None, runs=TIMED_RUNS):
    """Run the original and every variant on one photo (`measure`) -> (reference output, reference
    Timing, rows); rows: [{"live", "output", "timing", "ms" (the median), "psnr", "ssim", "lpips"}].
    Scoring comes after all timed calls and is sequential: scoring in a helper thread while the next
    variant runs made a pass slower on 2 cores (LiteRT's and TensorFlow's threads then share the cores
    with torch; docs/dashboard.md)."""
    measured = measure(photo, [reference_live, *lives], runs, progress)
    (ref, ref_timing), rest = measured[0], measured[1:]
    rows = [{"live": live, "output": out, "timing": t, "ms": t.median_ms, **score(ref, out, lpips_metric)}
            for live, (out, t) in zip(lives, rest)]
    return ref, ref_timing, rows
