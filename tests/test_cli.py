"""`python -m models` end to end, in a subprocess as a user runs it."""

import subprocess
import sys

import pytest

from models.images import load_image
from tests.conftest import ROOT, shared_or_skip


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "models", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


def test_cartoonize_reference_3d_agrees_with_official_pipeline(tmp_path):
    from skimage.metrics import peak_signal_noise_ratio

    out = tmp_path / "out.png"
    result = run_cli("cartoonize", shared_or_skip("reference", "dctnet_input.png"), out, "--style", "3d")
    assert result.returncode == 0, result.stderr
    official = load_image(shared_or_skip("reference", "dctnet_input_3d_official.png"))
    ours = load_image(out)
    assert ours.shape == official.shape  # output at the input's size (1024 x 1024)
    psnr = peak_signal_noise_ratio(official, ours)
    print(f"3d vs official pipeline: {psnr:.2f} dB")  # measured 36.49 dB (no head network yet)
    assert psnr >= 34.0


def test_bad_input_exits_2_with_message(tmp_path):
    bad = tmp_path / "photo.jpg"
    bad.write_text("not really a jpeg")
    result = run_cli("cartoonize", bad, tmp_path / "o.png")
    assert result.returncode == 2
    assert "is not an image" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "o.png").exists()


def test_import_weights_from_tflite(tmp_path, monkeypatch):
    import numpy as np

    from models import weights

    src = shared_or_skip("dctnet", "sketch_bg.tflite")
    dest, fp = weights.import_weights(src, "sketch", dest_dir=tmp_path)
    assert np.array_equal(weights.read_npz(dest)["generator/Conv/weights"],
                          weights.load_bundled("sketch")["generator/Conv/weights"])
    result = run_cli("import-weights", tmp_path / "nothing.bin", "--style", "sketch")
    assert result.returncode == 2 and "Cannot tell the kind" in result.stderr


@pytest.mark.parametrize("arg", ["--max-side", "8"])
def test_max_side_validation(arg, tmp_path):
    result = run_cli("cartoonize", "a.png", "b.png", "--max-side", "8")
    assert result.returncode == 2 and "--max-side must be >= 16" in result.stderr
