"""Noise bands: two values closer than their band are "the same" (ties in rankings, "as fast as" in words).

  latency (p50/p90, fps, speed-up)  max(2 x the larger std, 3% of the larger p50)
  a speed-up measured in another session  its p10/p90 range, widened by 25% (SESSION_SPEEDUP_REL_BAND)
  file size                          0.5%
  peak memory                        max(5%, 2 MB)
  PSNR 0.1 dB, SSIM 0.002, LPIPS 0.005 (face regions the same), face identity 0.01
  training                           same level (and measured time within 10% when both are known)
  deployment                         same stars
"""

import math

from decisions.axes import AXIS

LATENCY_REL_BAND, LATENCY_STD_FACTOR = 0.03, 2.0
# One window's spread misses what changes between sessions (another process, other load, CPU clocks): the
# full-INT8 / original speed-up at 512 px on one quiet 2-core machine, 2026-12-03, measured 2.22x, 2.82x,
# 2.89x by quick builds and 2.65x, 2.65x, 2.80x by Compare, each window's own range a few % wide.
SESSION_SPEEDUP_REL_BAND = 0.25
SIZE_REL_BAND = 0.005
MEMORY_REL_BAND, MEMORY_ABS_BAND_MB = 0.05, 2.0
QUALITY_BANDS = {"psnr_db": 0.1, "ssim": 0.002, "lpips": 0.005,
                 "face_psnr_db": 0.1, "face_ssim": 0.002, "face_lpips": 0.005, "psnr_worst_db": 0.1,
                 "face_identity": 0.01}
TRAIN_TIME_REL_BAND = 0.10


def latency_band_ms(latencies, stds):
    """Half-width (ms) of the band inside which latencies are a tie: max(2 x the larger std, 3% of the larger)."""
    return max(LATENCY_STD_FACTOR * max(s or 0 for s in stds), LATENCY_REL_BAND * max(v or 0 for v in latencies))


def latency_band(a, b):
    """Half-width of the band inside which two Comparisons' p50 latencies (ms) are a tie."""
    return latency_band_ms((a.metrics.get("p50_ms"), b.metrics.get("p50_ms")),
                           (a.metrics.get("std_ms"), b.metrics.get("std_ms")))


def same_within_noise(a, b, metric):
    """True when a and b's values of `metric` differ by less than its noise band (None when unmeasured)."""
    va, vb = a.metrics.get(metric), b.metrics.get(metric)
    if va is None or vb is None:
        return None
    if va == vb:
        return True  # includes inf == inf (the original's own PSNR)
    if math.isinf(va) or math.isinf(vb):
        return False
    diff = abs(va - vb)
    if metric in ("p50_ms", "p90_ms", "p99_ms"):
        return diff <= latency_band_ms((va, vb), (a.metrics.get("std_ms"), b.metrics.get("std_ms")))
    if metric in ("fps", "speedup", "images_per_s"):
        rel = latency_band(a, b) / max(a.metrics.get("p50_ms") or 1, b.metrics.get("p50_ms") or 1)
        return diff <= max(rel, LATENCY_REL_BAND) * max(va, vb)
    if metric in ("file_mb", "size_reduction", "params", "macs"):
        return diff <= SIZE_REL_BAND * max(abs(va), abs(vb))
    if metric in ("memory_mb", "memory_reduction"):
        return diff <= max(MEMORY_REL_BAND * max(va, vb), MEMORY_ABS_BAND_MB if metric == "memory_mb" else 0)
    if metric in QUALITY_BANDS:
        return diff <= QUALITY_BANDS[metric]
    if metric == "train_s":
        return diff <= TRAIN_TIME_REL_BAND * max(va, vb)
    return False  # training_level, deploy_stars: categorical, equal or not


def axis_tie(a, b, axis, quality_keys=None):
    """Whether a and b are indistinguishable on one rating axis: every metric behind it is inside its band.
    (Equal stars are not enough: 5x and 8x faster both get 5 stars but are not a tie.)"""
    keys = quality_keys if axis == "quality" and quality_keys is not None else AXIS[axis].metrics
    verdicts = [same_within_noise(a, b, k) for k in keys]
    verdicts = [v for v in verdicts if v is not None]
    return bool(verdicts) and all(verdicts)
