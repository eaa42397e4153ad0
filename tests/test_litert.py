"""LiteRTNetwork and tflite_info on our own small exports (the official file is 0..255 and fixed-size)."""

import threading

import numpy as np
import pytest

from tests.conftest import seeded_tiny_dctnet


@pytest.fixture(scope="module")
def tiny_model():
    """A width-4, 1-block DCT-Net with seeded random weights: exports in a second."""
    return seeded_tiny_dctnet(4, seed=1)[0]


@pytest.fixture(scope="module")
def tiny_fp32(tiny_model, tmp_path_factory):
    from models.export import ExportConfig, export_tflite

    return export_tflite(tiny_model, tmp_path_factory.mktemp("litert") / "tiny.tflite", ExportConfig("fp32"))


def test_litert_network_matches_keras_at_two_sizes_and_batches(tiny_model, tiny_fp32):
    from models.litert import LiteRTNetwork

    net = LiteRTNetwork(tiny_fp32, threads=1)
    rng = np.random.default_rng(0)
    for shape in [(1, 32, 48, 3), (3, 64, 32, 3), (1, 32, 48, 3)]:
        x = rng.uniform(-1, 1, shape).astype("float32")
        y = net(x)
        assert y.shape == shape and y.dtype == np.float32
        np.testing.assert_allclose(y, np.asarray(tiny_model(x)), atol=1e-4)


def test_litert_network_reallocates_only_on_shape_change(tiny_fp32, monkeypatch):
    from models.litert import LiteRTNetwork

    net = LiteRTNetwork(tiny_fp32)
    calls = []
    original = net.interpreter.allocate_tensors
    monkeypatch.setattr(net.interpreter, "allocate_tensors", lambda: (calls.append(1), original())[1])
    x = np.zeros((1, 32, 32, 3), np.float32)
    net(x), net(x), net(np.zeros((1, 48, 32, 3), np.float32)), net(np.zeros((1, 48, 32, 3), np.float32))
    assert len(calls) == 2


def test_litert_network_has_a_lock_held_during_call(tiny_fp32):
    from models.litert import LiteRTNetwork

    net = LiteRTNetwork(tiny_fp32)
    assert isinstance(net.lock, type(threading.Lock()))
    with net.lock:  # a call made while the lock is held must wait for it
        result = []
        worker = threading.Thread(target=lambda: result.append(net(np.zeros((1, 32, 32, 3), np.float32))))
        worker.start()
        worker.join(timeout=0.5)
        assert worker.is_alive() and not result
    worker.join(timeout=30)
    assert result and result[0].shape == (1, 32, 32, 3)


def test_quantize_dequantize_follow_scale_and_zero_point():
    from models.litert import dequantize, quantize

    detail = {"name": "x", "dtype": np.int8, "quantization": (2 / 255, -1)}
    x = np.array([-1.0, 0.0, 0.5, 1.0, 3.0], np.float32)
    q = quantize(x, detail)
    np.testing.assert_array_equal(q, np.clip(np.round(x / (2 / 255) - 1), -128, 127).astype(np.int8))
    np.testing.assert_allclose(dequantize(q, detail), (q.astype(np.float32) + 1) * (2 / 255), rtol=1e-6)
    assert dequantize(q, detail)[-1] == pytest.approx(128 * 2 / 255)  # saturated at int8 max


def test_int8_io_model_is_quantized_at_the_edges(tiny_model, tmp_path):
    """A model with int8 input/output (inference_input_type int8) still takes and returns float [-1, 1]."""
    import tensorflow as tf

    from models.litert import LiteRTNetwork, tflite_info

    rng = np.random.default_rng(3)
    converter = tf.lite.TFLiteConverter.from_keras_model(tiny_model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([rng.uniform(-1, 1, (1, 32, 32, 3)).astype("float32")]
                                                for _ in range(8))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    path = tmp_path / "int8io.tflite"
    path.write_bytes(converter.convert())
    info = tflite_info(path)
    assert info["input_dtype"] == "int8" and info["output_dtype"] == "int8"
    net = LiteRTNetwork(path)
    x = rng.uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    y = net(x)
    assert y.dtype == np.float32 and y.shape == x.shape
    ref = np.asarray(tiny_model(x))
    assert np.corrcoef(y.ravel(), ref.ravel())[0, 1] > 0.9  # int8 everywhere: close, not exact


def test_tflite_info_counts_ops_and_sees_dynamic_shapes(tiny_fp32):
    from models.litert import tflite_info

    info = tflite_info(tiny_fp32)
    assert info["dynamic_size"] and info["dynamic_batch"]
    assert info["input_dtype"] == info["output_dtype"] == "float32"
    # 1 block: Conv..Conv_4 (5) + 2 block convs + Conv_5..Conv_9 (5) = 12 learned convs;
    # the guided filter adds 7 depthwise box filters
    assert info["ops"]["CONV_2D"] == 12
    assert info["ops"]["DEPTHWISE_CONV_2D"] == 7
    assert info["conv_weight_dtypes"] == {"float32": 19}


def test_bad_inputs_raise_clear_errors(tiny_fp32, tmp_path):
    from models.litert import LiteRTNetwork

    with pytest.raises(FileNotFoundError, match="missing.tflite"):
        LiteRTNetwork(tmp_path / "missing.tflite")
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a readable TFLite"):
        LiteRTNetwork(bad)
    with pytest.raises(ValueError, match="threads=0"):
        LiteRTNetwork(tiny_fp32, threads=0)
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\).*\(32, 32, 3\)"):
        LiteRTNetwork(tiny_fp32)(np.zeros((32, 32, 3), np.float32))


def test_fixed_size_batchless_model_runs_image_by_image():
    """The official DCT-Net head file takes one (288, 288, 3) image: a batch of 2 runs as two calls."""
    from tests.conftest import shared_or_skip

    from models.litert import LiteRTNetwork, tflite_info

    path = shared_or_skip("dctnet", "anime_head.tflite")
    info = tflite_info(path)
    assert info["input_signature"] == [288, 288, 3] and not info["dynamic_size"] and not info["dynamic_batch"]
    net = LiteRTNetwork(path, threads=2)
    assert net.batchless and net.fixed_size == (288, 288)
    x = np.random.default_rng(4).uniform(0, 255, (2, 288, 288, 3)).astype("float32")  # its own 0..255 range
    y = net(x)
    assert y.shape == x.shape and np.isfinite(y).all()
    np.testing.assert_array_equal(y[1], net(x[1:])[0])  # image i of the batch == image i alone
    with pytest.raises(ValueError, match=r"fixed input size \(288, 288\); received \(256, 256\)"):
        net(np.zeros((1, 256, 256, 3), np.float32))
