"""The facts every decision reads: the metrics a comparison may carry, and the six rating axes over them.

One table per fact. `METRICS` says, for each metric name, which direction is better, its unit and what it
means (constraints and Pareto objectives name these). `AXIS` says, for each rating axis, the metric its
scale reads, the raw metric compared with the original, that metric's unit, its label, the raw metrics
behind it (dominance and noise-band ties look at these), its headline value in a few characters and the
help text the dashboard shows.
"""

import math
from dataclasses import dataclass

# Every metric a Comparison may carry: (better direction, unit, meaning). `training_level` and
# `deploy_stars` are the categorical axes as numbers.
METRICS = {
    "p50_ms": ("min", "ms", "median latency, batch 1"),
    "p90_ms": ("min", "ms", "90th-percentile latency, batch 1"),
    "p99_ms": ("min", "ms", "99th-percentile latency, batch 1"),
    "fps": ("max", "fps", "frames per second at batch 1 (1000 / p50_ms)"),
    "images_per_s": ("max", "img/s", "best measured throughput over batch sizes"),
    "speedup": ("max", "x", "original p50 / variant p50, same env and size"),
    "file_mb": ("min", "MB", "artifact size on disk"),
    "size_reduction": ("max", "x", "original file size / variant file size"),
    "params": ("min", "", "learned parameters"),
    "macs": ("min", "", "multiply-accumulates at the record's macs_resolution"),
    "memory_mb": ("min", "MB", "peak memory above the process baseline"),
    "memory_reduction": ("max", "x", "original peak memory / variant peak memory"),
    "psnr_db": ("max", "dB", "mean PSNR against the original's output"),
    "psnr_worst_db": ("max", "dB", "worst-image PSNR against the original's output"),
    "ssim": ("max", "", "mean SSIM against the original's output"),
    "lpips": ("min", "", "mean LPIPS against the original's output"),
    "face_psnr_db": ("max", "dB", "worst face region's mean PSNR"),
    "face_ssim": ("max", "", "worst face region's mean SSIM"),
    "face_lpips": ("min", "", "worst face region's mean LPIPS"),
    "face_identity": ("min", "", "mean distance between dlib face embeddings of the variant's and the original's "
                                 "cartoons (0 = same; 0.6 = dlib's same-person threshold on photos)"),
    "training_level": ("min", "", "0 none, 1 calibration, 2 fine-tune, 3 distillation"),
    "train_s": ("min", "s", "measured training time"),
    "deploy_stars": ("max", "*", "deployment stars (runtime and precision support)"),
}
QUALITY_METRICS = ("psnr_db", "ssim", "lpips", "face_psnr_db", "face_ssim", "face_lpips", "face_identity")
# The quality verdict reads the weaker of the full image and the face regions (docs/decisions.md): a
# scenario floor on a full-image metric is checked against this face-region counterpart too, when measured.
FACE_COUNTERPART = {"psnr_db": "face_psnr_db", "ssim": "face_ssim", "lpips": "face_lpips"}
FACE_METRICS = ("face_psnr_db", "face_ssim", "face_lpips", "face_identity")


@dataclass(frozen=True)
class Axis:
    name: str
    label: str
    metrics: tuple  # the raw metrics behind the axis (dominance and ties)
    help: str  # what the axis measures, in one line (the dashboard's column tooltip)
    ratio: str | None = None  # the ratio against the original its scale reads (size, speed, memory)
    baseline: str | None = None  # the raw metric the ratio divides (the variant's vs the original's)
    unit: str = ""  # the unit of `baseline`
    short: tuple | None = None  # (metric, format): the headline value in a few characters


AXIS = {a.name: a for a in (
    Axis("size", "file size reduction", ("file_mb",), "original file size / variant file size",
         ratio="size_reduction", baseline="file_mb", unit="MB", short=("size_reduction", "{:.1f}x smaller")),
    Axis("speed", "speed-up (p50 latency)", ("p50_ms",), "original p50 / variant p50",
         ratio="speedup", baseline="p50_ms", unit="ms", short=("speedup", "{:.2f}x")),
    Axis("quality", "quality kept", QUALITY_METRICS,
         "weakest of PSNR, SSIM, LPIPS vs the original's output, over the full image and the face regions, "
         "and face identity",
         short=("psnr_db", "{:.1f} dB")),
    Axis("memory", "peak-memory reduction", ("memory_mb",),
         "original peak memory / variant peak memory (empty: not measured in quick builds)",
         ratio="memory_reduction", baseline="memory_mb", unit="MB", short=("memory_mb", "{:.0f} MB")),
    Axis("training", "training needed", ("training_level", "train_s"),
         "what the method needs beyond the trained original"),
    Axis("deployment", "deployment support", ("deploy_stars",), "the weaker of runtime and precision support",
         short=("deploy_stars", "{}*")),
)}
AXES = tuple(AXIS)


def metric_direction(name):
    if name not in METRICS:
        raise ValueError(f"Unknown metric {name!r}. Valid metrics: {', '.join(METRICS)}")
    return METRICS[name][0]


def fmt(value, unit):
    """A value in its unit, as the ratings and the scales write it ("2.50x", "31.2 dB", "8 h")."""
    if value is None:
        return "n/a"
    if isinstance(value, float) and math.isinf(value):
        return "identical" if unit == "dB" else "inf"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "dB":
        return f"{value:.1f} dB"
    if unit == "s":
        if value >= 3600:
            return f"{value / 3600:.0f} h"
        return f"{value / 60:.0f} min" if value >= 60 else f"{value:.0f} s"
    if unit == "ms":
        return f"{value:.0f} ms"
    if unit == "MB":
        return f"{value:.2f} MB"
    return f"{value:.3f}"
