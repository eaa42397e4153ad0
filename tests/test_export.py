"""Every TFLite precision of the real anime DCT-Net runs in LiteRT at two sizes, near its Keras source."""

import numpy as np
import pytest

from tests.conftest import psnr_uint8, shared_or_skip

# Stated error of each precision against the Keras FP32 output (uint8 PSNR on real photo crops).
MIN_PSNR = {"fp32": 70.0, "fp16": 55.0, "int8_dynamic": 33.0, "int8_full": 28.0}
SIZES = [(96, 128), (160, 160)]


@pytest.fixture(scope="module")
def photos():
    """Two real photos (bundled samples) as float BGR crops of two different sizes."""
    from models.fitting import square_input
    from models.images import load_image
    from models.processing import to_network
    from models.samples import SAMPLES_DIR

    out = []
    for name, (h, w) in zip(("face_crop.jpg", "half_body.jpg"), SIZES):
        x = to_network(square_input(load_image(SAMPLES_DIR / name), max(h, w)))
        out.append(x[None, :h, :w])
    return out


@pytest.fixture(scope="module")
def exports(anime_model, tmp_path_factory):
    from models.export import ExportConfig, export_tflite

    folder = tmp_path_factory.mktemp("export")
    paths = {}
    for precision in ("fp32", "fp16", "int8_dynamic", "int8_full"):
        if precision == "int8_full" and not _portraits_present():
            continue
        config = ExportConfig(precision, calibration_images=4, calibration_size=128)
        paths[precision] = export_tflite(anime_model, folder / f"{precision}.tflite", config)
    return paths


def _portraits_present():
    from models.export import PORTRAITS_DIR

    return PORTRAITS_DIR.is_dir()


def _uint8(y):
    from models.processing import from_network

    return from_network(y[0])


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8_dynamic", "int8_full"])
def test_every_precision_runs_at_two_sizes_within_stated_error(precision, exports, photos, anime_model):
    from models.litert import LiteRTNetwork, tflite_info

    if precision not in exports:
        shared_or_skip("portraits")
    info = tflite_info(exports[precision])
    assert info["dynamic_size"], "export lost dynamic height/width"
    assert info["input_dtype"] == "float32" and info["output_dtype"] == "float32"
    net = LiteRTNetwork(exports[precision], threads=2)
    for x in photos:
        y = net(x)
        assert y.shape == x.shape
        psnr = psnr_uint8(_uint8(y), _uint8(np.asarray(anime_model(x))))
        assert psnr >= MIN_PSNR[precision], f"{precision} at {x.shape[1:3]}: {psnr:.2f} dB"


def test_precisions_store_weights_as_they_claim(exports):
    from models.litert import tflite_info

    sizes = {p: tflite_info(path)["bytes"] for p, path in exports.items()}
    # 1.47 M float32 params = 5.9 MB; fp16 halves it, int8 quarters it (the file holds a little more)
    assert 5.8e6 < sizes["fp32"] < 6.2e6
    assert 2.9e6 < sizes["fp16"] < 3.1e6
    assert 1.4e6 < sizes["int8_dynamic"] < 1.7e6
    assert tflite_info(exports["int8_dynamic"])["conv_weight_dtypes"]["int8"] == 18  # every learned conv
    if "int8_full" in exports:
        info = tflite_info(exports["int8_full"])
        assert info["conv_weight_dtypes"] == {"int8": 18, "float32": 7}  # guided filter's 7 box filters float
        assert info["ops"].get("QUANTIZE", 0) >= 1 and info["ops"].get("DEQUANTIZE", 0) >= 1


def test_int8_full_can_quantize_the_guided_filter_too(anime_model, tmp_path, photos):
    shared_or_skip("portraits")
    from models.export import ExportConfig, export_tflite
    from models.litert import LiteRTNetwork, tflite_info

    path = export_tflite(anime_model, tmp_path / "all_int8.tflite",
                         ExportConfig("int8_full", calibration_images=2, calibration_size=64,
                                      float_guided_filter=False))
    assert tflite_info(path)["conv_weight_dtypes"] == {"int8": 25}
    assert LiteRTNetwork(path)(photos[0]).shape == photos[0].shape


