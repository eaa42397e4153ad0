"""The face-aware recipe: face-centred crops, their share of a batch, whole-photo validation with
face regions, the best checkpoint, the "trunk" student family and shipped recovered weights."""

import dataclasses
import json

import numpy as np
import pytest

from tests.conftest import ROOT, psnr_uint8
from tests.test_training import SAMPLES, tiny_config, tiny_student


def test_face_crops_are_centred_on_the_face(anime_model):
    from models.faces import detect_faces
    from models.images import load_image
    from models.portraits import resize_short_side
    from models.training_data import face_boxes

    rgb = resize_short_side(load_image(SAMPLES / "half_body.jpg"), 256)
    face = max(detect_faces(rgb), key=lambda f: f.width)
    cx, cy = face.landmarks.mean(axis=0)
    boxes = face_boxes(rgb, 96, 3, seed=0)
    assert len(boxes) == 3 and all(t % 4 == 0 and l % 4 == 0 for t, l in boxes)
    top, left = boxes[0]  # the first box is centred (to the stride), the others shifted by <= crop / 8
    assert abs(left + 48 - cx) <= 4 and abs(top + 48 - cy) <= 4
    for t, l in boxes[1:]:
        assert abs(l + 48 - cx) <= 96 / 8 + 4 and abs(t + 48 - cy) <= 96 / 8 + 4


def test_photo_without_a_face_gets_no_face_crops():
    from models.training_data import face_boxes

    flat = np.full((128, 160, 3), 128, np.uint8)
    assert face_boxes(flat, 64, 2, seed=0) == []


def test_batch_takes_the_stated_share_from_face_crops(tmp_path, anime_model):
    from models.training_data import cache_pairs, sample_batch

    config = tiny_config(tmp_path, image_side=128, crop=48, batch_size=4, face_crops=2, face_share=0.5)
    pairs = cache_pairs(["half_body.jpg", "face_crop.jpg"], anime_model, config, views=1, faces=2)
    assert all(p.face_photo_path is not None for p in pairs)
    face_photos = np.concatenate([np.load(p.face_photo_path) for p in pairs])
    x, y = sample_batch(pairs, config, step=3)
    from models.processing import to_network

    face_x = to_network(face_photos)
    from_faces = [any(np.array_equal(xi, f) for f in face_x) for xi in x]
    assert from_faces == [False, False, True, True]  # round(0.5 * 4) face crops, after the random ones
    # the cached target of a face crop is the teacher on that very crop
    np.testing.assert_allclose(np.load(pairs[0].face_target_path)[0].astype(np.float32),
                               np.asarray(anime_model(face_x[:1])[0]), atol=2e-3)


def test_face_share_without_faces_stops_with_the_fix(tmp_path, anime_model):
    from PIL import Image

    from models.training import train

    data = tmp_path / "flat"
    data.mkdir()
    for i in range(4):
        Image.fromarray(np.full((96, 96, 3), 40 * i, np.uint8)).save(data / f"{i}.png")
    config = tiny_config(tmp_path, data_dir=str(data), face_crops=1, face_share=0.25, steps=1)
    with pytest.raises(ValueError, match="no face was found.*face_share=0"):
        train(tiny_student(), anime_model, config, progress=False)


def test_face_share_needs_face_crops():
    from models.training import TrainConfig

    with pytest.raises(ValueError, match="face_share"):
        TrainConfig(data_dir=str(SAMPLES), holdout=2, face_share=0.5)


