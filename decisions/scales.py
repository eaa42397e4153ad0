"""The star scales (rendered in docs/decisions.md; change them here and the docs table with them).

A scale is data: five anchors, the value worth 1.0 star and the thresholds for 2, 3, 4 and 5 stars.
`stars` counts the thresholds met; `score` interpolates linearly between anchors (1.0 .. 5.0,
floor(score) == stars) so rankings can see differences inside a star.
"""

from dataclasses import dataclass

from decisions.axes import AXIS, fmt
from models.variant import TRAINING_LEVELS


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
        parts = [f"{k + 1}* {op} {fmt(t, self.unit)}" for k, t in enumerate(self.anchors[1:], start=1)]
        worse = "<" if self.higher_is_better else ">"
        return f"1* {worse} {fmt(self.anchors[1], self.unit)}; " + "; ".join(parts)


def _ratio_scale(axis, anchors):
    return Scale(AXIS[axis].ratio, AXIS[axis].label, "x", anchors)


# ratios against the original, same machine and size
SCALES = {"size": _ratio_scale("size", (1.0, 1.5, 2.0, 3.5, 6.0)),
          "speed": _ratio_scale("speed", (0.5, 1.1, 1.5, 2.5, 4.0)),
          "memory": _ratio_scale("memory", (0.5, 1.1, 1.5, 2.5, 4.0))}

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
    # dlib embedding distance between the variant's and the original's cartoons (evaluation.identity);
    # 0.6 is dlib's same-person threshold on real photos: a cartoon that far off shows someone else
    "face_identity": Scale("face_identity", "face identity (embedding distance)", "",
                           (0.60, 0.40, 0.25, 0.15, 0.08), higher_is_better=False),
}

# Training cost: what the method needs beyond the trained original (each method declares its level in
# models.compression, from models.variant.TRAINING_LEVELS); a combination takes the costliest part.
TRAINING_STARS = {"none": 5, "calibration": 4, "fine-tune": 3, "distillation": 2}
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


def deployment_stars(runtime, precision):
    """(stars, (runtime stars, why), (precision stars, why)): the weaker of the two sets the stars."""
    rt = RUNTIME_STARS.get(runtime, (2, f"unknown runtime {runtime!r}"))
    pr = PRECISION_STARS.get(precision, (2, f"unknown precision {precision!r}"))
    return min(rt[0], pr[0]), rt, pr


def scales_markdown():
    """The star scales as Markdown tables (pasted into docs/decisions.md; a test keeps the two in sync)."""
    def row(scale):
        op = ">=" if scale.higher_is_better else "<="
        cells = [f"< {fmt(scale.anchors[1], scale.unit)}" if scale.higher_is_better
                 else f"> {fmt(scale.anchors[1], scale.unit)}"]
        cells += [f"{op} {fmt(t, scale.unit)}" for t in scale.anchors[1:]]
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
