"""Deployment scenarios as data: hard constraints + weights over the rating axes.

A scenario is what a team would write on a whiteboard: "must fit in 4 MB and run in LiteRT; after that,
size and speed matter most". `Constraint`s exclude; `weights` rank what is left (see decisions.recommend).
The built-ins are S0's four hand-written recommendations plus deployment presets with a parameter each
(`get_scenario("mobile-cpu-app", max_mb=6)`); `custom_scenario` builds one from user-set parts.
"""

import inspect
import math
import operator
import re
from dataclasses import dataclass

from decisions.axes import AXES, FACE_COUNTERPART, METRICS
from models.variant import TRAINING_LEVELS

NUMERIC_OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt,
               "==": operator.eq, "!=": operator.ne}
SET_OPS = ("in", "not in")
# Fields of a Comparison a constraint may name besides METRICS; `training` compares by TRAINING_LEVELS order.
CATEGORICAL = ("runtime", "precision", "device", "method", "training")


def _require(condition, message):
    if not condition:
        raise ValueError(message)


@dataclass(frozen=True)
class Constraint:
    """`metric op value`, e.g. Constraint("file_mb", "<=", 4.0) or Constraint("runtime", "in", ("litert",))."""

    metric: str
    op: str
    value: object

    def __post_init__(self):
        _require(self.metric in METRICS or self.metric in CATEGORICAL,
                 f"Unknown constraint metric {self.metric!r}. Valid metrics: {', '.join([*METRICS, *CATEGORICAL])}")
        _require(self.op in NUMERIC_OPS or self.op in SET_OPS,
                 f"Unknown constraint operator {self.op!r}. Valid operators: {', '.join([*NUMERIC_OPS, *SET_OPS])}")
        if self.op in SET_OPS:
            _require(isinstance(self.value, tuple) and self.value,
                     f"{self.metric} {self.op} needs a non-empty tuple of values. Received: value={self.value!r}")
        if self.metric == "training":
            values = self.value if isinstance(self.value, tuple) else (self.value,)
            bad = [v for v in values if v not in TRAINING_LEVELS]
            _require(not bad, f"Unknown training level(s) {bad}. Valid levels: {', '.join(TRAINING_LEVELS)}")
        elif self.metric in METRICS:
            _require(self.op in NUMERIC_OPS and isinstance(self.value, (int, float))
                     and not isinstance(self.value, bool) and math.isfinite(self.value),
                     f"{self.metric} needs a numeric comparison (<=, >=, <, >, ==, !=) with a finite number. "
                     f"Received: {self.metric} {self.op} {self.value!r}")

    def measured(self, comp):
        if self.metric == "training":
            return TRAINING_LEVELS[comp.metrics["training_level"]]
        if self.metric in CATEGORICAL:
            return getattr(comp, self.metric)
        return comp.metrics.get(self.metric)

    def check(self, comp):
        """(passes, why) for one Comparison; an unmeasured metric never passes a hard constraint.

        A floor on a full-image quality metric (psnr_db, ssim, lpips) is checked against the weaker of the
        full image and its face-region counterpart (FACE_COUNTERPART) when the faces were measured: a
        variant cannot pass a quality floor with a face that fails it (docs/decisions.md)."""
        value, where = self.measured(comp), ""
        face_key = FACE_COUNTERPART.get(self.metric)
        face = comp.metrics.get(face_key) if face_key else None
        if value is not None and face is not None:
            weaker = min if METRICS[self.metric][0] == "max" else max
            if weaker(value, face) == face and face != value:
                where = f" in the worst face region ({face_key}; full image {_shown(value)})"
                value = face
        if value is None:
            return False, f"{self.metric} not measured (needed for {self})"
        if self.op in SET_OPS:
            ok = (value in self.value) == (self.op == "in")
        elif self.metric == "training":
            ok = NUMERIC_OPS[self.op](TRAINING_LEVELS.index(value), TRAINING_LEVELS.index(self.value))
        elif self.metric in CATEGORICAL:
            ok = NUMERIC_OPS[self.op](value, self.value) if self.op in ("==", "!=") else False
        else:
            ok = NUMERIC_OPS[self.op](value, self.value)
        return ok, ("" if ok else f"fails {self}: measured {_shown(value)}{where}")

    def __str__(self):
        value = ",".join(map(str, self.value)) if isinstance(self.value, tuple) else self.value
        return f"{self.metric} {self.op} {value}"


def _shown(value):
    if isinstance(value, float):
        return "inf" if math.isinf(value) else f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return str(value)


_CONSTRAINT_RE = re.compile(r"^\s*([A-Za-z_0-9]+)\s*(<=|>=|==|!=|<|>|\s+not\s+in\s+|\s+in\s+)\s*(.+?)\s*$")


