"""Full-image quality of a variant against the original's output: PSNR, SSIM, and their summaries.

Both metrics take two uint8 RGB images of the same shape (the project's image contract) and compute
in float64 with a data range of 255.

SSIM is the configuration of Wang et al. (2004), stated once here and matched by
`skimage.metrics.structural_similarity(a, b, channel_axis=2, data_range=255, gaussian_weights=True,
sigma=1.5, use_sample_covariance=False)` to 1e-6 (tests/test_evaluation_quality.py): an 11x11
Gaussian window (sigma 1.5, truncated at 3.5 sigma), K1 = 0.01, K2 = 0.03, population covariances,
the mean SSIM map over pixels at least 5 px from the border (where the window lies inside the image),
averaged over the three channels. cv2's separable filter does the windowing (fast on big images);
border handling cannot matter because the border band is cropped away.
"""

import math

import cv2
import numpy as np

DATA_RANGE = 255.0
SSIM_SIGMA = 1.5
SSIM_TRUNCATE = 3.5
SSIM_RADIUS = int(SSIM_TRUNCATE * SSIM_SIGMA + 0.5)  # 5 -> an 11x11 window
SSIM_K1, SSIM_K2 = 0.01, 0.03
SKIMAGE_SSIM_KWARGS = dict(channel_axis=2, data_range=255, gaussian_weights=True, sigma=SSIM_SIGMA,
                           use_sample_covariance=False)


def _pair(a, b, label="images"):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"{label} must have the same shape to be compared. Received: {a.shape} vs {b.shape}")
    if a.dtype != np.uint8 or b.dtype != np.uint8:
        raise ValueError(f"{label} must be uint8 (the image contract). Received: {a.dtype} and {b.dtype}")
    if a.ndim not in (2, 3):
        raise ValueError(f"{label} must be H x W or H x W x C. Received shape {a.shape}")
    return a.astype(np.float64), b.astype(np.float64)


def psnr(a, b):
    """Peak signal-to-noise ratio in dB; +inf for identical images."""
    x, y = _pair(a, b)
    mse = float(np.mean((x - y) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(DATA_RANGE**2 / mse)


def _gaussian_kernel():
    taps = np.arange(-SSIM_RADIUS, SSIM_RADIUS + 1, dtype=np.float64)
    k = np.exp(-0.5 * (taps / SSIM_SIGMA) ** 2)
    return k / k.sum()


def _window_mean(x, kernel):
    return cv2.sepFilter2D(x, cv2.CV_64F, kernel, kernel, borderType=cv2.BORDER_REFLECT)


def ssim(a, b):
    """Mean SSIM (Wang et al. configuration, see the module docstring); 1.0 for identical images."""
    x, y = _pair(a, b)
    if min(x.shape[:2]) < 2 * SSIM_RADIUS + 1:
        raise ValueError(f"SSIM needs images of at least {2 * SSIM_RADIUS + 1} px a side. "
                         f"Received shape {a.shape}")
    if x.ndim == 2:
        x, y = x[..., None], y[..., None]
    kernel = _gaussian_kernel()
    c1, c2 = (SSIM_K1 * DATA_RANGE) ** 2, (SSIM_K2 * DATA_RANGE) ** 2
    r = SSIM_RADIUS
    values = []
    for c in range(x.shape[2]):
        xc, yc = np.ascontiguousarray(x[..., c]), np.ascontiguousarray(y[..., c])
        mx, my = _window_mean(xc, kernel), _window_mean(yc, kernel)
        vx = _window_mean(xc * xc, kernel) - mx * mx
        vy = _window_mean(yc * yc, kernel) - my * my
        cxy = _window_mean(xc * yc, kernel) - mx * my
        s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
        values.append(s[r:-r, r:-r].mean())
    return float(np.mean(values))


def summarize(values, higher_is_better=True):
    """mean / median / worst of per-image values (None entries skipped). An infinite PSNR (identical
    images) makes the mean infinite; records store non-finite values as null with a note."""
    arr = np.asarray([v for v in values if v is not None], dtype=np.float64)
    if arr.size == 0:
        return {"mean": None, "median": None, "worst": None}
    worst = arr.min() if higher_is_better else arr.max()
    return {"mean": float(arr.mean()), "median": float(np.median(arr)), "worst": float(worst)}


def summary_metrics(per_image, keys=("psnr", "ssim", "lpips"), prefix=""):
    """Per-image dicts -> {prefix}{key}_mean/_median/_worst (LPIPS: lower is better) + images."""
    metrics = {}
    for key in keys:
        values = [row.get(f"{prefix}{key}") for row in per_image]
        if all(v is None for v in values):
            continue
        stats = summarize(values, higher_is_better=(key != "lpips"))
        for stat, value in stats.items():
            metrics[f"{prefix}{key}_{stat}"] = value
    metrics["images"] = len(per_image)
    return metrics
