"""The DCT-Net portrait pipeline: template, similarity warp, mask, blending, and agreement with the
official result on the reference photo."""

import cv2
import numpy as np
import pytest

from models.faces import detect_faces
from models.images import ImageError, load_image
from models.portrait import (HEAD_SIZE, PortraitCartoonizer, PortraitConfig, blend_head, cartoonizer_for, head_mask,
                             head_template, load_head_network, similarity_transform)
from models.processing import Cartoonizer, ProcessingConfig, keras_network
from tests.conftest import ROOT, psnr_uint8, shared_or_skip

SAMPLES = ROOT / "models" / "samples"
SMALL = ProcessingConfig(max_side=256)  # real network, small photos: keeps these tests fast


@pytest.fixture(scope="module")
def anime(anime_model):
    return keras_network(anime_model)


class Recording:
    """A contract network that remembers the batches it was given (wraps the real one)."""

    def __init__(self, network):
        self.network, self.inputs = network, []

    def __call__(self, batch):
        self.inputs.append(np.array(batch))
        return self.network(batch)


def test_head_template_is_the_official_points_pulled_in_and_scaled():
    t = head_template(288, 0.75)
    # by hand: left eye x = ((30.29459953 + 8) - 56) * 0.75 + 56 = 42.72094965; * 288 / 112
    assert t[0, 0] == pytest.approx(42.72094965 * 288 / 112, abs=1e-6)
    assert t[4, 1] == pytest.approx(((92.20410156 - 56) * 0.75 + 56) * 288 / 112, abs=1e-6)
    assert t.shape == (5, 2)
    assert abs(t[:2, 0].mean() - 144) < 1.0  # eyes centred across the crop


def test_similarity_transform_matches_scikit_image(rng):
    from skimage.transform import SimilarityTransform

    src = rng.uniform(0, 500, (5, 2))
    angle, scale, shift = 0.4, 1.7, np.array([30.0, -12.0])
    r = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = src @ r.T + shift
    np.testing.assert_allclose(similarity_transform(src, dst), np.hstack([r, shift[:, None]]), atol=1e-9)
    noisy = dst + rng.normal(0, 3, dst.shape)
    ref = SimilarityTransform.from_estimate(src, noisy)
    np.testing.assert_allclose(similarity_transform(src, noisy), ref.params[:2], atol=1e-8)


def test_similarity_transform_refuses_degenerate_points():
    with pytest.raises(ValueError, match="coincide"):
        similarity_transform(np.ones((5, 2)), head_template())
    with pytest.raises(ValueError, match=r"src.shape=\(3, 2\)"):
        similarity_transform(np.zeros((3, 2)), head_template())


def test_head_mask_is_one_inside_zero_at_the_rim_and_symmetric():
    m = head_mask(HEAD_SIZE)
    assert m.shape == (HEAD_SIZE, HEAD_SIZE) and m.dtype == np.float32
    assert m[144, 144] == 1.0 and m[0, 0] == 0.0 and m[144, 2] == 0.0
    row = m[144, :144]
    assert np.all(np.diff(row) >= -1e-6), "alpha must rise monotonically from the rim to the centre"
    soft = np.count_nonzero((row > 0.01) & (row < 0.99))
    assert soft >= 30, f"the feather is only {soft} px wide"
    np.testing.assert_allclose(m[:, 1:], m[:, 1:][:, ::-1], atol=0.03)  # mirror about column 144


def test_blend_matches_a_whole_photo_numpy_reference(rng):
    # Reference: warp head and mask over the WHOLE photo, blend with the NumPy formula.
    canvas = rng.integers(0, 256, (200, 300, 3), dtype=np.uint8)
    # a smooth head (like a real one): OpenCV samples at 1/32 px, so on noise a sub-window warp may
    # differ from a whole-photo warp by a few levels; on smooth content by at most rounding
    head = cv2.resize(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8), (HEAD_SIZE, HEAD_SIZE),
                      interpolation=cv2.INTER_LINEAR)
    mask = head_mask()
    m = similarity_transform(np.array([[120, 80], [160, 82], [140, 105], [125, 125], [158, 127]]), head_template())
    inv = cv2.invertAffineTransform(m)
    head_back = cv2.warpAffine(head, inv, (300, 200), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0)).astype(float)
    alpha = cv2.warpAffine(mask, inv, (300, 200), flags=cv2.INTER_LINEAR, borderValue=0)[..., None].astype(float)
    expected = np.clip(np.round(alpha * head_back + (1 - alpha) * canvas), 0, 255).astype(np.uint8)
    got = blend_head(canvas.copy(), head, mask, m)
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1  # float32 vs float64 rounding
    assert (got != canvas).any() and (got[:, :40] == canvas[:, :40]).all()  # face region only


