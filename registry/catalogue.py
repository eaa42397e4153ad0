"""The declarative catalogue of default variants the build pipeline makes for every style.

An entry is a name and a method chain: ((method, config), ...) applied left to right to the
original, e.g. `prune` then `tflite_int8_full` is "pruned + full INT8". Configs are plain dicts of
the method's config dataclass fields (`models.compression.METHODS[m].config_class`); an entry's
parent is the entry whose chain is its chain minus the last step (or the original).

`quick` overrides make an entry cheap for tests and a first start (fewer calibration photos, a
short fine-tune, shipped student weights instead of training); an overridden entry is a different
variant (its config hash differs) and is tagged `registry.profile=quick`.
Entries whose methods are not registered yet are skipped by the build with a clear line, so the
catalogue can name methods before they land.
"""

from dataclasses import dataclass, field
from types import MappingProxyType

from models.validation import require

ORIGINAL = "original"


def _frozen(d):
    return MappingProxyType({k: (_frozen(v) if isinstance(v, dict) else v) for k, v in dict(d).items()})


def _thaw(d):
    return {k: (_thaw(v) if isinstance(v, MappingProxyType) else v) for k, v in d.items()}


@dataclass(frozen=True)
class Entry:
    name: str  # unique per style; the variant is "<style>/<name>"
    steps: tuple = ()  # ((method, {field: value}), ...); () is the original
    quick: "MappingProxyType[int, dict]" = field(default_factory=lambda: _frozen({}))  # step -> overrides
    description: str = ""
    in_quick: bool = True  # False: a full build makes it, a quick build says it is full-build only

    def __post_init__(self):
        require(isinstance(self.name, str) and self.name and "/" not in self.name and self.name.strip() ==
                self.name, "name", self.name, "must be a non-empty string without '/' or surrounding spaces")
        steps = tuple(self.steps)
        for i, step in enumerate(steps):
            require(isinstance(step, tuple) and len(step) == 2 and isinstance(step[0], str)
                    and isinstance(step[1], (dict, MappingProxyType)),
                    f"steps[{i}]", step, "must be a (method name, config dict) pair")
        object.__setattr__(self, "steps", tuple((m, _frozen(c)) for m, c in steps))
        require(all(isinstance(k, int) and 0 <= k < len(steps) for k in self.quick), "quick", dict(self.quick),
                f"must map step indexes (0..{len(steps) - 1}) to config overrides")
        object.__setattr__(self, "quick", _frozen(self.quick))
        require(self.name != ORIGINAL or not steps, "steps", steps, "must be empty for the original")

    @property
    def methods(self):
        return tuple(m for m, _ in self.steps)

    @property
    def method(self):
        """The record/tag name of the chain: "original", "svd", "prune+tflite_int8_full"."""
        return "+".join(self.methods) or ORIGINAL

    def chain(self, quick=False):
        """[(method, config dict)] with the quick overrides applied when asked."""
        out = []
        for i, (m, c) in enumerate(self.steps):
            config = _thaw(c)
            if quick and i in self.quick:
                config.update(_thaw(self.quick[i]))
            out.append((m, config))
        return out


def _e(name, *steps, quick=None, description="", in_quick=True):
    return Entry(name, tuple(steps), _frozen(quick or {}), description, in_quick)


QUICK_CALIB = {"calibration_images": 4, "calibration_size": 256}
# mixed INT8 (docs/compression.md): the search scores 8 calibration-side photos at the serving size
QUICK_MIX = {"calibration_images": 3, "calibration_size": 256, "score_images": 2, "score_size": 256}
# The shipped students' specs and training settings (scripts/train_students.sh, scripts/train_recipe.sh):
# a build loads the shipped weights when they were trained from this original, and trains with these
# settings otherwise.
SLIM = {"student": "slim", "width": 16, "blocks": 2, "steps": 2800, "learning_rate": 5e-4, "max_images": 200}
SEPARABLE = {"student": "separable", "width": 32, "blocks": 4, "steps": 1600, "learning_rate": 5e-4,
             "max_images": 200}