def test_int8_full_with_percentile_ranges_narrows_ranges_and_stays_near_keras(anime_model, tmp_path, photos):
    """calibration_range="p99.999": every activation range lies inside the min/max calibration's, some are
    strictly narrower, and the export still runs within int8_full's stated error of the Keras output."""
    shared_or_skip("portraits")
    from tensorflow.lite.tools import flatbuffer_utils

    from models.export import ExportConfig, export_tflite
    from models.int8_selective import Calibration, calibrated_model
    from models.litert import LiteRTNetwork

    def ranges(content):
        fb = flatbuffer_utils.read_model_from_bytearray(bytearray(content))
        return {t.name: (float(t.quantization.min[0]), float(t.quantization.max[0]))
                for t in fb.subgraphs[0].tensors
                if t.quantization is not None and t.quantization.min is not None and len(t.quantization.min) == 1}

    wide = ranges(calibrated_model(anime_model, Calibration(images=2, size=64), cache=False))
    narrow = ranges(calibrated_model(anime_model, Calibration(images=2, size=64, range="p99.999"), cache=False))
    assert wide.keys() == narrow.keys() and len(wide) > 20
    assert all(wide[k][0] <= narrow[k][0] <= narrow[k][1] <= wide[k][1] for k in wide)
    assert sum(narrow[k][1] - narrow[k][0] < 0.99 * (wide[k][1] - wide[k][0]) for k in wide) > len(wide) // 4
    path = export_tflite(anime_model, tmp_path / "p.tflite",
                         ExportConfig("int8_full", calibration_images=2, calibration_size=64))  # the default
    x = photos[1]
    assert psnr_uint8(_uint8(LiteRTNetwork(path)(x)), _uint8(anime_model(x, training=False).numpy())) \
        >= MIN_PSNR["int8_full"]


def test_calibration_and_evaluation_portraits_are_disjoint():
    shared_or_skip("portraits")
    from models.portraits import portrait_files

    cal, ev = portrait_files("calibration"), portrait_files("evaluation")
    assert len(ev) >= 20 and len(cal) > 100
    assert not set(cal) & set(ev)
    assert portrait_files("evaluation") == ev  # deterministic


def test_every_int8_route_calibrates_on_the_same_photos():
    """min/max through the converter and the percentile / mixed route (int8_selective) once picked
    different photos for one config (0.15 dB apart on the evaluation split); both take the seeded head
    of the calibration side now, cut the same way, and never an evaluation photo."""
    shared_or_skip("portraits")
    from models.export import calibration_batches as converter_batches
    from models.int8_selective import Calibration, calibration_batches as selective_batches
    from models.portraits import calibration_side, portrait_files

    for seed in (0, 3):
        a = converter_batches(4, 64, seed)
        b = selective_batches(Calibration(images=4, size=64, seed=seed, crop="centre"))
        assert len(a) == len(b) == 4
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    head = calibration_side(0)[:4]
    assert head != calibration_side(3)[:4]  # the seed changes the photos
    assert not set(head) & set(portrait_files("evaluation"))


@pytest.mark.parametrize("kwargs, message", [
    ({"precision": "int4"}, "precision='int4'"),
    ({"calibration_images": 0}, "calibration_images=0"),
    ({"calibration_size": 100}, "calibration_size=100"),
    ({"per_channel": "yes"}, "per_channel='yes'"),
    ({"calibration_range": "p50"}, "calibration_range='p50'"),
])
def test_invalid_export_config_names_the_value(kwargs, message):
    from models.export import ExportConfig

    with pytest.raises(ValueError, match=message):
        ExportConfig(**kwargs)


def test_failed_export_leaves_no_file(anime_model, tmp_path, monkeypatch):
    import models.export as export

    def boom(model, config):
        raise RuntimeError("converter crashed")

    monkeypatch.setattr(export, "_convert", boom)
    with pytest.raises(RuntimeError, match="converter crashed"):
        export.export_tflite(anime_model, tmp_path / "x.tflite")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="path='.*x.onnx'"):
        export.export_tflite(anime_model, tmp_path / "x.onnx")