def test_reference_photo_3d_portrait_agrees_with_official_better_than_full_image_alone():
    from models.weights import load_model

    photo = load_image(shared_or_skip("reference", "dctnet_input.png"))
    official = load_image(shared_or_skip("reference", "dctnet_input_3d_official.png"))
    network = keras_network(load_model("3d"))
    full = Cartoonizer(network)(photo)
    portrait = PortraitCartoonizer(network)
    result = portrait(photo)
    full_db, portrait_db = psnr_uint8(full, official), psnr_uint8(result, official)
    assert portrait.last.faces_used == 1
    assert full_db == pytest.approx(36.49, abs=0.3)  # the bare network, as measured by the foundation
    assert portrait_db > full_db + 4.0, (full_db, portrait_db)  # measured: 36.5 -> 42.8 dB


def test_aligned_crop_puts_the_face_where_the_similarity_warp_says(anime):
    # Independent check of the warp: detect the face again on the 288x288 crop the head network got.
    photo = load_image(SAMPLES / "astronaut.png")
    head = Recording(anime)
    portrait = PortraitCartoonizer(anime, head, SMALL)
    portrait(photo)
    (batch,) = head.inputs
    assert batch.shape == (1, HEAD_SIZE, HEAD_SIZE, 3)
    crop = ((batch[0][..., ::-1] + 1.0) * 127.5).round().astype(np.uint8)  # BGR [-1, 1] -> RGB uint8
    found = detect_faces(crop)
    assert len(found) == 1
    source = portrait.last.faces[0].landmarks
    m = similarity_transform(source, head_template())
    expected = source @ m[:, :2].T + m[:, 2]
    eye_distance = np.linalg.norm(head_template()[1] - head_template()[0])
    assert np.linalg.norm(found[0].landmarks - expected, axis=1).max() < 0.1 * eye_distance
    # and the least-squares fit lands every point near the official template
    assert np.linalg.norm(expected - head_template(), axis=1).max() < 0.25 * eye_distance


def test_group_photo_restyles_every_face_and_leaves_the_rest_alone(anime):
    photo = load_image(SAMPLES / "group.jpg")
    full = Cartoonizer(anime, SMALL)(photo)
    portrait = PortraitCartoonizer(anime, config=SMALL, portrait=PortraitConfig(restore="linear"))
    result = portrait(photo)
    assert result.shape == photo.shape and result.dtype == np.uint8
    assert portrait.last.faces_used == 3 and portrait.last.notes == []
    scale = photo.shape[0] / 256
    changed = np.abs(result.astype(int) - full.astype(int)).max(axis=2) > 8
    for face in portrait.last.faces:
        x0, y0, x1, y1 = (int(v * scale) for v in face.box)
        assert changed[y0:y1, x0:x1].mean() > 0.05, "the head network left no mark on a face"
    # far from every face (below the shoulders) the pixels are the full-image result
    np.testing.assert_array_equal(result[400:], full[400:])


def test_profile_face_completes(anime):
    # the middle third of the group photo: a near-profile face
    photo = np.ascontiguousarray(load_image(SAMPLES / "group.jpg")[:, 341:682])
    portrait = PortraitCartoonizer(anime, config=SMALL)
    result = portrait(photo)
    assert result.shape == photo.shape
    assert portrait.last.faces_used == 1


def test_photo_without_a_face_gives_exactly_the_full_image_result(anime):
    photo = cv2.resize(load_image(SAMPLES / "no_face_dog.jpg"), (320, 240), interpolation=cv2.INTER_AREA)
    portrait = PortraitCartoonizer(anime, config=SMALL)
    result = portrait(photo)
    np.testing.assert_array_equal(result, Cartoonizer(anime, SMALL)(photo))
    assert portrait.last.faces_used == 0
    assert any("no face" in n for n in portrait.last.notes)
    assert portrait.last.head_ms == 0.0 and portrait.last.full_ms > 0


