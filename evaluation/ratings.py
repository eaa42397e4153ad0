"""Evaluation records -> one comparison per variant -> 1..5 stars per axis, relative to the original.

Pure functions over the plain records of docs/contracts.md (no mlflow, no streamlit, no TensorFlow).

1. `compare(records)` folds the records of each (machine, variant, input size) into a `Comparison`:
   the variant's measured metrics plus ratios against the original measured on the SAME machine at the
   SAME size (a speed-up is never computed across machines). The machine is `hardware_id`: a hash of the
   record's env without the fields that say how a variant ran or which code ran (`RUN_FIELDS`): the
   producer's `env_id` also hashes the LiteRT delegate and Keras backend, so a Keras original and its
   LiteRT exports measured in one run carry different env_ids yet share the machine.
2. `rate(comparison)` maps each axis to stars through a documented, monotone scale (`SCALES`, the
   training and deployment tables below). A scale is data: five anchors, the value worth 1.0 star and the
   thresholds for 2, 3, 4 and 5 stars. `stars` counts the thresholds met; `score` interpolates linearly
   between anchors (1.0 .. 5.0, floor(score) == stars) so rankings can see differences inside a star.
3. `explain(comparison, axis)` answers "why N stars?" with the measured value and the whole scale.
"""

import hashlib
import json
import math
from dataclasses import dataclass, field

AXES = ("size", "speed", "quality", "memory", "training", "deployment")


# -- the scales (rendered in docs/decisions.md; change them here and the docs table with them) --------------

@dataclass(frozen=True)
class Scale:
    """A monotone scale: anchors[0] is worth 1.0 star, anchors[k] (k = 1..4) is the threshold for k+1 stars."""

    metric: str  # key in Comparison.metrics
    label: str
    unit: str
    anchors: tuple
    higher_is_better: bool = True

    def __post_init__(self):
        if len(self.anchors) != 5:
            raise ValueError(f"a scale needs 5 anchors. Received: anchors={self.anchors!r}")
        sign = 1 if self.higher_is_better else -1
        steps = [sign * (b - a) for a, b in zip(self.anchors, self.anchors[1:])]
        if not all(s > 0 for s in steps):
            raise ValueError(f"anchors of {self.metric!r} must be strictly monotone in the scale's direction. "
                             f"Received: anchors={self.anchors!r}")

    def _oriented(self, value):
        sign = 1 if self.higher_is_better else -1
        return sign * value, [sign * a for a in self.anchors]

    def stars(self, value):
        v, a = self._oriented(value)
        return 1 + sum(v >= t for t in a[1:])

    def score(self, value):
        """Fractional stars in [1, 5], piecewise linear between anchors, flat outside them."""
        v, a = self._oriented(value)
        if v <= a[0]:
            return 1.0
        if v >= a[4]:
            return 5.0
        for k in range(4):
            if v < a[k + 1]:
                return 1.0 + k + (v - a[k]) / (a[k + 1] - a[k])
        return 5.0  # unreachable

    def describe(self):
        op = ">=" if self.higher_is_better else "<="
        parts = [f"{k + 1}* {op} {_fmt(t, self.unit)}" for k, t in enumerate(self.anchors[1:], start=1)]
        worse = "<" if self.higher_is_better else ">"
        return f"1* {worse} {_fmt(self.anchors[1], self.unit)}; " + "; ".join(parts)


SCALES = {
    # ratios against the original, same environment and size
    "size": Scale("size_reduction", "file size reduction", "x", (1.0, 1.5, 2.0, 3.5, 6.0)),
    "speed": Scale("speedup", "speed-up (p50 latency)", "x", (0.5, 1.1, 1.5, 2.5, 4.0)),
    "memory": Scale("memory_reduction", "peak-memory reduction", "x", (0.5, 1.1, 1.5, 2.5, 4.0)),
}

