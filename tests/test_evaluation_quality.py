"""PSNR / SSIM against scikit-image, LPIPS against the official published values."""

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from evaluation.quality import SKIMAGE_SSIM_KWARGS, psnr, ssim, summary_metrics
from tests.conftest import psnr_uint8, shared_or_skip

# official LPIPS v0.1 (alex) values, ../shared/lpips/README.md (IQA-PyTorch results_official.csv)
OFFICIAL_LPIPS = {"I03": 0.7237, "I04": 0.2572, "I06": 0.05079, "I08": 0.05205, "I19": 0.4253}


def _noisy(rng, image, sigma):
    return np.clip(image.astype(np.float64) + rng.normal(0, sigma, image.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("shape", [(64, 80, 3), (37, 53, 3), (96, 96)])
def test_psnr_and_ssim_equal_skimage_on_random_images(rng, shape):
    a = rng.integers(0, 256, shape, dtype=np.uint8)
    b = _noisy(rng, a, 20)
    channel = {"channel_axis": 2} if len(shape) == 3 else {"channel_axis": None}
    kwargs = {**SKIMAGE_SSIM_KWARGS, **channel}
    assert psnr(a, b) == pytest.approx(peak_signal_noise_ratio(a, b, data_range=255), abs=1e-9)
    assert psnr(a, b) == pytest.approx(psnr_uint8(a, b), abs=1e-9)
    assert abs(ssim(a, b) - structural_similarity(a, b, **kwargs)) < 1e-6


def test_psnr_and_ssim_equal_skimage_on_a_real_photo_and_its_cartoon_like_copy(rng):
    from models.images import load_image

    photo = load_image("models/samples/face_crop.jpg")
    import cv2

    smooth = cv2.bilateralFilter(photo, 9, 60, 9)  # a cartoon-like edit, structure kept
    for other in (smooth, _noisy(rng, photo, 8)):
        assert psnr(photo, other) == pytest.approx(peak_signal_noise_ratio(photo, other, data_range=255), abs=1e-9)
        assert abs(ssim(photo, other) - structural_similarity(photo, other, **SKIMAGE_SSIM_KWARGS)) < 1e-6


def test_identical_images_score_perfectly(rng):
    a = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    assert psnr(a, a) == float("inf")
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-12)


def test_mismatched_or_wrong_dtype_images_are_refused():
    a = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(ValueError, match=r"same shape.*\(32, 32, 3\) vs \(32, 30, 3\)"):
        psnr(a, a[:, :30])
    with pytest.raises(ValueError, match="uint8"):
        ssim(a.astype(np.float32), a.astype(np.float32))
    with pytest.raises(ValueError, match="at least 11 px"):
        ssim(a[:8, :8], a[:8, :8])


def test_summary_reports_mean_median_and_worst_with_lpips_lower_is_better():
    rows = [{"psnr": 30.0, "ssim": 0.9, "lpips": 0.1}, {"psnr": 20.0, "ssim": 0.5, "lpips": 0.4},
            {"psnr": 40.0, "ssim": 0.7, "lpips": 0.2}]
    m = summary_metrics(rows)
    assert (m["psnr_mean"], m["psnr_median"], m["psnr_worst"]) == (30.0, 30.0, 20.0)
    assert m["ssim_worst"] == 0.5 and m["ssim_median"] == 0.7
    assert m["lpips_worst"] == 0.4 and m["lpips_mean"] == pytest.approx(0.7 / 3)
    assert m["images"] == 3
    assert "lpips_mean" not in summary_metrics([{"psnr": 1.0, "ssim": 0.5}])


def test_lpips_reproduces_the_official_values():
    from PIL import Image

    from evaluation.perceptual import LPIPSMetric

    verify = shared_or_skip("lpips", "verify")
    metric = LPIPSMetric()  # the backbone a user gets: the shipped copy (models/weights/lpips/alex_v0.1.npz)
    assert metric.path.name == "alex_v0.1.npz" and metric.source == "bundled copy"
    assert metric.tensors_loaded == 10
    for name, official in OFFICIAL_LPIPS.items():
        ref = np.asarray(Image.open(verify / "ref_dir" / f"{name}.bmp").convert("RGB"))
        dist = np.asarray(Image.open(verify / "dist_dir" / f"{name}.bmp").convert("RGB"))
        assert metric(ref, dist) == pytest.approx(official, abs=1e-4), name
    assert metric(ref, ref) == pytest.approx(0.0, abs=1e-6)


def test_lpips_is_unavailable_with_the_reason_when_no_backbone_exists(monkeypatch, tmp_path):
    from evaluation import perceptual

    monkeypatch.delenv("LPIPS_ALEXNET", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(perceptual, "BUNDLED_FILE", tmp_path / "missing-bundled.pth")
    monkeypatch.setattr(perceptual, "SHARED_FILE", tmp_path / "missing.pth")
    metric, reason = perceptual.try_load_lpips()
    assert metric is None
    assert "LPIPS unavailable" in reason and "alexnet-owt-7be5be79.pth" in reason and "missing.pth" in reason


def test_lpips_refuses_a_wrong_explicit_path_and_a_file_that_is_not_alexnet(monkeypatch, tmp_path):
    from evaluation import perceptual

    monkeypatch.setenv("LPIPS_ALEXNET", str(tmp_path / "nope.pth"))
    with pytest.raises(perceptual.LPIPSUnavailable, match="nope.pth"):
        perceptual.find_backbone()
    torch = perceptual._import_torch()
    bogus = tmp_path / "bogus.pth"
    torch.save({"features.0.weight": torch.zeros(1)}, bogus)
    with pytest.raises(perceptual.LPIPSUnavailable, match="features.0.weight has shape"):
        perceptual.LPIPSMetric(bogus)
