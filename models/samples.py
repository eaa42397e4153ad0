"""Photos bundled for the demo and the tests (sources and licenses in samples/MANIFEST.csv)."""

import csv
from pathlib import Path

from models.images import load_image

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"


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
