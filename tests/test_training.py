"""The distillation / recovery training loop: data, losses, learning, checkpoints and resume."""

import dataclasses
import json

import numpy as np
import pytest

from tests.conftest import ROOT, psnr_uint8

SAMPLES = ROOT / "models" / "samples"


def tiny_student(seed=0):
    from models.dctnet import Architecture, build_generator, uniform_channels

    import keras

    keras.utils.set_random_seed(seed)
    return build_generator(Architecture(channels=uniform_channels(8, 1), num_blocks=1), name="tiny")


def tiny_config(tmp_path, **changes):
    from models.training import TrainConfig

    base = dict(steps=6, batch_size=2, crop=32, image_side=64, data_dir=str(SAMPLES), holdout=1,
                val_crop=64, val_every=3, checkpoint_every=3, work_dir=str(tmp_path / "run"),
                cache_dir=str(tmp_path / "cache"))
    base.update(changes)
    return TrainConfig(**base)


@pytest.mark.parametrize("name, value", [("steps", 0), ("batch_size", -1), ("crop", 30), ("crop", 8),
                                         ("learning_rate", 0.0), ("ssim_weight", -1.0), ("jitter", 0.7),
                                         ("holdout", 0), ("image_side", 16), ("val_images", 5)])
def test_config_rejects_bad_values_naming_them(tmp_path, name, value):
    from models.training import TrainConfig

    with pytest.raises(ValueError, match=f"{name}={value!r}"):
        TrainConfig(**{"data_dir": str(SAMPLES), "holdout": 2, name: value})


def test_config_rejects_missing_data_dir(tmp_path):
    from models.training import TrainConfig

    with pytest.raises(ValueError, match="data_dir"):
        TrainConfig(data_dir=str(tmp_path / "nowhere"))


def test_split_is_disjoint_stable_and_keyed_by_seed():
    from models.portraits import list_images, split_images

    train, held = split_images(SAMPLES, holdout=2, seed=0)
    assert sorted(train + held) == list_images(SAMPLES) and not set(train) & set(held)
    assert split_images(SAMPLES, holdout=2, seed=0) == (train, held)
    assert any(split_images(SAMPLES, holdout=2, seed=s)[1] != held for s in range(1, 6))


def test_views_mirror_and_jitter_mildly():
    from models.training_data import make_view

    rgb = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    assert make_view(rgb, 0, 0.1, seed=1) is rgb
    np.testing.assert_array_equal(make_view(rgb, 1, 0.0, seed=1), rgb[:, ::-1])
    jittered = make_view(rgb, 2, 0.1, seed=1)  # not mirrored, colours changed a little
    diff = np.abs(jittered.astype(int) - rgb.astype(int))
    assert 0 < diff.mean() < 0.2 * 255


