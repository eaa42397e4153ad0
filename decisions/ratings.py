"""Comparisons -> 1..5 stars per axis, relative to the original, and the words that explain them.

`rate(comparison)` maps each axis to stars through the documented, monotone scales of decisions.scales;
`explain(comparison, axis)` answers "why N stars?" with the measured value and the whole scale;
`render_table` is the plain-text star table of the CLI.
"""

from dataclasses import dataclass

from decisions.axes import AXES, AXIS, FACE_METRICS, fmt
from decisions.scales import (PRECISION_STARS, QUALITY_SCALES, RUNTIME_STARS, SCALES, TRAIN_TIME_SCALE,
                              TRAINING_LEVELS, TRAINING_STARS, deployment_stars)


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


def rate_axis(comp, axis, quality_keys=None):
    """One axis' Rating; `quality_keys` limits quality to metrics every compared variant has."""
    m = comp.metrics
    if axis in SCALES:
        scale = SCALES[axis]
        value = m.get(scale.metric)
        if value is None:
            why = "no original measured here" if comp.baseline is None else f"{scale.label} not measured"
            return Rating(axis, None, None, why, scale.describe())
        base_key, unit = AXIS[axis].baseline, AXIS[axis].unit
        detail = (f"{scale.label} {fmt(value, 'x')} ({fmt(m.get(base_key), unit)} vs "
                  f"{fmt(comp.base_metrics.get(base_key), unit)} for {comp.baseline})")
        return Rating(axis, scale.stars(value), scale.score(value), detail, scale.describe())
    if axis == "quality":
        keys = QUALITY_SCALES if quality_keys is None else quality_keys
        parts = [(QUALITY_SCALES[k], m[k]) for k in keys if m.get(k) is not None]
        scale_text = " | ".join(f"{s.label}: {s.describe()}" for s in QUALITY_SCALES.values())
        if not parts:
            return Rating(axis, None, None, "quality not measured", scale_text)
        values = ", ".join(f"{s.label} {fmt(v, s.unit)} ({s.stars(v)}*)" for s, v in parts)
        if comp.is_baseline:
            values = "the original itself (the reference every PSNR/SSIM/LPIPS is measured against)"
        detail = f"{values}; {_quality_decider(parts)}"
        return Rating(axis, min(s.stars(v) for s, v in parts), min(s.score(v) for s, v in parts), detail,
                      scale_text)
    if axis == "training":
        level = TRAINING_LEVELS[m["training_level"]]
        stars, score = TRAINING_STARS[level], float(TRAINING_STARS[level])
        detail = f"method {comp.method!r} needs {level}"
        if m.get("train_s") is not None:
            stars = min(stars, TRAIN_TIME_SCALE.stars(m["train_s"]))
            score = min(score, TRAIN_TIME_SCALE.score(m["train_s"]))
            detail += f", measured {fmt(m['train_s'], 's')} of training"
        levels = ", ".join(f"{lv} {TRAINING_STARS[lv]}*" for lv in TRAINING_LEVELS)
        return Rating(axis, stars, score, detail,
                      f"{levels}; a measured time caps it: {TRAIN_TIME_SCALE.describe()}")
    if axis == "deployment":
        stars, rt, pr = deployment_stars(comp.runtime, comp.precision)
        detail = (f"runtime {comp.runtime}: {rt[0]}* ({rt[1]}); precision {comp.precision}: {pr[0]}* ({pr[1]}); "
                  f"the weaker sets the stars")
        scale_text = ("runtime: " + ", ".join(f"{k} {v[0]}*" for k, v in RUNTIME_STARS.items())
                      + " | precision: " + ", ".join(f"{k} {v[0]}*" for k, v in PRECISION_STARS.items()))
        return Rating(axis, stars, float(stars), detail, scale_text)
    raise ValueError(f"Unknown rating axis {axis!r}. Valid axes: {', '.join(AXES)}")


def _quality_decider(parts):
    """Which side set the quality stars, in words: the full image, the face regions, or both alike.
    The axis takes the weakest metric (docs/decisions.md: the weaker of full-image and face-region)."""
    worst = min(parts, key=lambda p: p[0].score(p[1]))
    full = [p for p in parts if p[0].metric not in FACE_METRICS]
    face = [p for p in parts if p[0].metric in FACE_METRICS]
    named = f"{worst[0].label} {fmt(worst[1], worst[0].unit)}"
    if not face:
        return f"the full image decides (face regions not measured): the weakest, {named}, sets the stars"
    if not full:
        return f"the face regions decide (full image not measured): the weakest, {named}, sets the stars"
    full_stars, face_stars = min(s.stars(v) for s, v in full), min(s.stars(v) for s, v in face)
    if face_stars < full_stars:
        return (f"the face decides: the weakest, {named}, sets the stars (the full image alone would give "
                f"{full_stars}*)")
    if full_stars < face_stars:
        return (f"the full image decides: the weakest, {named}, sets the stars (the face alone would give "
                f"{face_stars}*)")
    return f"the full image and the face agree at {full_stars}*: the weakest, {named}, sets the stars"


def rate(comp, axes=AXES):
    """{axis: Rating} for one Comparison."""
    return {axis: rate_axis(comp, axis) for axis in axes}


def explain(comp, axis):
    """'Why N stars?' in one paragraph: the measured value, the stars, and the whole scale."""
    r = rate_axis(comp, axis)
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
