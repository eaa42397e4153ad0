"""Distillation students: architecture (hand-counted MACs), save/load, the `distill` method, the CLI,
and the quality of the shipped students against the teacher."""

import json

import numpy as np
import pytest

from tests.conftest import ROOT, psnr_uint8, shared_or_skip

SAMPLES = ROOT / "models" / "samples"


def hand_macs(width, blocks, separable, h, w):
    """DCT-Net's conv MACs counted by hand from the paper's layer table (independent of complexity.py)."""
    c = width
    full, half, quarter = h * w, (h // 2) * (w // 2), (h // 4) * (w // 4)
    layers = [("Conv", 7, 3, c, full), ("Conv_1", 3, c, c, half), ("Conv_2", 3, c, 2 * c, half),
              ("Conv_3", 3, 2 * c, 2 * c, quarter), ("Conv_4", 3, 2 * c, 4 * c, quarter)]
    layers += [(f"b{i}", 3, 4 * c, 4 * c, quarter) for i in range(2 * blocks)]
    layers += [("Conv_5", 3, 4 * c, 2 * c, quarter), ("Conv_6", 3, 2 * c, 2 * c, half),
               ("Conv_7", 3, 2 * c, c, half), ("Conv_8", 3, c, c, full), ("Conv_9", 7, c, 3, full)]
    total = 0
    for name, k, cin, cout, pixels in layers:
        if separable and name not in ("Conv", "Conv_9"):
            total += pixels * (k * k * cin + cin * cout)
        else:
            total += pixels * k * k * cin * cout
    return total


@pytest.mark.parametrize("family, width, blocks", [("slim", 16, 2), ("slim", 24, 3), ("separable", 32, 4),
                                                   ("separable", 16, 0)])
def test_student_macs_match_a_hand_count(family, width, blocks):
    from models.complexity import count_macs
    from models.students import StudentSpec, build_student

    model, _ = build_student(StudentSpec(family, width, blocks))
    assert count_macs(model, 64, 96) == hand_macs(width, blocks, family == "separable", 64, 96)


@pytest.mark.parametrize("width, inner", [(16, 32), (24, 16)])
def test_bottleneck_student_macs_match_a_hand_count(width, inner):
    """The bottleneck family keeps the teacher's 128-channel stream and 4 blocks; only the blocks' inner
    convs narrow: its MACs are the slim student's at `width` with the blocks' terms recounted by hand."""
    from models.complexity import count_macs
    from models.students import StudentSpec, build_student

    h, w = 64, 96
    model, arch = build_student(StudentSpec("bottleneck", width, 4, inner))
    q = (h // 4) * (w // 4)
    slim = hand_macs(width, 0, False, h, w)  # every layer at `width`, no blocks...
    stream = 2 * q * 9 * (2 * width) * (128 - 4 * width)  # Conv_4 (2w -> 128), Conv_5 (128 -> 2w), not 4w
    blocks = 4 * 2 * q * 9 * 128 * inner  # conv1: 128 -> inner, conv2: inner -> 128
    assert count_macs(model, h, w) == slim + stream + blocks
    assert arch.channels["block_3_conv1"] == inner and arch.channels["block_3_conv2"] == 128


def test_bottleneck_students_at_3x_fewer_macs_than_the_teacher():
    from models.students import StudentSpec, build_student
    from models.complexity import count_macs

    teacher = hand_macs(32, 4, False, 512, 512)
    for width, inner, ratio in [(16, 32, 3.48), (24, 16, 3.015)]:
        model, _ = build_student(StudentSpec("bottleneck", width, 4, inner))
        assert teacher / count_macs(model, 512, 512) == pytest.approx(ratio, abs=1e-3)


def test_fullres_student_macs_match_a_hand_count():
    """fullres: the full-resolution layers at 32 channels and the 128-channel stream with 4 blocks kept, the
    half resolution at 2 x width and the blocks' inner convs at `inner`: every conv counted by hand."""
    from models.complexity import count_macs
    from models.students import StudentSpec, build_student

    h, w, width, inner = 64, 96, 12, 20
    full, half, quarter = h * w, (h // 2) * (w // 2), (h // 4) * (w // 4)
    x1 = 2 * width
    layers = [(7, 3, 32, full), (3, 32, 32, half), (3, 32, x1, half), (3, x1, x1, quarter), (3, x1, 128, quarter),
              *[(3, 128, inner, quarter), (3, inner, 128, quarter)] * 4, (3, 128, x1, quarter), (3, x1, x1, half),
              (3, x1, 32, half), (3, 32, 32, full), (7, 32, 3, full)]
    model, arch = build_student(StudentSpec("fullres", width, 4, inner))
    assert count_macs(model, h, w) == sum(pixels * k * k * cin * cout for k, cin, cout, pixels in layers)
    assert hand_macs(32, 4, False, 512, 512) / count_macs(model, 512, 512) == pytest.approx(3.041, abs=1e-3)


def test_teacher_init_of_a_full_width_bottleneck_student_is_the_teacher(anime_model):
    from models.students import StudentSpec, build_student, init_from_teacher

    student, arch = build_student(StudentSpec("bottleneck", 32, 4, 128), seed=0)
    init_from_teacher(student, arch, anime_model)
    x = np.random.default_rng(1).uniform(-1, 1, (1, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(student(x)), np.asarray(anime_model(x)), atol=1e-5)


def test_default_slim_student_has_at_least_4x_fewer_macs_than_the_teacher():
    from models.complexity import count_macs
    from models.students import StudentSpec, build_student

    model, _ = build_student(StudentSpec("slim", 16, 2))
    assert hand_macs(32, 4, False, 512, 512) / count_macs(model, 512, 512) >= 4.0


def test_separable_student_keeps_first_and_last_convs_standard_and_the_contract():
    import keras

    from models.dctnet import layer_names
    from models.students import StudentSpec, build_student

    model, arch = build_student(StudentSpec("separable", 16, 2), seed=0)
    for name in layer_names(2):
        layer = model.get_layer(name)
        expected = keras.layers.Conv2D if name in ("Conv", "Conv_9") else keras.layers.SeparableConv2D
        assert type(layer) is expected, name
    model.get_layer("guided_filter")
    x = np.random.default_rng(0).uniform(-1, 1, (1, 32, 48, 3)).astype("float32")
    assert np.asarray(model(x)).shape == x.shape


@pytest.mark.parametrize("kwargs, needle", [({"family": "wide"}, "family='wide'"), ({"width": 2}, "width=2"),
                                            ({"blocks": 5}, "blocks=5"), ({"width": 16.0}, "width=16.0"),
                                            ({"family": "bottleneck"}, "bottleneck student.*inner=0"),
                                            ({"family": "trunk", "inner": 32}, "only for the bottleneck.*inner=32")])
def test_student_spec_rejects_bad_values_naming_them(kwargs, needle):
    from models.students import StudentSpec

    with pytest.raises(ValueError, match=needle):
        StudentSpec(**kwargs)


def test_saved_student_loads_with_identical_outputs(tmp_path):
    from models.students import StudentSpec, build_student, load_student_file, save_student

    model, arch = build_student(StudentSpec("separable", 8, 1), seed=3)
    save_student(model, arch, tmp_path / "s", {"note": "x"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json", "s.weights.h5"]
    variant = load_student_file(tmp_path / "s")
    # stored as float16: the loaded weights are exactly NumPy's float16 rounding of the trained ones
    for loaded, trained in zip(variant.model.get_weights(), model.get_weights()):
        assert loaded.dtype == np.float32
        np.testing.assert_array_equal(loaded, trained.astype(np.float16).astype(np.float32))
    x = np.random.default_rng(0).uniform(-1, 1, (1, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(variant.model(x)), np.asarray(model(x)), atol=2e-3)
    assert variant.architecture == arch and json.loads((tmp_path / "s.json").read_text())["note"] == "x"


def test_float16_storage_halves_the_file_and_keeps_the_output_within_a_grey_level(tmp_path):
    from models.processing import from_network
    from models.students import StudentSpec, build_student, load_student_file, save_student

    model, arch = build_student(StudentSpec("bottleneck", 16, 4, 32), seed=5)
    model.save_weights(tmp_path / "f32.weights.h5")  # Keras' own float32 file, for the size
    save_student(model, arch, tmp_path / "s")
    f16, f32 = (tmp_path / "s.weights.h5").stat().st_size, (tmp_path / "f32.weights.h5").stat().st_size
    assert f16 < 0.6 * f32
    x = np.random.default_rng(1).uniform(-1, 1, (1, 64, 64, 3)).astype("float32")
    a = from_network(np.asarray(load_student_file(tmp_path / "s").model(x))[0]).astype(int)
    b = from_network(np.asarray(model(x))[0]).astype(int)
    assert np.abs(a - b).max() <= 1


def test_teacher_init_of_a_full_width_student_is_the_teacher(anime_model):
    from models.students import StudentSpec, build_student, init_from_teacher

    student, arch = build_student(StudentSpec("slim", 32, 4), seed=0)
    init_from_teacher(student, arch, anime_model)
    x = np.random.default_rng(0).uniform(-1, 1, (1, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(student(x)), np.asarray(anime_model(x)), atol=1e-5)


def test_teacher_init_keeps_the_strongest_channels_of_coupled_convs(anime_model):
    from models.students import StudentSpec, build_student, init_from_teacher

    student, arch = build_student(StudentSpec("slim", 16, 2), seed=0)
    init_from_teacher(student, arch, anime_model)
    conv, conv7 = anime_model.get_layer("Conv").get_weights()[0], anime_model.get_layer("Conv_7").get_weights()[0]
    keep = np.sort(np.argsort(-(np.abs(conv).sum(axis=(0, 1, 2)) + np.abs(conv7).sum(axis=(0, 1, 2))))[:16])
    np.testing.assert_array_equal(student.get_layer("Conv").get_weights()[0], conv[..., keep])
    conv8 = anime_model.get_layer("Conv_8").get_weights()[0]  # Conv_8 reads the x0 skip: rows follow keep
    kept8 = student.get_layer("Conv_8").get_weights()[0]
    assert kept8.shape == (3, 3, 16, 16) and np.isin(kept8[:, :, :, 0], conv8[:, :, keep]).all()


def test_separable_teacher_init_is_the_best_rank_one_factorisation(anime_model):
    from models.students import StudentSpec, build_student, init_from_teacher

    student, arch = build_student(StudentSpec("separable", 32, 4), seed=0)
    init_from_teacher(student, arch, anime_model)
    depth, point, bias = student.get_layer("Conv_4").get_weights()
    w, b = anime_model.get_layer("Conv_4").get_weights()
    approx = depth[:, :, :, 0][..., None] * point[0, 0][None, None]  # (3, 3, Cin, Cout)
    np.testing.assert_allclose(bias, b)
    for c in (0, 7, 31):  # per input channel: the error equals the discarded singular values (Eckart-Young)
        s = np.linalg.svd(w[:, :, c, :].reshape(9, -1), compute_uv=False)
        err = np.linalg.norm((w[:, :, c, :] - approx[:, :, c, :]).reshape(9, -1))
        assert err == pytest.approx(np.sqrt((s[1:] ** 2).sum()), rel=1e-3)


def test_unknown_student_name_lists_the_shipped_ones():
    from models.students import load_student

    with pytest.raises(ValueError, match="Unknown student 'nope'"):
        load_student("nope")


def test_distill_method_is_registered_and_validates_its_config():
    from models.compression import METHODS
    from models.compression.distillation import DistillConfig

    method = METHODS["distill"]
    assert method.config_class is DistillConfig
    with pytest.raises(ValueError, match="student='resnet'"):
        DistillConfig(student="resnet")
    with pytest.raises(ValueError, match="steps=0"):
        DistillConfig(steps=0)


def test_distill_apply_trains_a_student_and_reports_it(tmp_path, anime_model):
    from models.compression import METHODS
    from models.variant import KerasVariant
    from models.compression.distillation import DistillConfig
    from models.dctnet import Architecture

    config = DistillConfig(student="slim", width=8, blocks=1, steps=3, batch_size=2, crop=32, image_side=64,
                           data_dir=str(SAMPLES), holdout=1, use_shipped=False,
                           work_dir=str(tmp_path / "run"))
    source = KerasVariant(anime_model, Architecture(), "anime/original")
    result = METHODS["distill"].apply(source, config)
    assert result.variant.name == "anime/original/distill-slim-w8-b1"
    report = result.report
    assert report.params_after == result.variant.model.count_params() < report.params_before
    assert report.macs_after == hand_macs(8, 1, False, 512, 512)
    assert report.config["width"] == 8 and any("trained 3 steps" in n for n in report.notes)


def test_cli_distill_writes_a_loadable_student_and_refuses_bad_width(tmp_path, capsys):
    from models.__main__ import main
    from models.students import load_student_file

    out = tmp_path / "out" / "stu"
    args = ["distill", "--student", "separable", "--width", "8", "--blocks", "1", "--steps", "2",
            "--batch-size", "2", "--crop", "32", "--image-side", "64", "--data-dir", str(SAMPLES),
            "--holdout", "1", "--work-dir", str(tmp_path / "run"), "--cache-dir", str(tmp_path / "cache"),
            "--out", str(out), "--no-progress"]
    assert main(args) == 0
    meta = json.loads(out.with_name("stu.json").read_text())
    assert meta["steps_done"] == 2 and meta["complete"] and meta["train_config"]["crop"] == 32
    assert meta["params"] == load_student_file(out).model.count_params()
    assert main([*args[:4], "2", *args[5:]]) == 2
    assert "width=2" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["slim-w16-b2", "separable-w32-b4"])
def test_shipped_student_reproduces_its_recorded_validation_psnr(name, anime_model):
    """Re-measure the shipped weights on the held-out validation crops: the same PSNR as recorded at the
    end of training, far above where training started (teacher-initialised, untrained: 12-14 dB)."""
    from models.compression import METHODS
    from models.variant import KerasVariant
    from models.compression.distillation import DistillConfig
    from models.dctnet import Architecture
    from models.processing import from_network
    from models.students import shipped_students, student_metadata
    from models.portraits import split_images
    from models.training import TrainConfig
    from models.training_data import cache_pairs, centre_batch

    if name not in shipped_students():
        pytest.skip(f"student {name} is not shipped yet")
    meta = student_metadata(name)
    cfg = meta["train_config"]
    data = shared_or_skip("portraits")
    train_names, held = split_images(data, cfg["holdout"], cfg["seed"], cfg["max_images"])
    assert meta["held_out"] == held and not set(held) & set(train_names)  # never trained on

    spec = meta["spec"]
    source = KerasVariant(anime_model, Architecture(), "anime/original")
    result = METHODS["distill"].apply(source, DistillConfig(student=spec["family"], width=spec["width"],
                                                            blocks=spec["blocks"]))
    assert any("loaded the shipped student" in n for n in result.report.notes)  # not retrained

    config = TrainConfig(data_dir=str(data), image_side=cfg["image_side"], holdout=cfg["holdout"],
                         val_crop=cfg["val_crop"], seed=cfg["seed"], jitter=cfg["jitter"])
    pairs = cache_pairs(held[: cfg["val_images"]], anime_model, config, 1, crops=0, crop=cfg["val_crop"])
    x, y = centre_batch(pairs)  # the teacher's output on each crop (cached under lab_data/)
    out = np.asarray(result.variant.model(x))
    scores = [psnr_uint8(from_network(o), from_network(t)) for o, t in zip(out, y)]
    assert np.mean(scores) == pytest.approx(meta["final_val_psnr"], abs=0.05)
    start = [v["val_psnr"] for v in meta["curve"]["val"] if v["step"] == 0]
    assert np.mean(scores) > (start[0] if start else 14.0) + 5.0
