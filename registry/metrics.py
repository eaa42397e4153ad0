"""Evaluation records <-> flat MLflow metrics, and which direction of each metric is "better".

A record (docs/contracts.md) holds a group, a size and a dict of metrics; MLflow holds flat
`key -> float`. The key is `<group>.<size>.<metric>` (`latency.512.p50_ms`), `<group>.<metric>` for
size-free groups (`static.file_bytes`), a `b<batch>` part for throughput (`throughput.512.b4.images_per_s`)
and a `portrait.` prefix for portrait-mode records. Non-numeric or non-finite values stay in the
records.json artifact only.
"""

import math

# metric name suffix -> +1 higher is better, -1 lower is better (anything else is not judged)
DIRECTIONS = (("_ms", -1), ("peak_mb", -1), ("file_bytes", -1), ("images_per_s", 1),
              ("psnr_mean", 1), ("psnr_median", 1), ("psnr_worst", 1),
              ("ssim_mean", 1), ("ssim_median", 1), ("ssim_worst", 1),
              ("lpips_mean", -1), ("lpips_median", -1), ("lpips_worst", -1))
NOT_JUDGED = ("std_ms",)  # the spread itself is not a result that regresses

# Noise floors for regressions: a change smaller than the larger of (relative * baseline,
# absolute, 2 x the std of the earlier runs) is noise, not a regression.
NOISE = {
    "_ms": {"relative": 0.10, "absolute": 0.5},  # shared CPUs: +-10% between runs is common
    "peak_mb": {"relative": 0.10, "absolute": 5.0},
    "file_bytes": {"relative": 0.0, "absolute": 0.0},  # deterministic: any growth counts
    "images_per_s": {"relative": 0.10, "absolute": 0.0},
    "psnr": {"relative": 0.0, "absolute": 0.1},  # dB
    "ssim": {"relative": 0.0, "absolute": 0.002},
    "lpips": {"relative": 0.0, "absolute": 0.002},
}


def metric_key(record, name):
    parts = [] if record.get("mode", "full") == "full" else [record["mode"]]
    parts.append(record["group"])
    if record.get("size") is not None:
        parts.append(str(record["size"]))
    if record["group"] == "throughput":
        parts.append(f"b{record['metrics'].get('batch')}")
    parts.append(name)
    return ".".join(parts)


def flatten(records):
    """{key: float} of every finite numeric metric of the records (later records win on clashes)."""
    flat = {}
    for record in records:
        for name, value in record["metrics"].items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if record["group"] == "throughput" and name == "batch":
                continue
            if math.isfinite(value):
                flat[metric_key(record, name)] = float(value)
    return flat


def direction(key):
    """+1 / -1 / 0 (not judged) for a flat metric key."""
    name = key.rsplit(".", 1)[-1]
    if name in NOT_JUDGED:
        return 0
    for suffix, sign in DIRECTIONS:
        if name.endswith(suffix):
            return sign
    return 0


def noise_floor(key, baseline):
    name = key.rsplit(".", 1)[-1]
    for stem, band in NOISE.items():
        if stem in name:
            return max(band["relative"] * abs(baseline), band["absolute"])
    return 0.0