# Quality kept: every available metric has its own scale; the axis takes the weakest (min), so one bad
# metric (or one bad face region) is enough to lose stars. PSNR/SSIM/LPIPS are against the original's output.
QUALITY_SCALES = {
    "psnr_db": Scale("psnr_db", "PSNR vs original", "dB", (20.0, 25.0, 30.0, 35.0, 40.0)),
    "ssim": Scale("ssim", "SSIM vs original", "", (0.70, 0.85, 0.92, 0.96, 0.98)),
    "lpips": Scale("lpips", "LPIPS vs original", "", (0.40, 0.20, 0.10, 0.05, 0.02), higher_is_better=False),
    "face_psnr_db": Scale("face_psnr_db", "face-region PSNR (worst region)", "dB", (20.0, 25.0, 30.0, 35.0, 40.0)),
    "face_ssim": Scale("face_ssim", "face-region SSIM (worst region)", "", (0.70, 0.85, 0.92, 0.96, 0.98)),
    "face_lpips": Scale("face_lpips", "face-region LPIPS (worst region)", "",
                        (0.40, 0.20, 0.10, 0.05, 0.02), higher_is_better=False),
}

# Training cost: what the method needs beyond the trained original; a combination takes the costliest part.
TRAINING_LEVELS = ("none", "calibration", "fine-tune", "distillation")
TRAINING_STARS = {"none": 5, "calibration": 4, "fine-tune": 3, "distillation": 2}
METHOD_TRAINING = {
    "original": "none", "fp32": "none", "fp16": "none", "int8_dynamic": "none",
    "int8_full": "calibration",  # a representative dataset, seconds to minutes, no gradients
    "prune": "fine-tune", "svd": "fine-tune",  # records carry no config: assume the recovery fine-tune ran
    "distill": "distillation",
}
# Measured training time (static.metrics.train_s, when the producer knows it) caps the level's stars.
TRAIN_TIME_SCALE = Scale("train_s", "measured training time", "s",
                         (24 * 3600.0, 8 * 3600.0, 3600.0, 600.0, 60.0), higher_is_better=False)

# Deployment difficulty: where the artifact runs without extra work. The axis takes the weaker of the two.
RUNTIME_STARS = {
    "litert": (5, "one small runtime (ai-edge-litert / TFLite) on Android, iOS, Linux and microcontrollers"),
    "keras-tensorflow": (3, "needs TensorFlow (~0.5 GB) at serving time, or an export step first"),
    "keras-jax": (2, "needs JAX and a Keras model server, no mobile path without an export step"),
    "keras-torch": (2, "needs PyTorch plus Keras, no mobile path without an export step"),
}
PRECISION_STARS = {
    "fp32": (5, "every kernel, delegate and device supports float32"),
    "fp16": (4, "fp16 weights: the CPU dequantises to float32, GPU delegates run it natively"),
    "int8-dynamic": (4, "int8 weights, float activations: CPU kernels only (GPU/NPU delegates fall back)"),
    "int8-full": (3, "integer kernels (XNNPACK, NPUs, Edge TPU) but needs calibration data and a per-device "
                     "accuracy check"),
    "mixed-fp16": (3, "mixed precision: needs hardware with fast fp16 and a runtime that keeps it"),
}


def _fmt(value, unit):
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


# env fields that describe how a variant was run or which code ran it, not the machine it ran on
# (run_env_id: the dashboard's adapter keeps the producer's env_id there)
RUN_FIELDS = ("env_id", "run_env_id", "delegate", "keras_backend", "git_commit")


def hardware_id(env):
    """'hw-' + a short hash of the machine fields of an env (cpu, cores, threads, gpu, os, host, packages)."""
    machine = {k: v for k, v in env.items() if k not in RUN_FIELDS}
    return "hw-" + hashlib.sha256(json.dumps(machine, sort_keys=True, default=str).encode()).hexdigest()[:8]


# -- records -> comparisons ------------------------------------------------------------------------------

def method_parts(method):
    """'prune+tflite_int8_full' -> ['prune', 'int8_full'] (the 'tflite_' prefix names the same method)."""
    if not isinstance(method, str) or not method.strip():
        raise ValueError(f"a record's method must be a non-empty string. Received: method={method!r}")
    parts = []
    for part in method.split("+"):
        part = part.strip().lower().replace("-", "_")
        parts.append(part[len("tflite_"):] if part.startswith("tflite_") else part)
    return parts


def training_level(method):
    """(level, notes): the costliest training step any part of the method needs."""
    levels, notes = [], []
    for part in method_parts(method):
        if part not in METHOD_TRAINING:
            notes.append(f"unknown method {part!r}: training cost assumed 'fine-tune'")
        levels.append(METHOD_TRAINING.get(part, "fine-tune"))
    return max(levels, key=TRAINING_LEVELS.index), notes


