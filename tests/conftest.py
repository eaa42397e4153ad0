"""Shared fixtures. Tools that write into ~ are pointed at a per-run folder first."""

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_home = Path(tempfile.mkdtemp(prefix="dctnet-lab-tests-"))
for var in ("KERAS_HOME", "MPLCONFIGDIR", "TORCH_HOME"):
    os.environ.setdefault(var, str(_home / var.lower()))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pytest  # noqa: E402

SHARED = ROOT.parent / "shared"
pytest_plugins = ["tests.dashboard_fixtures"]  # the quick-built registry the dashboard tests share


@pytest.fixture(scope="session")
def anime_model():
    from models.weights import load_model

    return load_model("anime")


@pytest.fixture(scope="session")
def rng():
    return np.random.default_rng(0)


def psnr_uint8(a, b):
    """Independent PSNR for uint8 images (NumPy), used to check other code."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def seeded_tiny_dctnet(width, blocks=1, seed=0):
    """A small DCT-Net (same wiring, fewer channels) with seeded He-scaled weights, so activations stay
    O(1) as in the trained network; builds and exports in about a second. Returns (model, architecture)."""
    from models.dctnet import Architecture, build_generator, uniform_channels

    arch = Architecture(channels=uniform_channels(width, blocks), num_blocks=blocks)
    model = build_generator(arch, name="tiny")
    gen = np.random.default_rng(seed)
    model.set_weights([gen.normal(0, (2 / np.prod(w.shape[:-1])) ** 0.5 if w.ndim == 4 else 0.05, w.shape)
                       .astype("float32") for w in model.get_weights()])
    return model, arch


def shared_or_skip(*parts):
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not on this machine (the project's shared data folder)")
    return path