def test_ssim_and_l1_match_skimage_and_numpy():
    from skimage.metrics import structural_similarity

    from models.losses import l1, ssim

    rng = np.random.default_rng(1)
    a = rng.uniform(-1, 1, (2, 40, 36, 3)).astype("float32")
    b = np.clip(a + rng.normal(0, 0.3, a.shape), -1, 1).astype("float32")
    ours = np.asarray(ssim(a, b))
    ref = [structural_similarity((x + 1) / 2, (y + 1) / 2, data_range=1.0, channel_axis=-1,
                                 gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
           for x, y in zip(a, b)]
    np.testing.assert_allclose(ours, ref, rtol=1e-4)
    np.testing.assert_allclose(np.asarray(l1(a, b)), np.abs(a - b).mean(axis=(1, 2, 3)), rtol=1e-5)


def test_cached_targets_are_the_teachers_output_on_each_crop(tmp_path, anime_model):
    from models.processing import to_network
    from models.portraits import split_images
    from models.training_data import cache_pairs

    config = tiny_config(tmp_path, crops_per_view=3)
    train_names, _ = split_images(SAMPLES, 1)
    pairs = cache_pairs(train_names[:1], anime_model, config, views=2)
    assert [p.view for p in pairs] == [0, 1]
    for pair in pairs:
        photos, targets = np.load(pair.photo_path), np.load(pair.target_path)
        assert photos.dtype == np.uint8 and photos.shape == (3, 32, 32, 3) == targets.shape
        expected = np.asarray(anime_model(to_network(photos)))  # the teacher on the crop itself
        np.testing.assert_allclose(targets.astype(np.float32), expected, atol=2e-3)  # float16 storage
    mtime = pairs[0].target_path.stat().st_mtime_ns
    cache_pairs(train_names[:1], anime_model, config, views=2)  # second call: read, not recomputed
    assert pairs[0].target_path.stat().st_mtime_ns == mtime


def test_batch_depends_only_on_seed_and_step(tmp_path, anime_model):
    from models.portraits import split_images
    from models.training_data import cache_pairs, sample_batch

    config = tiny_config(tmp_path)
    pairs = cache_pairs(split_images(SAMPLES, 1)[0][:2], anime_model, config, views=1)
    x1, y1 = sample_batch(pairs, config, step=5)
    x2, y2 = sample_batch(pairs, config, step=5)
    x3, _ = sample_batch(pairs, config, step=6)
    assert x1.shape == (2, 32, 32, 3) and y1.shape == x1.shape
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(x1, x3)


def test_training_lowers_the_loss_and_raises_psnr_vs_teacher(tmp_path, anime_model):
    from models.processing import from_network
    from models.losses import image_loss
    from models.training import train
    from models.training_data import cache_pairs, centre_batch

    config = tiny_config(tmp_path, steps=15, batch_size=4, val_every=15, checkpoint_every=15)
    student = tiny_student()
    pairs = cache_pairs(["face_crop.jpg", "half_body.jpg"], anime_model, config, views=1, crops=0, crop=48)
    x, y = centre_batch(pairs)
    loss = image_loss(config.l1_weight, config.ssim_weight)
    before = float(np.mean(loss(y, np.asarray(student(x)))))
    history = train(student, anime_model, config, progress=False)
    after = float(np.mean(loss(y, np.asarray(student(x)))))
    assert after < 0.8 * before
    assert history["steps_done"] == 15 and [r["step"] for r in history["train"]] == list(range(1, 16))
    assert history["val"][-1]["val_psnr"] > history["val"][0]["val_psnr"] + 1.0
    # the validation PSNR is the product's uint8 PSNR against the teacher, by an independent formula
    val = json.loads((tmp_path / "run" / "history.json").read_text())["val"][-1]["val_psnr"]
    assert val == pytest.approx(history["val"][-1]["val_psnr"])
    assert psnr_uint8(from_network(y[0]), from_network(y[0])) == float("inf")


def test_resume_continues_the_step_count_with_the_same_losses(tmp_path, anime_model):
    from models.training import train

    config = tiny_config(tmp_path, work_dir=str(tmp_path / "straight"))
    straight = train(tiny_student(), anime_model, config, progress=False)

    interrupted = dataclasses.replace(config, work_dir=str(tmp_path / "interrupted"))
    first = train(tiny_student(), anime_model, interrupted, progress=False, stop_at=3)
    assert first["steps_done"] == 3 and len(first["train"]) == 3
    resumed = train(tiny_student(seed=99), anime_model, interrupted, progress=False)  # a fresh process' model
    assert [r["step"] for r in resumed["train"]] == list(range(1, 7))
    np.testing.assert_allclose([r["loss"] for r in resumed["train"]],
                               [r["loss"] for r in straight["train"]], rtol=1e-5)


def test_resume_refuses_a_checkpoint_of_another_run(tmp_path, anime_model):
    from models.training import train

    config = tiny_config(tmp_path, steps=2, checkpoint_every=1)
    train(tiny_student(), anime_model, config, progress=False)
    with pytest.raises(ValueError, match="learning_rate"):
        train(tiny_student(), anime_model, dataclasses.replace(config, learning_rate=1e-4), progress=False)


def test_feature_distillation_adds_its_terms(tmp_path, anime_model):
    from models.training import train

    config = tiny_config(tmp_path, steps=2, feature_weight=0.5, val_every=2, checkpoint_every=2)
    record = train(tiny_student(), anime_model, config, progress=False)["train"][0]
    feats = record["feat_Conv_4_loss"] + record["feat_Conv_6_loss"]
    assert feats > 0
    assert record["loss"] == pytest.approx(record["image_loss"] + 0.5 * feats, rel=1e-4)


def test_unknown_feature_layer_is_named(tmp_path, anime_model):
    from models.training import train

    config = tiny_config(tmp_path, steps=1, feature_weight=0.5, feature_layers=("block_3_conv1",))
    with pytest.raises(ValueError, match="block_3_conv1"):
        train(tiny_student(), anime_model, config, progress=False)


@pytest.mark.slow
def test_training_runs_on_the_torch_backend(tmp_path):
    """The loop is backend-agnostic: the same tiny run, in a fresh process with KERAS_BACKEND=torch."""
    import os
    import subprocess
    import sys

    script = f"""
import sys
sys.modules.setdefault("triton", None)
sys.path.insert(0, {str(ROOT)!r})
import keras
assert keras.backend.backend() == "torch"
from models.dctnet import Architecture, build_generator, uniform_channels
from models.training import TrainConfig, train
from models.weights import load_model
keras.utils.set_random_seed(0)
student = build_generator(Architecture(channels=uniform_channels(8, 1), num_blocks=1))
config = TrainConfig(steps=4, batch_size=2, crop=32, image_side=64, data_dir={str(SAMPLES)!r}, holdout=1,
                     val_crop=64, val_every=4, checkpoint_every=2, work_dir={str(tmp_path / "run")!r},
                     cache_dir={str(tmp_path / "cache")!r})
h = train(student, load_model("anime"), config, progress=False)
losses = [r["loss"] for r in h["train"]]
print("LOSSES", losses, h["backend"])
assert h["backend"] == "torch" and losses[-1] < losses[0], losses
"""
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=280)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "LOSSES" in proc.stdout