def test_faces_below_min_face_keep_the_full_image_result(anime):
    # astronaut (face ~97 px of 512) shrunk to 256: face ~48 px, below min_face=64
    photo = cv2.resize(load_image(SAMPLES / "astronaut.png"), (256, 256), interpolation=cv2.INTER_AREA)
    portrait = PortraitCartoonizer(anime, config=SMALL, portrait=PortraitConfig(min_face=64))
    result = portrait(photo)
    assert portrait.last.faces_found == 1 and portrait.last.faces_used == 0
    assert any("min_face=64" in n for n in portrait.last.notes)
    np.testing.assert_array_equal(result, Cartoonizer(anime, SMALL)(photo))


def test_tiny_face_completes(anime):
    canvas = np.full((240, 320, 3), 180, np.uint8)
    canvas[100:130, 150:180] = cv2.resize(load_image(SAMPLES / "astronaut.png"), (30, 30), interpolation=cv2.INTER_AREA)
    portrait = PortraitCartoonizer(anime, config=SMALL)
    assert portrait(canvas).shape == canvas.shape
    assert portrait.last.faces_used == 0


def test_stage_times_are_reported_for_every_stage(anime):
    portrait = PortraitCartoonizer(anime, config=SMALL)
    portrait(load_image(SAMPLES / "astronaut.png"))
    stages = portrait.last.stages()
    assert set(stages) == {"detect_ms", "align_ms", "head_ms", "blend_ms", "full_ms"}
    assert all(v > 0 for v in stages.values()), stages
    assert stages["full_ms"] > stages["align_ms"]


def test_one_network_object_serves_both_by_default(anime):
    portrait = PortraitCartoonizer(anime)
    assert portrait.head_network is anime and portrait.full.network is anime


def test_mode_switch_picks_the_pipeline(anime):
    assert type(cartoonizer_for(anime, "full")) is Cartoonizer
    assert isinstance(cartoonizer_for(anime, "portrait"), PortraitCartoonizer)
    with pytest.raises(ValueError, match="mode='face'"):
        cartoonizer_for(anime, "face")


def test_face_cut_by_the_photo_edge_completes(anime):
    # the crop around the face reaches past the photo: filled white, as the official warp does
    photo = np.ascontiguousarray(load_image(SAMPLES / "astronaut.png")[:170, :260])
    portrait = PortraitCartoonizer(anime, config=SMALL)
    result = portrait(photo)
    assert result.shape == photo.shape and portrait.last.faces_used == 1


def test_imported_head_weights_are_preferred_over_full_image_weights(tmp_path, monkeypatch):
    import shutil

    import models.weights as weights

    bg_model, source = load_head_network("3d")
    assert "3d_bg.npz" in source
    shutil.copy(weights.BUNDLED_DIR / "3d_bg.npz", tmp_path / "3d_head.npz")
    monkeypatch.setattr(weights, "BUNDLED_DIR", tmp_path)
    head_model, source = load_head_network("3d", bg_model=bg_model)
    assert "3d_head.npz" in source and head_model is not bg_model
    np.testing.assert_array_equal(head_model.get_layer("Conv").get_weights()[0],
                                  bg_model.get_layer("Conv").get_weights()[0])


def test_bad_config_and_input_are_refused_with_the_value_echoed(anime):
    with pytest.raises(ValueError, match="min_face=2"):
        PortraitConfig(min_face=2)
    with pytest.raises(ValueError, match="restore='cubic'"):
        PortraitConfig(restore="cubic")
    with pytest.raises(ImageError, match="uint8"):
        PortraitCartoonizer(anime)(np.zeros((64, 64, 3), np.float32))


def test_cli_portrait_flag_writes_the_cartoon_and_reports_faces_and_stages(tmp_path, capsys):
    from models.__main__ import main

    out = tmp_path / "cartoon.png"
    assert main(["cartoonize", str(SAMPLES / "astronaut.png"), str(out), "--portrait", "--max-side", "256"]) == 0
    printed = capsys.readouterr().out
    assert "portrait mode: 1 of 1 faces" in printed and "anime_bg.npz" in printed and "head" in printed
    assert load_image(out).shape == (512, 512, 3)
    assert main(["cartoonize", str(SAMPLES / "no_face_dog.jpg"), str(tmp_path / "dog.png"), "--portrait",
                 "--max-side", "128"]) == 0
    assert "no face found" in capsys.readouterr().out