def test_full_validation_scores_whole_photos_and_faces_and_keeps_the_best(tmp_path, anime_model):
    from models.images import load_image
    from models.portraits import resize_short_side, split_images
    from models.processing import from_network, to_network
    from models.training import train

    config = tiny_config(tmp_path, steps=4, val_every=2, val_full=True, image_side=96, val_images=1)
    student = tiny_student()
    history = train(student, anime_model, config, progress=False)
    assert [r["step"] for r in history["val"]] == [0, 2, 4]
    for r in history["val"]:
        assert {"val_psnr", "val_psnr_worst"} <= set(r)
    # independent check of the step-4 PSNR: whole held-out photo at image_side against the teacher
    held = split_images(SAMPLES, 1)[1][0]
    rgb = resize_short_side(load_image(SAMPLES / held), 96)
    ref = from_network(np.asarray(anime_model(to_network(rgb)[None]))[0])
    out = from_network(np.asarray(student(to_network(rgb)[None]))[0])
    assert history["val"][-1]["val_psnr"] == pytest.approx(psnr_uint8(out, ref), abs=1e-6)
    best = max(history["val"], key=lambda r: r["val_psnr"])
    assert history["best"] == best and (tmp_path / "run" / "best.weights.h5").exists()


def test_full_validation_reports_face_regions(anime_model, tmp_path):
    from models.training import FullImageValidation, TrainConfig

    config = TrainConfig(data_dir=str(SAMPLES), holdout=2, image_side=256)
    val = FullImageValidation(["half_body.jpg"], anime_model, config)
    row = val(anime_model)
    assert row["val_psnr"] == float("inf") and row["val_eyes_ssim"] == pytest.approx(1.0)
    assert {"val_nose_ssim", "val_mouth_ssim"} <= set(row)


def test_trunk_family_keeps_the_full_resolution_layers_of_the_teacher(anime_model):
    from models.students import StudentSpec, build_student, init_from_teacher

    student, arch = build_student(StudentSpec("trunk", 16, 2))
    assert all(arch.channels[n] == 32 for n in ("Conv", "Conv_1", "Conv_7", "Conv_8"))
    assert arch.channels["Conv_4"] == 64 and arch.num_blocks == 2
    init_from_teacher(student, arch, anime_model)
    for name in ("Conv", "Conv_9"):  # same widths in and out: copied as they are
        for a, b in zip(student.get_layer(name).get_weights(), anime_model.get_layer(name).get_weights()):
            np.testing.assert_array_equal(a, b)


def test_shipped_recovery_matches_only_the_same_config_and_teacher(tmp_path, anime_model):
    import dataclasses

    from models.compression.finetune import shipped_recovery
    from models.compression.pruning import PruneConfig
    from models.training_data import model_fingerprint

    config = PruneConfig(ratio=0, trunk_ratio=0.5, finetune_steps=100, finetune_crop=160)
    meta = {"method": {"name": "prune", "config": {**dataclasses.asdict(config), "finetune_dir": "/x"}},
            "teacher": {"fingerprint": model_fingerprint(anime_model)}}
    (tmp_path / "p.json").write_text(json.dumps(meta))
    stem, found = shipped_recovery(config, anime_model, tmp_path)
    assert stem == tmp_path / "p" and found["method"]["name"] == "prune"
    assert shipped_recovery(dataclasses.replace(config, finetune_steps=99), anime_model, tmp_path) is None
    meta["teacher"]["fingerprint"] = "another"
    (tmp_path / "p.json").write_text(json.dumps(meta))
    assert shipped_recovery(config, anime_model, tmp_path) is None