def test_time_limit_ends_a_call_checkpointed_and_the_run_resumes_to_the_same_losses(tmp_path, anime_model):
    from models.training import train

    config = tiny_config(tmp_path, work_dir=str(tmp_path / "straight"))
    straight = train(tiny_student(), anime_model, config, progress=False)
    leased = dataclasses.replace(config, work_dir=str(tmp_path / "leased"))
    first = train(tiny_student(), anime_model, leased, progress=False, time_limit_s=1e-9)
    assert first["steps_done"] == 1 and [v["step"] for v in first["val"]] == [0, 1]  # last step validated
    assert json.loads((tmp_path / "leased" / "checkpoint" / "history.json").read_text())["steps_done"] == 1
    resumed = train(tiny_student(seed=99), anime_model, leased, progress=False)
    np.testing.assert_allclose([r["loss"] for r in resumed["train"]],
                               [r["loss"] for r in straight["train"]], rtol=1e-5)
    times = [r["time_s"] for r in resumed["train"]]  # training seconds, counted on across the two calls
    assert times == sorted(times) and times[-1] <= resumed["train_time_s"]
    with pytest.raises(ValueError, match="time_limit_s"):
        train(tiny_student(), anime_model, leased, progress=False, time_limit_s=0)


def test_a_kit_copy_splits_exactly_as_the_collection(tmp_path):
    """scripts/gpu_kit.py stores each photo as <collection name>.webp: the same photos must be held out."""
    from models.portraits import collection_name, split_images

    names = [f"src{i % 4}/photo{i}.{('jpg', 'png', 'jpeg')[i % 3]}" for i in range(40)] + ["own.webp"]
    for folder, suffix in (("collection", ""), ("kit", ".webp")):
        for n in names:
            (tmp_path / folder / (n + suffix)).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / folder / (n + suffix)).touch()
    train, held = split_images(tmp_path / "collection", holdout=6)
    kit_train, kit_held = split_images(tmp_path / "kit", holdout=6)
    assert [collection_name(n) for n in kit_held] == held and [collection_name(n) for n in kit_train] == train
    assert collection_name("own.webp") == "own.webp" and collection_name("a.jpg.webp") == "a.jpg"
