"""The portrait photo set and its one split: which photos train, calibrate and evaluate.

Every consumer reads the split from here: distillation and recovery fine-tunes train on the
"calibration" side, full-INT8 calibration draws from it too, and the evaluation tables use only the
held-out side, so no number is ever measured on a photo that trained or calibrated a variant.
The split is a fixed pseudo-random order keyed by (seed, file name): adding photos to the folder
moves only the photos whose hash lands among the first `holdout`.
"""

import hashlib
from pathlib import Path

import numpy as np

from models.validation import require
from models.samples import photo_dir

EVAL_HOLDOUT = 24  # photos held out of every training and calibration run (the evaluation split)
SPLIT_SEED = 0
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


def list_images(data_dir):
    """Photos under data_dir (recursive), as sorted relative paths."""
    root = Path(data_dir)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def collection_name(name):
    """The name a photo has in the collection: a re-encoded copy is that name + ".webp" (the GPU kit,
    scripts/gpu_kit.py), and keying the split on it makes a kit split exactly as the collection."""
    stem = name[: -len(".webp")] if name.lower().endswith(".webp") else name
    return stem if stem != name and Path(stem).suffix.lower() in IMAGE_SUFFIXES else name


def split_images(data_dir, holdout=EVAL_HOLDOUT, seed=SPLIT_SEED, max_images=None):
    """(train, held_out) relative paths: a fixed pseudo-random order keyed by (seed, collection name)."""
    names = list_images(data_dir)
    require(len(names) >= 2, "data_dir", str(data_dir),
            f"must hold at least 2 photos ({', '.join(IMAGE_SUFFIXES)}) to train on one and hold out "
            f"another; found {len(names)}")
    if len(names) <= 2 * holdout:  # a small folder (the 6 bundled samples): hold out a quarter instead
        holdout = max(1, len(names) // 4)
    order = sorted(names, key=lambda n: hashlib.sha256(f"{seed}:{collection_name(n)}".encode()).hexdigest())
    held, train = sorted(order[:holdout], key=collection_name), order[holdout:]
    if max_images is not None:
        train = train[:max_images]
    return sorted(train, key=collection_name), held


def portrait_files(role, portraits_dir=None, holdout=EVAL_HOLDOUT):
    """Sorted portrait paths for `role` "calibration" (may train / calibrate) or "evaluation" (held out)."""
    require(role in ("calibration", "evaluation"), "role", role, "must be 'calibration' or 'evaluation'")
    root = Path(portraits_dir or photo_dir())
    if not root.is_dir():
        raise FileNotFoundError(f"portrait folder not found: {root}")
    train, held = split_images(root, holdout, seed=SPLIT_SEED)
    return [root / n for n in (held if role == "evaluation" else train)]


def calibration_side(seed, portraits_dir=None):
    """The calibration-side portraits in a seeded order. Every INT8 route calibrates on the head of this
    list (min/max through the converter, percentile ranges, the mixed method) and sensitivity scores on
    its tail, so one config calibrates on the same photos whichever route exports it."""
    files = portrait_files("calibration", portraits_dir)
    return [files[i] for i in np.random.default_rng(seed).permutation(len(files))]


def resize_short_side(rgb, side):
    """Training / validation scale: short side -> side (area filter when shrinking, bicubic when
    enlarging), both sides then cut down to a multiple of 4 (the network's stride)."""
    import cv2

    h, w = rgb.shape[:2]
    scale = side / min(h, w)
    nh, nw = max(side, round(h * scale)), max(side, round(w * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    out = cv2.resize(rgb, (nw, nh), interpolation=interp) if (nh, nw) != (h, w) else rgb
    return np.ascontiguousarray(out[: nh - nh % 4, : nw - nw % 4])
