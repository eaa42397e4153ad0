"""Face-region quality, on a Face made from known points (the metric code, not the detector)."""

import numpy as np
import pytest

from evaluation.face_quality import face_row, face_summary, region_metrics
from evaluation.quality import psnr, ssim
from models.faces import Face


def _face(w=200, h=200):
    points = np.array([[70.0, 80.0], [130.0, 80.0], [100.0, 110.0], [80.0, 140.0], [120.0, 140.0]])
    return Face(box=(40.0, 40.0, 160.0, 180.0), score=0.9, landmarks=points, image_size=(w, h))


def test_region_metrics_equal_the_full_metrics_on_the_crop(rng):
    ref = rng.integers(0, 256, (200, 200, 3), dtype=np.uint8)
    out = ref.copy()
    face = _face()
    x0, y0, x1, y1 = face.regions()["mouth"]
    out[y0:y1, x0:x1] = np.clip(out[y0:y1, x0:x1].astype(int) + 30, 0, 255).astype(np.uint8)
    row = face_row("p.png", out, ref, [face])
    assert row["faces"] == 1
    assert row["mouth_psnr"] == pytest.approx(psnr(out[y0:y1, x0:x1], ref[y0:y1, x0:x1]))
    assert row["mouth_ssim"] == pytest.approx(ssim(out[y0:y1, x0:x1], ref[y0:y1, x0:x1]))
    # only the mouth changed: the eye box lies elsewhere and is untouched
    ex0, ey0, ex1, ey1 = face.regions()["eyes"]
    assert ey1 <= y0 and row["eyes_psnr"] == float("inf") and row["eyes_ssim"] == pytest.approx(1.0)


def test_tiny_regions_skip_ssim_instead_of_failing(rng):
    a = rng.integers(0, 256, (50, 50, 3), dtype=np.uint8)
    m = region_metrics(a, a, (10, 10, 16, 30))
    assert m["ssim"] is None and m["psnr"] == float("inf")


def test_images_without_a_face_say_so_and_are_left_out_of_the_summary(rng):
    ref = rng.integers(0, 256, (200, 200, 3), dtype=np.uint8)
    rows = [face_row("face.png", ref, ref, [_face()]), face_row("dog.png", ref, ref, [])]
    assert rows[1] == {"image": "dog.png", "faces": 0}
    metrics, notes = face_summary(rows)
    assert metrics["images"] == 1 and metrics["images_without_face"] == 1 and metrics["faces"] == 1
    assert metrics["nose_ssim_mean"] == pytest.approx(1.0)
    assert any("dog.png" in n for n in notes)