@dataclass
class Comparison:
    """One variant on one machine at one input size, with ratios against that machine's original."""

    variant: str
    style: str | None
    method: str
    precision: str
    runtime: str
    device: str
    env_id: str  # the producer's env_id of this variant's records
    size: int | None
    baseline: str | None  # variant name of the original it is compared with (None: no original measured)
    metrics: dict = field(default_factory=dict)
    base_metrics: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    hardware_id: str = ""  # the machine (see hardware_id()); comparisons never cross it
    mode: str = "full"  # full | portrait; comparisons never cross it either

    @property
    def is_baseline(self):
        return self.baseline == self.variant

    def to_dict(self):
        return {k: getattr(self, k) for k in ("variant", "style", "method", "precision", "runtime", "device",
                                              "env_id", "hardware_id", "size", "mode", "baseline", "metrics",
                                              "base_metrics", "notes")}


def _latest(records):
    return max(records, key=lambda r: str(r.get("timestamp") or ""))


def _check_record(record, index):
    if not isinstance(record, dict):
        raise ValueError(f"record {index} must be a dict. Received: {type(record).__name__}")
    missing = [k for k in ("variant", "method", "group", "metrics") if k not in record]
    if missing:
        raise ValueError(f"record {index} lacks {', '.join(missing)} (see docs/contracts.md). "
                         f"Received keys: {sorted(record)}")
    if not isinstance((record.get("env") or {}).get("env_id"), str):
        raise ValueError(f"record {index} ({record['variant']!r}, {record['group']!r}) has no env.env_id: "
                         f"results without an environment cannot be compared. Received: env={record.get('env')!r}")


def _own_metrics(by_group, static):
    """The variant's measured values, flattened to the metric names of METRICS."""
    m = {}
    s = static.get("metrics", {}) if static else {}
    if s.get("file_bytes") is not None:
        m["file_mb"] = s["file_bytes"] / 1e6
    for key in ("params", "macs", "train_s"):
        if s.get(key) is not None:
            m[key] = s[key]
    lat = by_group.get("latency")
    if lat:
        lm = lat["metrics"]
        for key in ("p50_ms", "p90_ms", "p99_ms", "mean_ms", "std_ms", "count"):
            if lm.get(key) is not None:
                m[key] = lm[key]
        if lm.get("p50_ms"):
            m["fps"] = 1000.0 / lm["p50_ms"]
    if by_group.get("throughput"):
        m["images_per_s"] = max(r["metrics"]["images_per_s"] for r in by_group["throughput"])
    mem = by_group.get("memory")
    if mem and mem["metrics"].get("peak_mb") is not None:
        m["memory_mb"] = mem["metrics"]["peak_mb"]
    q = by_group.get("quality")
    if q:
        qm = q["metrics"]
        for src, dst in (("psnr_mean", "psnr_db"), ("ssim_mean", "ssim"), ("lpips_mean", "lpips"),
                         ("psnr_worst", "psnr_worst_db")):
            if qm.get(src) is not None:
                m[dst] = qm[src]
            elif src.startswith("psnr") and src in qm:
                m[dst] = math.inf  # records store an infinite PSNR (identical output) as null
    fq = by_group.get("face_quality")
    if fq:
        fm = fq["metrics"]
        regions = ("eyes", "nose", "mouth")
        for src, dst, pick in (("psnr_mean", "face_psnr_db", min), ("ssim_mean", "face_ssim", min),
                               ("lpips_mean", "face_lpips", max)):
            values = [math.inf if fm[f"{r}_{src}"] is None else fm[f"{r}_{src}"]  # null PSNR: identical
                      for r in regions if f"{r}_{src}" in fm and (fm[f"{r}_{src}"] is not None or src == "psnr_mean")]
            if values:
                m[dst] = pick(values)  # the worst region
    return m