def parse_constraint(text):
    """'file_mb<=4', 'runtime in litert,keras-tensorflow', 'training<=calibration' -> Constraint."""
    match = _CONSTRAINT_RE.match(text or "")
    if not match:
        raise ValueError(f"Cannot read constraint {text!r}: write METRIC OP VALUE, e.g. 'file_mb<=4' or "
                         f"'runtime in litert'. Valid operators: {', '.join([*NUMERIC_OPS, *SET_OPS])}")
    metric, op, raw = match.group(1), " ".join(match.group(2).split()), match.group(3)
    if op in SET_OPS:
        value = tuple(v.strip() for v in raw.split(",") if v.strip())
    elif metric in METRICS:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"{metric} needs a number. Received: {text!r}") from None
    else:
        value = raw
    return Constraint(metric, op, value)


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    description: str
    constraints: tuple = ()
    weights: tuple = ()  # ((axis, weight), ...): a tuple keeps the dataclass frozen and hashable
    device: str | None = None  # the hardware class it targets (None: whatever the records were measured on)
    size: int | None = None  # the input side it targets in px (None: the largest measured)
    s0_advice: str | None = None  # the hand-written S0 advice it replaces

    def __post_init__(self):
        _require(isinstance(self.name, str) and re.fullmatch(r"[a-z0-9][a-z0-9_-]*", self.name or ""),
                 f"scenario name must be lower-case letters, digits, '-' or '_'. Received: name={self.name!r}")
        for c in self.constraints:
            _require(isinstance(c, Constraint), f"constraints must be Constraint objects. Received: {c!r}")
        seen = set()
        for axis, weight in self.weights:
            _require(axis in AXES, f"Unknown weight axis {axis!r}. Valid axes: {', '.join(AXES)}")
            _require(axis not in seen, f"weight axis {axis!r} is given twice. Received: weights={self.weights!r}")
            seen.add(axis)
            _require(isinstance(weight, (int, float)) and math.isfinite(weight) and weight >= 0,
                     f"weights must be finite numbers >= 0. Received: {axis}={weight!r}")
        _require(sum(w for _, w in self.weights) > 0,
                 f"a scenario needs at least one positive weight. Received: weights={self.weights!r}")
        _require(self.device in (None, "cpu", "gpu"),
                 f"device must be cpu, gpu or None. Received: device={self.device!r}")
        _require(self.size is None or (isinstance(self.size, int) and self.size > 0),
                 f"size must be a positive int (px) or None. Received: size={self.size!r}")

    def describe(self):
        lines = [f"{self.name}: {self.title}", f"  {self.description}"]
        if self.s0_advice:
            lines.append(f"  S0's hand-written advice: {self.s0_advice}")
        lines.append("  constraints: " + ("; ".join(map(str, self.constraints)) or "none"))
        total = sum(w for _, w in self.weights)
        lines.append("  weights: " + ", ".join(f"{a} {w / total:.0%}" for a, w in self.weights if w))
        target = [f"device {self.device}" if self.device else "", f"{self.size} px" if self.size else ""]
        if any(target):
            lines.append("  targets: " + ", ".join(t for t in target if t))
        return "\n".join(lines)


def _floor(min_psnr):
    return Constraint("psnr_db", ">=", float(min_psnr))


# -- built-ins: name -> factory(params with defaults) --------------------------------------------------

def live_streaming(min_psnr=25.0):
    return Scenario("live-streaming", "Live streaming", "Every frame counts: speed first, quality only has to "
                    "stay watchable.", (_floor(min_psnr),),
                    (("speed", 6), ("quality", 2), ("memory", 1), ("deployment", 1)),
                    s0_advice="INT8 + TensorRT")


def virtual_idol_quality(min_psnr=35.0, min_ssim=0.96):
    return Scenario("virtual-idol-quality", "Virtual idol quality", "The cartoon is the product: keep the "
                    "original's look, take speed where it is free.",
                    (_floor(min_psnr), Constraint("ssim", ">=", float(min_ssim))),
                    (("quality", 7), ("speed", 1), ("size", 1), ("memory", 1)), s0_advice="distillation")


def quick_prototype(min_psnr=25.0):
    return Scenario("quick-prototype", "Quick prototype", "Something small and fast this week: no "
                    "distillation run, a short fine-tune at most.",
                    (Constraint("training", "<=", "fine-tune"), _floor(min_psnr)),
                    (("speed", 3), ("size", 3), ("training", 2), ("quality", 2)), s0_advice="pruning + INT8")


def no_training_change(min_psnr=25.0):
    return Scenario("no-training-change", "No training pipeline change", "Post-training only: no gradient "
                    "step, calibration data at most.",
                    (Constraint("training", "<=", "calibration"), _floor(min_psnr)),
                    (("speed", 4), ("size", 3), ("quality", 3)), s0_advice="INT8 only")