RECIPE = {"face_crops": 2, "face_share": 0.25, "val_full": True, "learning_rate": 5e-4}  # docs/distillation.md
# what a build trains when the shipped trunk-w16-b2 (started by least squares, then an LPIPS stage; its
# .json) does not apply
TRUNK_STUDENT = {"student": "trunk", "width": 16, "blocks": 2, "steps": 760, **RECIPE}
# the ~2x student, trained in one stage with the perceptual term (scripts/train_recipe.sh trunk-w24-b2)
TRUNK24_STUDENT = {"student": "trunk", "width": 24, "blocks": 2, "steps": 2500, **RECIPE, "face_share": 0.5,
                   "lpips_weight": 1.0}
# the ~3x students: the teacher's 128-channel residual stream and 4 blocks kept, the blocks' inner convs and
# the full/half-resolution layers narrowed (scripts/train_recipe.sh bottleneck-w24-i16 / bottleneck-w16-i32)
BOTTLENECK_STUDENT = {"student": "bottleneck", "width": 24, "blocks": 4, "inner": 16, "steps": 7800, **RECIPE,
                      "face_share": 0.5, "lpips_weight": 1.0}
BOTTLENECK16_STUDENT = {**BOTTLENECK_STUDENT, "width": 16, "inner": 32, "steps": 8400}


def recovered(name):
    """The method config of a shipped recovered model (models/weights/recovered/NAME.json): a build
    with exactly this config loads those weights instead of fine-tuning (models.compression.finetune)."""
    import json

    from models.compression.finetune import RECOVERED_DIR

    meta = json.loads((RECOVERED_DIR / f"{name}.json").read_text())
    return {k: v for k, v in meta["method"]["config"].items() if k != "finetune_dir"}