def _declared_training(static, record):
    """Optional extension of the contract: a record's top-level `training` or static metric `training`
    (one of TRAINING_LEVELS) states the training actually done, overriding the guess from the method."""
    for value in ((static or {}).get("metrics", {}).get("training"), (static or {}).get("training"),
                  record.get("training")):
        if value is not None:
            if value not in TRAINING_LEVELS:
                raise ValueError(f"record {record['variant']!r}: training must be one of {TRAINING_LEVELS}. "
                                 f"Received: training={value!r}")
            return value
    return None


def _pick_baseline(candidates, style):
    originals = [c for c in candidates if c["method"] == "original" and c["style"] == style]
    # prefer the float32 TensorFlow original: the network the compressed variants were made from
    originals.sort(key=lambda c: (c["runtime"] != "keras-tensorflow", c["precision"] != "fp32", c["variant"]))
    return originals[0] if originals else None


def compare(records, baseline=None):
    """Fold records into Comparisons: one per (machine, variant, size), sorted by machine, size, variant.

    `baseline` names the variant to compare against; by default the style's `method == "original"` record
    (float32 Keras/TensorFlow preferred) on the same machine (`hardware_id`) and at the same size.
    """
    records = list(records)
    for i, r in enumerate(records):
        _check_record(r, i)
    static = {}  # variant -> {hardware_id: [static records]}; file size and params do not depend on the machine
    sized = {}  # (hardware_id, variant, size, mode) -> {group: [records]}
    for r in records:
        hw = hardware_id(r["env"])
        if r["group"] == "static":
            static.setdefault(r["variant"], {}).setdefault(hw, []).append(r)
            continue
        if r.get("size") is None:
            continue  # a sized group without a size cannot be compared
        groups = sized.setdefault((hw, r["variant"], r["size"], r.get("mode") or "full"), {})
        groups.setdefault(r["group"], []).append(r)

    rows = []
    for (hw, name, size, mode), groups in sized.items():
        first = _latest([x for recs in groups.values() for x in recs])
        by_group = {g: (recs if g == "throughput" else _latest(recs)) for g, recs in groups.items()}
        per_env = static.get(name, {})
        st = _latest(per_env[hw]) if hw in per_env else (
            _latest([x for recs in per_env.values() for x in recs]) if per_env else None)
        rows.append({"variant": name, "style": first.get("style"), "method": first["method"],
                     "precision": first.get("precision") or "fp32", "runtime": first.get("runtime") or "unknown",
                     "device": first.get("device") or "cpu", "env_id": first["env"]["env_id"],
                     "hardware_id": hw, "size": size, "mode": mode,
                     "env": first.get("env") or {}, "metrics": _own_metrics(by_group, st),
                     "training": _declared_training(st, first),
                     "notes": sorted({n for recs in groups.values() for x in recs for n in (x.get("notes") or [])})})

    out = []
    for row in rows:
        # same machine, size and mode (the portrait pipeline is compared with the portrait original)
        peers = [c for c in rows if (c["hardware_id"], c["size"], c["mode"]) == (row["hardware_id"], row["size"],
                                                                                  row["mode"])]
        if baseline is not None:
            base = next((c for c in peers if c["variant"] == baseline), None)
        else:
            base = _pick_baseline(peers, row["style"])
        comp = Comparison(variant=row["variant"], style=row["style"], method=row["method"],
                          precision=row["precision"], runtime=row["runtime"], device=row["device"],
                          env_id=row["env_id"], size=row["size"], baseline=base["variant"] if base else None,
                          metrics=dict(row["metrics"]), base_metrics=dict(base["metrics"]) if base else {},
                          env=row["env"], notes=list(row["notes"]), hardware_id=row["hardware_id"],
                          mode=row["mode"])
        level, notes = training_level(comp.method)
        if row["training"] is not None:  # the producer knows better than the method name (e.g. prune, no fine-tune)
            level, notes = row["training"], []
        comp.metrics["training_level"] = TRAINING_LEVELS.index(level)
        comp.notes.extend(notes)
        if comp.is_baseline:
            # quality is measured against this very network: it keeps everything
            comp.metrics.update(psnr_db=math.inf, ssim=1.0, lpips=0.0)
        if base is None:
            comp.notes.append(f"no original measured on {comp.hardware_id} at {comp.size} px: no ratios")
        else:
            _add_ratios(comp)
        comp.metrics["deploy_stars"] = _deployment(comp)[0]
        out.append(comp)
    out.sort(key=lambda c: (c.hardware_id, c.size, not c.is_baseline, c.variant))
    return out


