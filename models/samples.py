"""Photos bundled for the demo and the tests (sources and licenses in samples/MANIFEST.csv)."""

import csv
import os
from pathlib import Path

from models.images import load_image

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
SHARED_PORTRAITS = Path(__file__).resolve().parents[2] / "shared" / "portraits"


def photo_dir():
    """Where calibration, fine-tuning and distillation photos come from, in order: `$DCTNET_PORTRAITS`;
    the 326-photo portrait collection beside the repository (development machines); else the bundled
    samples, so a fresh clone can still calibrate INT8 and fine-tune (on 6 photos: fine for a quick
    build, too few for shipped numbers)."""
    if os.environ.get("DCTNET_PORTRAITS"):
        return Path(os.environ["DCTNET_PORTRAITS"])
    return SHARED_PORTRAITS if SHARED_PORTRAITS.is_dir() else SAMPLES_DIR


def manifest():
    with open(SAMPLES_DIR / "MANIFEST.csv", newline="") as f:
        return list(csv.DictReader(f))


def sample_names():
    return [row["file"] for row in manifest()]


def sample_path(name):
    if name not in sample_names():
        raise ValueError(f"Unknown sample {name!r}. Bundled samples: {', '.join(sample_names())}")
    return SAMPLES_DIR / name


def load_sample(name):
    return load_image(sample_path(name), name=name)