DEFAULT_CATALOGUE = (
    _e(ORIGINAL, description="the official DCT-Net, Keras FP32"),
    _e("fp32", ("tflite_fp32", {}), description="LiteRT FP32: the runtime baseline for the other exports"),
    _e("fp16", ("tflite_fp16", {}), description="LiteRT, weights stored FP16"),
    _e("int8-dynamic", ("tflite_int8_dynamic", {}), description="LiteRT, dynamic-range INT8 weights"),
    _e("int8-full", ("tflite_int8_full", {}), quick={0: QUICK_CALIB},
       description="LiteRT full INT8, calibrated on real portraits, guided filter kept float"),
    _e("int8-mixed-40", ("tflite_int8_mixed", {"floor": 40.0}), quick={0: QUICK_MIX},
       description="LiteRT INT8, the most sensitive layers kept float until mean PSNR >= 40 dB"),
    _e("int8-mixed-42", ("tflite_int8_mixed", {"floor": 42.0}), in_quick=False,
       description="LiteRT INT8, the most sensitive layers kept float until mean PSNR >= 42 dB"),
    # Pruning where the MACs are (the quarter-resolution trunk), recovered with the distillation recipe;
    # the shipped weights are loaded (hours of CPU training): docs/compression.md
    _e("prune-t375", ("prune", recovered("prune-t375")),
       description="37.5% of the trunk's channels pruned (L1), recovered with the face-aware recipe"),
    _e("prune-t50", ("prune", recovered("prune-t50")),
       description="50% of the trunk's channels pruned (L1), recovered with the face-aware recipe"),
    # Only the residual blocks' inner channels: the residual stream stays whole (measured: starts and ends
    # higher than trunk pruning at the same MACs; docs/compression.md)
    _e("prune-i625", ("prune", recovered("prune-i625")),
       description="62.5% of the residual blocks' inner channels pruned (L1), recovered with the face-aware recipe"),
    # SVD on the quarter-resolution trunk only, spatial mode: the full-resolution decoder convs are
    # fragile (docs/compression.md: Conv_8 alone at 97% energy costs 13.7 dB)
    _e("svd-trunk", ("svd", recovered("svd-trunk")),
       description="SVD (spatial) of the residual trunk to 75% of its MACs, recovered with the face-aware recipe"),
    _e("svd-t50", ("svd", recovered("svd-t50")),
       description="SVD (spatial) of the residual trunk to 50% of its MACs, recovered with the face-aware recipe"),
    _e("svd-t35", ("svd", recovered("svd-t35")),
       description="SVD (spatial) of the residual trunk to 35% of its MACs, recovered with the face-aware recipe"),
    # SVD fitted to every conv's outputs on portraits (PCA) but the 3-channel output, ranks shared out under
    # one whole-model MAC budget (docs/compression.md): the lab's 3x and 4x points
    _e("svd-a33", ("svd", recovered("svd-a33")),
       description="SVD of every conv fitted to its outputs on portraits, ranks under one 3x MAC budget, "
                   "recovered with the face-aware recipe"),
    _e("svd-a25", ("svd", recovered("svd-a25")),
       description="SVD of every conv fitted to its outputs on portraits, ranks under one 4x MAC budget, "
                   "recovered with the face-aware recipe"),
    _e("svd-a33-int8", ("svd", recovered("svd-a33")), ("tflite_int8_full", {}), quick={1: QUICK_CALIB},
       description="activation-fitted SVD at 3x fewer MACs + recovered, then full INT8"),
    _e("student-trunk", ("distill", TRUNK_STUDENT),
       description="distilled student keeping the full-resolution layers, slim trunk (face-aware recipe)"),
    _e("student-trunk-w24", ("distill", TRUNK24_STUDENT),
       description="distilled student at ~2x fewer MACs: full-resolution layers kept, trunk at 96 channels"),
    _e("student-bottleneck", ("distill", BOTTLENECK_STUDENT),
       description="distilled student at 3x fewer MACs: the teacher's 128-channel residual stream and 4 blocks, "
                   "16-channel block bottlenecks, full-resolution layers at 24 channels"),
    _e("student-bottleneck-w16", ("distill", BOTTLENECK16_STUDENT),
       description="distilled student at 3.5x fewer MACs: the teacher's residual stream, 32-channel block "
                   "bottlenecks, full-resolution layers at 16 channels"),
    _e("student-bottleneck-int8", ("distill", BOTTLENECK_STUDENT), ("tflite_int8_full", {}),
       quick={1: QUICK_CALIB}, description="distilled bottleneck student (3x), then full INT8"),
    _e("student-trunk-int8", ("distill", TRUNK_STUDENT), ("tflite_int8_full", {}), quick={1: QUICK_CALIB},
       description="distilled trunk student, then full INT8"),
    _e("student-slim", ("distill", SLIM), description="distilled slim student (shipped weights when present)"),
    _e("student-separable", ("distill", SEPARABLE),
       description="distilled depthwise-separable student (shipped weights when present)"),
    _e("student-slim-int8", ("distill", SLIM), ("tflite_int8_full", {}),
       quick={1: QUICK_CALIB}, description="distilled slim student, then full INT8"),
    _e("prune-i625-int8", ("prune", recovered("prune-i625")), ("tflite_int8_full", {}),
       quick={1: QUICK_CALIB}, description="inner channels pruned 62.5% + recovered, then full INT8"),
)


def parent_name(entry, catalogue=DEFAULT_CATALOGUE):
    """The entry this one extends by its last step (None for the original)."""
    if not entry.steps:
        return None
    prefix = entry.steps[:-1]
    for other in catalogue:
        if other.steps == prefix and other.name != entry.name:
            return other.name
    return ORIGINAL if not prefix else None


def select(catalogue=DEFAULT_CATALOGUE, only=None):
    """Entries named in `only` (in catalogue order), or all; unknown names are an error listing the valid."""
    names = [e.name for e in catalogue]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"catalogue entry names must be unique. Received duplicates: {dupes}")
    if not only:
        return list(catalogue)
    only = [only] if isinstance(only, str) else list(only)
    unknown = [n for n in only if n not in names]
    if unknown:
        raise ValueError(f"Unknown catalogue entries {unknown}. Valid entries: {', '.join(names)}")
    return [e for e in catalogue if e.name in only]