def _add_ratios(comp):
    m, b = comp.metrics, comp.base_metrics
    for num, den, key in (("file_mb", "file_mb", "size_reduction"), ("p50_ms", "p50_ms", "speedup"),
                          ("memory_mb", "memory_mb", "memory_reduction")):
        if m.get(den) and b.get(num):
            m[key] = b[num] / m[den]


# Every metric a Comparison may carry: (better direction, unit, meaning). Constraints and Pareto objectives
# name these; `training` and `deploy_stars` are the categorical axes as numbers.
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
    "training_level": ("min", "", "0 none, 1 calibration, 2 fine-tune, 3 distillation"),
    "train_s": ("min", "s", "measured training time"),
    "deploy_stars": ("max", "*", "deployment stars (runtime and precision support)"),
}


def metric_direction(name):
    if name not in METRICS:
        raise ValueError(f"Unknown metric {name!r}. Valid metrics: {', '.join(METRICS)}")
    return METRICS[name][0]


# -- stars ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rating:
    axis: str
    stars: int | None  # None: not measured
    score: float | None  # fractional stars, for ranking
    value: str  # the measured value, in words
    scale: str  # the scale, in words

    def to_dict(self):
        return {"axis": self.axis, "stars": self.stars, "score": self.score, "value": self.value,
                "scale": self.scale}


def _deployment(comp):
    rt = RUNTIME_STARS.get(comp.runtime, (2, f"unknown runtime {comp.runtime!r}"))
    pr = PRECISION_STARS.get(comp.precision, (2, f"unknown precision {comp.precision!r}"))
    return min(rt[0], pr[0]), rt, pr


def _rate_axis(comp, axis, quality_keys=None):
    """One axis' Rating; `quality_keys` limits quality to metrics every compared variant has."""
    m = comp.metrics
    if axis in SCALES:
        scale = SCALES[axis]
        value = m.get(scale.metric)
        if value is None:
            why = "no original measured here" if comp.baseline is None else f"{scale.label} not measured"
            return Rating(axis, None, None, why, scale.describe())
        base_key = {"size": "file_mb", "speed": "p50_ms", "memory": "memory_mb"}[axis]
        unit = {"size": "MB", "speed": "ms", "memory": "MB"}[axis]
        detail = (f"{scale.label} {_fmt(value, 'x')} ({_fmt(m.get(base_key), unit)} vs "
                  f"{_fmt(comp.base_metrics.get(base_key), unit)} for {comp.baseline})")
        return Rating(axis, scale.stars(value), scale.score(value), detail, scale.describe())
    if axis == "quality":
        keys = QUALITY_SCALES if quality_keys is None else quality_keys
        parts = [(QUALITY_SCALES[k], m[k]) for k in keys if m.get(k) is not None]
        scale_text = " | ".join(f"{s.label}: {s.describe()}" for s in QUALITY_SCALES.values())
        if not parts:
            return Rating(axis, None, None, "quality not measured", scale_text)
        worst = min(parts, key=lambda p: p[0].score(p[1]))
        values = ", ".join(f"{s.label} {_fmt(v, s.unit)} ({s.stars(v)}*)" for s, v in parts)
        if comp.is_baseline:
            values = "the original itself (the reference every PSNR/SSIM/LPIPS is measured against)"
        detail = f"{values}; the weakest, {worst[0].label}, sets the stars"
        return Rating(axis, min(s.stars(v) for s, v in parts), min(s.score(v) for s, v in parts), detail,
                      scale_text)
    if axis == "training":
        level = TRAINING_LEVELS[m["training_level"]]
        stars, score = TRAINING_STARS[level], float(TRAINING_STARS[level])
        detail = f"method {comp.method!r} needs {level}"
        if m.get("train_s") is not None:
            stars = min(stars, TRAIN_TIME_SCALE.stars(m["train_s"]))
            score = min(score, TRAIN_TIME_SCALE.score(m["train_s"]))
            detail += f", measured {_fmt(m['train_s'], 's')} of training"
        levels = ", ".join(f"{lv} {TRAINING_STARS[lv]}*" for lv in TRAINING_LEVELS)
        return Rating(axis, stars, score, detail,
                      f"{levels}; a measured time caps it: {TRAIN_TIME_SCALE.describe()}")
    if axis == "deployment":
        stars, rt, pr = _deployment(comp)
        detail = (f"runtime {comp.runtime}: {rt[0]}* ({rt[1]}); precision {comp.precision}: {pr[0]}* ({pr[1]}); "
                  f"the weaker sets the stars")
        scale_text = ("runtime: " + ", ".join(f"{k} {v[0]}*" for k, v in RUNTIME_STARS.items())
                      + " | precision: " + ", ".join(f"{k} {v[0]}*" for k, v in PRECISION_STARS.items()))
        return Rating(axis, stars, float(stars), detail, scale_text)
    raise ValueError(f"Unknown rating axis {axis!r}. Valid axes: {', '.join(AXES)}")