def mobile_cpu_app(max_mb=4.0, min_psnr=28.0):
    return Scenario("mobile-cpu-app", f"Mobile CPU app under {max_mb:g} MB", "Ships inside an app: a "
                    "LiteRT file under the download budget, then small and fast on a phone CPU.",
                    (Constraint("file_mb", "<=", float(max_mb)), Constraint("runtime", "in", ("litert",)),
                     _floor(min_psnr)),
                    (("size", 3), ("speed", 3), ("memory", 2), ("quality", 2)), device="cpu", size=512)


def cpu_server(max_p90_ms=1500.0, size=720, min_psnr=30.0):
    return Scenario("cpu-server", f"CPU server under {max_p90_ms:g} ms p90 at {size} px", "A web service on "
                    "CPU machines: a latency budget per request, then the best quality within it.",
                    (Constraint("p90_ms", "<=", float(max_p90_ms)), _floor(min_psnr)),
                    (("quality", 5), ("speed", 3), ("memory", 2)), device="cpu", size=int(size))


def gpu_live_video(min_fps=30.0, size=512, min_psnr=28.0):
    return Scenario("gpu-live-video", f"GPU live video at >= {min_fps:g} fps", "Video calls and streams on a "
                    "GPU: a frame-rate floor, then quality.",
                    (Constraint("fps", ">=", float(min_fps)), _floor(min_psnr)),
                    (("speed", 5), ("quality", 4), ("memory", 1)), device="gpu", size=int(size))


def offline_batch_quality(min_psnr=35.0):
    return Scenario("offline-batch-quality", "Offline batch, best quality", "Overnight batches: quality "
                    "first, throughput second, size and training cost do not matter.",
                    (_floor(min_psnr),), (("quality", 8), ("speed", 2)))


def balanced(min_psnr=28.0):
    return Scenario("balanced", "Balanced", "No single priority: every axis counts the same.",
                    (_floor(min_psnr),), tuple((axis, 1) for axis in AXES))


BUILTIN = {f().name: f for f in (live_streaming, virtual_idol_quality, quick_prototype, no_training_change,
                                 mobile_cpu_app, cpu_server, gpu_live_video, offline_batch_quality, balanced)}


# Registry aliases name scenario winners (docs/contracts.md): alias -> scenario.
ALIASES = {"realtime": "live-streaming", "mobile": "mobile-cpu-app", "quality": "offline-batch-quality",
           "balanced": "balanced"}


def scenario_params(name):
    """{param: default} of a built-in scenario."""
    _check_name(name)
    return {p.name: p.default for p in inspect.signature(BUILTIN[name]).parameters.values()}


def _check_name(name):
    if name not in BUILTIN:
        raise ValueError(f"Unknown scenario {name!r}. Valid scenarios: {', '.join(BUILTIN)}")


def get_scenario(name, **params):
    """A built-in scenario, optionally with its parameters changed (e.g. max_mb=6)."""
    _check_name(name)
    valid = scenario_params(name)
    bad = [p for p in params if p not in valid]
    if bad:
        raise ValueError(f"Unknown parameter(s) {', '.join(map(repr, bad))} for scenario {name!r}. "
                         f"Valid parameters: {', '.join(f'{k} (default {v})' for k, v in valid.items()) or 'none'}")
    for key, value in params.items():
        _require(isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
                 and value > 0, f"{key} must be a positive number. Received: {key}={value!r}")
    return BUILTIN[name](**params)


def _parse_weights(weights):
    if isinstance(weights, dict):
        return tuple(weights.items())
    pairs = []
    for item in weights:
        if isinstance(item, str):
            axis, sep, raw = item.partition("=")
            _require(sep, f"write a weight as AXIS=NUMBER, e.g. speed=2. Received: {item!r}")
            try:
                pairs.append((axis.strip(), float(raw)))
            except ValueError:
                raise ValueError(f"weight {axis.strip()!r} needs a number. Received: {item!r}") from None
        else:
            pairs.append(tuple(item))
    return tuple(pairs)


def custom_scenario(name="custom", constraints=(), weights=None, device=None, size=None, base=None,
                    title=None, description="user-defined"):
    """A scenario from user-set parts. Constraints: Constraint objects or strings ('p90_ms<=800');
    weights: {axis: w} or ['speed=2', ...]. With `base` (a Scenario), its constraints are kept and the given
    ones added, and the given weights replace the base's weights axis by axis."""
    parsed = tuple(c if isinstance(c, Constraint) else parse_constraint(c) for c in constraints)
    new_weights = _parse_weights(weights or ())
    if base is not None:
        merged = dict(base.weights)
        merged.update(dict(new_weights))
        return Scenario(name if name != "custom" else base.name, title or base.title, base.description,
                        base.constraints + parsed, tuple(merged.items()), device or base.device,
                        size or base.size, base.s0_advice)
    return Scenario(name, title or name, description, parsed, new_weights, device, size)
