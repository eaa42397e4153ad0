"""Weights: the bundled Keras model must reproduce the official TFLite files; importers fail loudly."""

import numpy as np
import pytest

from models.processing import from_network
from models.weights import (STYLES, WeightsError, assign, expected_tensors, import_weights, load_bundled,
                            read_any, read_checkpoint, read_frozen_graph, read_tflite, validate)
from tests.conftest import psnr_uint8, shared_or_skip


def _tflite_output(path, bgr255):
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path))
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], bgr255)
    interp.invoke()
    return interp.get_tensor(interp.get_output_details()[0]["index"])[0]


@pytest.fixture(scope="module")
def reference_720():
    import cv2

    from models.images import load_image

    rgb = load_image(shared_or_skip("reference", "dctnet_input.png"))
    rgb = cv2.resize(rgb, (720, 720), interpolation=cv2.INTER_AREA)
    return rgb[..., ::-1].astype(np.float32)  # BGR 0..255, the TFLite files' input


@pytest.fixture(scope="module")
def scratch_model():
    from models.dctnet import build_generator

    return build_generator()


@pytest.mark.parametrize("style", STYLES)
def test_keras_matches_official_tflite(style, reference_720, scratch_model):
    """>= 50 dB on uint8 outputs at 720x720 (measured: 61.6-62.4 dB across styles)."""
    tflite = _tflite_output(shared_or_skip("dctnet", f"{style}_bg.tflite"), reference_720)
    model = assign(scratch_model, load_bundled(style))  # one graph, weights swapped per style
    ours = np.asarray(model(reference_720[None] / 127.5 - 1.0, training=False))[0]
    psnr = psnr_uint8(from_network(ours), from_network(tflite))
    print(f"{style}: {psnr:.2f} dB")
    assert psnr >= 50.0


def test_bundled_weights_equal_tflite_source():
    ref = read_tflite(shared_or_skip("dctnet", "anime_bg.tflite"))
    ours = load_bundled("anime")
    assert all(np.array_equal(ref[n], ours[n]) for n in expected_tensors())  # fp16 storage is lossless


def _official_like_tensors(rng):
    return {n: rng.normal(size=s).astype("float32") for n, s in expected_tensors().items()}


def _write_frozen_graph(tensors, path, drop=()):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.placeholder(tf.float32, [None, None, 3], name="input_image")
        for name, value in tensors.items():
            if name not in drop:
                tf.constant(value, name=name)
    path.write_bytes(graph.as_graph_def().SerializeToString())


def _write_checkpoint(tensors, prefix):
    import tensorflow as tf

    names = list(tensors)
    tf.raw_ops.SaveV2(prefix=str(prefix), tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=[tf.constant(tensors[n]) for n in names])


def test_frozen_graph_import_round_trips(tmp_path, rng):
    tensors = _official_like_tensors(rng)
    _write_frozen_graph(tensors, tmp_path / "cartoon_anime_bg.pb")
    loaded = validate(read_frozen_graph(tmp_path / "cartoon_anime_bg.pb"))
    assert all(np.array_equal(loaded[n], tensors[n]) for n in tensors)


def test_checkpoint_import_round_trips(tmp_path, rng):
    tensors = _official_like_tensors(rng)
    _write_checkpoint(tensors, tmp_path / "model-300000")
    for given in ("model-300000", "model-300000.index"):
        loaded = validate(read_checkpoint(tmp_path / given))
        assert all(np.array_equal(loaded[n], tensors[n]) for n in tensors)


def test_partial_frozen_graph_names_what_is_missing(tmp_path, rng):
    _write_frozen_graph(_official_like_tensors(rng), tmp_path / "cut.pb", drop=("generator/block_2/conv1/weights",))
    with pytest.raises(WeightsError, match="missing 1 of 36 tensors: generator/block_2/conv1/weights"):
        import_weights(tmp_path / "cut.pb", "anime", dest_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_wrong_shape_names_tensor_and_shapes(tmp_path, rng):
    tensors = _official_like_tensors(rng)
    tensors["generator/Conv_9/weights"] = np.zeros((3, 3, 32, 3), "float32")
    _write_checkpoint(tensors, tmp_path / "model-1")
    with pytest.raises(WeightsError, match=r"generator/Conv_9/weights: expected \(7, 7, 32, 3\), found \(3, 3, 32, 3\)"):
        validate(read_checkpoint(tmp_path / "model-1"))


def test_wrong_kind_of_file_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "fake.tflite").write_bytes(b"not a flatbuffer")
    (tmp_path / "fake.pb").write_bytes(b"\x00\x01garbage")
    with pytest.raises(WeightsError, match="Cannot tell the kind"):
        read_any(tmp_path / "notes.txt")
    with pytest.raises(WeightsError, match="not a readable TFLite"):
        read_any(tmp_path / "fake.tflite")
    with pytest.raises(WeightsError):
        validate(read_any(tmp_path / "fake.pb"))


def test_unknown_style_lists_valid_ones():
    with pytest.raises(ValueError, match="Valid styles: 3d, anime"):
        load_bundled("pixar")
