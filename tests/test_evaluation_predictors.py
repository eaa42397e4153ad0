"""Predictors (Keras, LiteRT), variant resolution, and params/MACs read off each kind of model."""

import numpy as np
import pytest

from models.fitting import square_input
from evaluation.predictors import KerasPredictor, LiteRTPredictor
from evaluation.tflite_complexity import tflite_complexity
from evaluation.variants import build_predictor, resolve_variant
from models.images import load_image
from tests.conftest import psnr_uint8, shared_or_skip

PARAMS = 1_467_075


def hand_macs_per_pixel():
    """DCT-Net's learned convs counted by hand: (kernel, Cin, Cout, fraction of input pixels)."""
    convs = [(7, 3, 32, 1), (3, 32, 32, 1 / 4), (3, 32, 64, 1 / 4), (3, 64, 64, 1 / 16), (3, 64, 128, 1 / 16)]
    convs += [(3, 128, 128, 1 / 16)] * 8  # 4 residual blocks x 2 convs
    convs += [(3, 128, 64, 1 / 16), (3, 64, 64, 1 / 4), (3, 64, 32, 1 / 4), (3, 32, 32, 1), (7, 32, 3, 1)]
    return sum(k * k * cin * cout * frac for k, cin, cout, frac in convs)


@pytest.fixture(scope="module")
def exports(tmp_path_factory, anime_model):
    from models.export import ExportConfig, export_tflite

    folder = tmp_path_factory.mktemp("exports")
    return {p: export_tflite(anime_model, folder / f"anime_{p}.tflite", ExportConfig(precision=p))
            for p in ("fp32", "int8_dynamic")}


@pytest.fixture(scope="module")
def photo():
    return square_input(load_image("models/samples/face_crop.jpg"), 128)


def test_mac_count_of_the_original_equals_the_hand_count(anime_model):
    assert hand_macs_per_pixel() == 124_608
    static = KerasPredictor(anime_model).static(512, 512)
    assert static["macs"] == 124_608 * 512 * 512
    assert static["params"] == PARAMS
    assert 5.5e6 < static["file_bytes"] < 6.5e6  # 1.47 M float32 weights in a .keras file


def test_official_tflite_counts_equal_the_hand_count():
    counts = tflite_complexity(shared_or_skip("dctnet", "anime_bg.tflite"), 720, 720)
    assert counts == {"params": PARAMS, "macs": 124_608 * 720 * 720, "macs_resolution": [720, 720],
                      "fixed_ops": 6}  # 6 box filters of the guided filter are not learned


def test_litert_fp32_export_matches_keras_and_is_counted_at_any_size(exports, anime_model, photo):
    keras_out = KerasPredictor(anime_model).predict(photo)
    litert = LiteRTPredictor(exports["fp32"], threads=2)
    assert (litert.runtime, litert.precision, litert.delegate, litert.threads) == ("litert", "fp32", "xnnpack", 2)
    out = litert.predict(photo)
    assert out.shape == photo.shape and out.dtype == np.uint8
    assert psnr_uint8(out, keras_out) > 45
    assert litert.supports_batch
    batch = litert.predict_batch([photo, photo[::-1].copy()])
    assert np.array_equal(batch[0], out)
    static = litert.static(256, 256)
    assert static["macs"] == 124_608 * 256 * 256 and static["params"] == PARAMS
    assert static["file_bytes"] == exports["fp32"].stat().st_size


def test_int8_dynamic_export_is_labelled_and_close_to_keras(exports, anime_model, photo):
    predictor = LiteRTPredictor(exports["int8_dynamic"])
    assert predictor.precision == "int8-dynamic"
    assert psnr_uint8(predictor.predict(photo), KerasPredictor(anime_model).predict(photo)) > 25
    assert predictor.static(128, 128)["macs"] == 124_608 * 128 * 128


def test_variant_names_resolve_to_specs(exports):
    spec = resolve_variant("original", style="3d")
    assert (spec.name, spec.style, spec.method, spec.parent, spec.kind) == ("3d/original", "3d", "original",
                                                                           None, "bundled")
    assert resolve_variant("sketch/original").style == "sketch"
    spec = resolve_variant(f"anime/dyn={exports['int8_dynamic']}")
    assert (spec.name, spec.method, spec.parent, spec.kind) == ("anime/dyn", "int8_dynamic", "anime/original",
                                                                 "tflite")
    assert resolve_variant(str(exports["fp32"])).name == "anime/anime_fp32"


@pytest.mark.parametrize("text, match", [("nowhere/model.tflite", "no such file"),
                                         ("cubism/original", "unknown style"),
                                         ("README.md", "unsupported file type '.md'")])
def test_bad_variants_are_refused_naming_the_text(text, match):
    with pytest.raises(ValueError, match=match):
        resolve_variant(text)


def test_mixed_precision_on_a_cpu_is_refused(anime_model):
    with pytest.raises(ValueError, match="mixed_precision=True needs a GPU"):
        KerasPredictor(anime_model, mixed_precision=True)


def test_portrait_mode_reports_per_stage_times(photo):
    predictor = build_predictor(**resolve_variant("original", mode="portrait").to_dict())
    face = square_input(load_image("models/samples/face_crop.jpg"), 256)
    out = predictor.predict(face)
    assert out.shape == face.shape and predictor.supports_batch is False
    stages = predictor.last_stages()
    assert set(stages) == {"detect_ms", "align_ms", "head_ms", "blend_ms", "full_ms"}
    assert stages["full_ms"] > 0 and stages["head_ms"] > 0  # the face photo has a face: the head ran


def test_mixed_float16_copy_computes_in_float16_except_the_guided_filter(anime_model, rng):
    from evaluation.predictors import to_mixed_float16

    mixed = to_mixed_float16(anime_model)
    policies = {layer.name: layer.dtype_policy.name for layer in mixed.layers}
    assert policies["Conv_4"] == "mixed_float16" and policies["guided_filter"] == "float32"
    x = rng.uniform(-1, 1, (1, 64, 64, 3)).astype("float32")
    diff = np.abs(anime_model.predict_on_batch(x) - np.asarray(mixed.predict_on_batch(x), np.float32))
    assert 0 < diff.max() < 1e-2  # float16 rounding, not a different network