def test_distill_cli_recovers_a_pruned_model_and_records_its_config(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "prune-t50"
    cmd = [sys.executable, "-m", "models", "distill", "--from-method", "prune", "--method-config",
           '{"ratio": 0, "trunk_ratio": 0.5}', "--steps", "2", "--batch-size", "2", "--crop", "32",
           "--image-side", "64", "--data-dir", str(SAMPLES), "--holdout", "1", "--val-every", "2",
           "--work-dir", str(tmp_path / "run"), "--cache-dir", str(tmp_path / "cache"), "--out", str(out),
           "--no-progress"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["method"]["name"] == "prune" and meta["method"]["config"]["trunk_ratio"] == 0.5
    assert meta["method"]["config"]["finetune_steps"] == 2 and meta["architecture"]["channels"]["Conv_4"] == 64
    bad = subprocess.run(cmd[:7] + ['{"ratio": 2}'] + cmd[8:], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert bad.returncode != 0 and "ratio=2" in bad.stderr and "Traceback" not in bad.stderr


def test_lpips_term_enters_the_loss(tmp_path, anime_model):
    from models.lpips_loss import lpips_distance
    from models.losses import image_loss

    rng = np.random.default_rng(0)
    y = rng.uniform(-1, 1, (2, 48, 48, 3)).astype("float32")
    p = np.clip(y + rng.normal(0, 0.2, y.shape), -1, 1).astype("float32")
    base = np.asarray(image_loss(1.0, 0.5)(y, p))
    with_lpips = np.asarray(image_loss(1.0, 0.5, 2.0)(y, p))
    np.testing.assert_allclose(with_lpips - base, 2.0 * np.asarray(lpips_distance(y, p)), rtol=1e-5, atol=1e-6)


def test_training_with_lpips_stays_finite(tmp_path, anime_model):
    from models.training import train

    config = tiny_config(tmp_path, steps=2, val_every=2, checkpoint_every=2, lpips_weight=0.5, crop=48,
                         image_side=64)
    history = train(tiny_student(), anime_model, config, progress=False)
    assert all(np.isfinite(r["loss"]) for r in history["train"])


def test_resume_accepts_a_checkpoint_written_before_a_setting_existed(tmp_path, anime_model):
    from models.training import train

    config = tiny_config(tmp_path, steps=4, val_every=2, checkpoint_every=2)
    train(tiny_student(), anime_model, config, progress=False, stop_at=2)
    saved = tmp_path / "run" / "checkpoint" / "history.json"
    history = json.loads(saved.read_text())
    del history["config"]["lpips_weight"]  # as a checkpoint of an older version of the loop
    saved.write_text(json.dumps(history))
    assert train(tiny_student(), anime_model, config, progress=False)["steps_done"] == 4
    history["config"]["l1_weight"] = 0.5  # a real difference is still refused, naming it
    saved.write_text(json.dumps(history))
    with pytest.raises(ValueError, match="l1_weight"):
        train(tiny_student(), anime_model, tiny_config(tmp_path, steps=6, val_every=2, checkpoint_every=2),
              progress=False)


def test_a_face_index_gives_the_crops_and_regions_the_detector_gives(tmp_path, anime_model, monkeypatch):
    """A photo folder carrying FACES.json (scripts/gpu_kit.py, for machines without LiteRT) yields the
    same face crops and validation regions as detecting the faces, without running the detector."""
    import shutil

    import models.faces
    from models.face_index import view_key, write_index
    from models.faces import detect_faces
    from models.images import load_image
    from models.portraits import resize_short_side
    from models.training import FullImageValidation
    from models.training_data import cache_pairs, training_view

    names = ["half_body.jpg", "face_crop.jpg"]
    data = tmp_path / "photos"
    data.mkdir()
    for n in names:
        shutil.copy(SAMPLES / n, data / n)
    detected = tiny_config(tmp_path, image_side=128, crop=48, data_dir=str(data), cache_dir=str(tmp_path / "c1"))
    pairs = cache_pairs(names, anime_model, detected, views=2, faces=2)
    regions = FullImageValidation(names, anime_model, detected).items

    views = {}
    for n in names:
        rgb = resize_short_side(load_image(data / n), 128)
        for v in range(2):
            views[view_key(n, v, 128, detected.jitter, detected.seed)] = detect_faces(training_view(rgb, n, v, detected))
    write_index(data, views)

    def no_detector(*a, **k):
        raise AssertionError("the detector ran although the index holds the view")

    monkeypatch.setattr(models.faces, "detect_faces", no_detector)
    indexed = dataclasses.replace(detected, cache_dir=str(tmp_path / "c2"))
    pairs_ix = cache_pairs(names, anime_model, indexed, views=2, faces=2)
    for a, b in zip(pairs, pairs_ix):
        np.testing.assert_array_equal(np.load(a.face_photo_path), np.load(b.face_photo_path))
    assert [r for _, _, r in FullImageValidation(names, anime_model, indexed).items] == [r for _, _, r in regions]
