"""Names the registry writes and searches by: tag keys, model names, and the two identity hashes.

A variant's identity is its *config hash* (what it is: style + method chain + configs) plus the
*code version* (what made it: the source of `models/` and the shipped weights). A build skips an
entry whose identity is already a registered model version, so both must be stable across runs,
machines and key orders: they hash canonical JSON, never `repr` or the time.
"""

import hashlib
import json
import os
from pathlib import Path

MODEL_PREFIX = "dctnet-"  # one registered model per style: dctnet-anime, dctnet-3d, ...

# Tags on build runs, model versions and evaluation runs (dotted like mlflow's own `mlflow.*` tags).
KIND = "registry.kind"  # "build" | "evaluation"
VARIANT = "registry.variant"  # "anime/int8-full"
STYLE = "registry.style"
ENTRY = "registry.entry"  # catalogue entry name: "int8-full"
CONFIG_HASH = "registry.config_hash"
CODE_VERSION = "registry.code_version"
GIT_COMMIT = "registry.git_commit"
PROFILE = "registry.profile"  # "quick" | "full": which catalogue configs made the variant
SOURCE_RUN = "registry.source_run"  # on evaluation runs: the build run whose model version they measure
VERSION = "registry.version"  # on evaluation runs, once the version exists (informative only)
EVAL_PROFILE = "eval.profile"  # hash of images + sizes + runs: what "the same evaluation" means
ENV_ID = "env.env_id"
MACHINE = "registry.machine"  # evaluation.environment.machine_id: "evaluated on this machine?"
# The design's names for the variant's origin (docs/DESIGN.md "Registry names").
METHOD = "compression.method"  # "original", "tflite_fp16", "prune+tflite_int8_full"
PARENT = "compression.parent"  # "anime/prune50-ft" or "" for the original
CONFIG = "compression.config"  # canonical JSON of the chain's configs

ROOT = Path(__file__).resolve().parent.parent


def model_name(style):
    return f"{MODEL_PREFIX}{style}"


def style_of(model):
    if not model.startswith(MODEL_PREFIX):
        raise ValueError(f"{model!r} is not a lab model name (expected {MODEL_PREFIX}<style>)")
    return model[len(MODEL_PREFIX):]


def canonical_json(value):
    """Key-order and whitespace independent JSON (tuples become lists)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def short_hash(value, length=16):
    text = value if isinstance(value, str) else canonical_json(value)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def config_hash(style, steps):
    """Identity of a variant: its style and method chain [(method, config dict), ...]."""
    return short_hash({"style": style, "steps": [{"method": m, "config": c} for m, c in steps]})


# Files under models/ that cannot change what a variant is (face pipeline, CLIs, demo photos).
NOT_CODE = ("models/faces.py", "models/portrait.py", "models/face_models/", "models/samples/",
            "models/weights/lpips/", "models/lpips_loss.py",  # training-loss network, 10 MB: not an artifact input
            "models/samples.py", "models/__main__.py", "models/distill_cli.py", "models/compression/cli.py")


def code_version(root=ROOT):
    """Hash of what produces a variant's artifact: the files under models/ (code and weights).

    Not the git commit: a commit that only touches the dashboard must not rebuild every variant,
    and an uncommitted change to a compression method must. Files that cannot change a variant
    (NOT_CODE) are left out. models/ is ~25 MB: hashing takes ~0.1 s. `DCTNET_CODE_VERSION`
    overrides it (a release tag; the tests pin the hash taken at their start, since other work may
    edit models/ while they run).
    """
    pinned = os.environ.get("DCTNET_CODE_VERSION")  # pin it (a release, a test run) to stop rebuilds
    if pinned:
        return pinned
    models = Path(root) / "models"
    digest = hashlib.sha256()
    for path in sorted(models.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc" or \
                any(rel == n or (n.endswith("/") and rel.startswith(n)) for n in NOT_CODE):
            continue
        digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def eval_profile(settings):
    """Hash of what makes two evaluations comparable: photo names, sizes, runs, mode (not local paths)."""
    return short_hash({k: v for k, v in settings.items() if k != "image_paths"})