def rate(comp, axes=AXES):
    """{axis: Rating} for one Comparison."""
    return {axis: _rate_axis(comp, axis) for axis in axes}


def explain(comp, axis):
    """'Why N stars?' in one paragraph: the measured value, the stars, and the whole scale."""
    r = _rate_axis(comp, axis)
    head = f"{comp.variant} [{axis}] " + ("not rated" if r.stars is None else f"{r.stars} star(s)")
    where = f"{comp.hardware_id} (env {comp.env_id}), {comp.size} px, {comp.runtime}/{comp.precision}"
    return f"{head} ({where}): {r.value}.\nScale: {r.scale}."


def stars_text(stars):
    return "  -  " if stars is None else "*" * stars + "." * (5 - stars)


def render_table(comparisons, axes=AXES):
    """A plain-text star table (one row per comparison), grouped by environment and size."""
    lines = []
    key = None
    comparisons = sorted(comparisons, key=lambda c: (c.hardware_id, c.mode, c.size or 0, not c.is_baseline,
                                                     c.variant))
    width = max([len(c.variant) for c in comparisons] + [7])
    for c in comparisons:
        if (c.hardware_id, c.mode, c.size) != key:
            key = (c.hardware_id, c.mode, c.size)
            envs = sorted({o.env_id for o in comparisons if (o.hardware_id, o.mode, o.size) == key})
            mode = "" if c.mode == "full" else f", {c.mode} mode"
            lines.append(f"machine {c.hardware_id} (env {', '.join(envs)}), {c.size} px{mode}, baseline {c.baseline}")
            lines.append("  " + "variant".ljust(width) + "  " + "  ".join(a[:10].ljust(10) for a in axes))
        ratings = rate(c, axes)
        lines.append("  " + c.variant.ljust(width) + "  "
                     + "  ".join(stars_text(ratings[a].stars).ljust(10) for a in axes))
    return "\n".join(lines)


def scales_markdown():
    """The star scales as Markdown tables (pasted into docs/decisions.md; a test keeps the two in sync)."""
    def row(scale):
        op = ">=" if scale.higher_is_better else "<="
        cells = [f"< {_fmt(scale.anchors[1], scale.unit)}" if scale.higher_is_better
                 else f"> {_fmt(scale.anchors[1], scale.unit)}"]
        cells += [f"{op} {_fmt(t, scale.unit)}" for t in scale.anchors[1:]]
        return f"| {scale.label} (`{scale.metric}`) | " + " | ".join(cells) + " |"

    lines = ["| axis: metric | 1 star | 2 stars | 3 stars | 4 stars | 5 stars |",
             "|---|---|---|---|---|---|"]
    lines += [row(s) for s in SCALES.values()]
    lines += [row(s) for s in QUALITY_SCALES.values()]
    lines.append(row(TRAIN_TIME_SCALE))
    lines += ["", "| training needed | stars |", "|---|---|"]
    lines += [f"| {lv} | {TRAINING_STARS[lv]} |" for lv in TRAINING_LEVELS]
    lines += ["", "| runtime | stars | why |", "|---|---|---|"]
    lines += [f"| {k} | {v[0]} | {v[1]} |" for k, v in RUNTIME_STARS.items()]
    lines += ["", "| precision | stars | why |", "|---|---|---|"]
    lines += [f"| {k} | {v[0]} | {v[1]} |" for k, v in PRECISION_STARS.items()]
    return "\n".join(lines)
