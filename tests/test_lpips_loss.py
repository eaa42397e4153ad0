"""models.lpips_loss: the Keras LPIPS loss against the `lpips` package (the project's metric) on real photos."""

import io
import json
import sys

import numpy as np
import pytest
from PIL import Image, ImageFilter

from tests.conftest import ROOT

SAMPLES = ROOT / "models" / "samples"
TOL = 1e-4  # issue 13: agree with the lpips package to 1e-4 absolute


@pytest.fixture(scope="module")
def reference():
    """The evaluation metric itself: lpips.LPIPS(net='alex', pnet_rand=True) + the bundled AlexNet."""
    sys.modules.setdefault("triton", None)  # torchvision after TensorFlow segfaults otherwise
    pytest.importorskip("torch")
    pytest.importorskip("lpips")
    from evaluation.perceptual import BUNDLED_FILE, LPIPSMetric

    return LPIPSMetric(BUNDLED_FILE, "bundled copy")


def _photo(name, hw):
    img = Image.open(SAMPLES / name).convert("RGB")
    return np.asarray(img.resize((hw[1], hw[0]), Image.BICUBIC))


def _jpeg(rgb, quality=10):
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("RGB"))


def _pairs(hw):
    """(label, uint8 RGB, uint8 RGB): a photo vs degraded copies of itself, and vs another photo."""
    face, other = _photo("face_crop.jpg", hw), _photo("astronaut.png", hw)
    blurred = np.asarray(Image.fromarray(face).filter(ImageFilter.GaussianBlur(2)))
    shifted = np.clip(face.astype(np.int16) + np.array([25, -10, -20]), 0, 255).astype(np.uint8)
    return [("blur", face, blurred), ("jpeg q10", face, _jpeg(face)), ("colour shift", face, shifted),
            ("other photo", face, other), ("dog vs scene", _photo("no_face_dog.jpg", hw),
                                           _photo("full_body.jpg", hw))]


def _network(rgb_uint8):
    """uint8 RGB -> the training loop's tensors: float32 BGR in [-1, 1]."""
    return (rgb_uint8.astype(np.float32) / 127.5 - 1.0)[..., ::-1].copy()


def _batch(pairs):
    return (np.stack([_network(a) for _, a, _ in pairs]), np.stack([_network(b) for _, _, b in pairs]))


@pytest.mark.parametrize("hw", [(256, 256), (192, 160)])
def test_matches_the_lpips_package_on_real_photos(reference, hw):
    from keras import ops

    from models.lpips_loss import lpips_distance

    pairs = _pairs(hw)
    expected = np.array([reference(a, b) for _, a, b in pairs])
    got = ops.convert_to_numpy(lpips_distance(*_batch(pairs)))
    assert got.shape == (len(pairs),) and got.dtype == np.float32
    diff = np.abs(got - expected)
    assert diff.max() < TOL, {label: (float(e), float(g)) for (label, _, _), e, g in zip(pairs, expected, got)}
    assert expected.min() > 0.03  # the pairs are far apart enough to mean something
    # BGR is the contract: the same pixels given as RGB score the colour shift differently
    a, b = pairs[2][1], pairs[2][2]
    as_rgb = ops.convert_to_numpy(lpips_distance((a / 127.5 - 1.0)[None].astype("float32"),
                                                 (b / 127.5 - 1.0)[None].astype("float32")))[0]
    assert abs(as_rgb - expected[2]) > 10 * TOL


def test_identical_images_give_zero_and_the_loss_reduces_the_batch():
    from keras import ops

    from models.lpips_loss import LPIPSLoss, lpips_distance

    x, y = _batch(_pairs((64, 96))[:3])
    assert np.all(ops.convert_to_numpy(lpips_distance(x, x)) == 0.0)
    per_image = ops.convert_to_numpy(lpips_distance(x, y))
    assert float(ops.convert_to_numpy(LPIPSLoss()(x, y))) == pytest.approx(per_image.mean(), abs=1e-7)
    with pytest.raises(ValueError, match="H, W >= 31"):
        lpips_distance(x[:, :30], y[:, :30])
    with pytest.raises(ValueError, match="one shape"):
        lpips_distance(x, y[:2])


def test_gradient_flows_and_the_weights_stay_frozen():
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("the gradient check uses tf.GradientTape")
    import tensorflow as tf

    from models.lpips_loss import LPIPSLoss, get_lpips

    x, y = _batch(_pairs((96, 80))[:2])
    pred = tf.Variable(y)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(get_lpips().distance(x, pred))
    grad = tape.gradient(loss, pred).numpy()
    assert np.all(np.isfinite(grad)) and np.abs(grad).max() > 0
    with tf.GradientTape() as tape:  # at the optimum the gradient is 0, not NaN
        zero = tf.reduce_sum(get_lpips().distance(x, pred * 0 + x))
    assert float(zero) == 0.0 and np.all(np.isfinite(tape.gradient(zero, pred).numpy()))

    net = get_lpips().features
    assert net.trainable_weights == [] and len(net.non_trainable_weights) == 10
    before = [w.copy() for w in net.get_weights()]
    inp = keras.Input((None, None, 3))
    model = keras.Model(inp, keras.layers.Conv2D(3, 3, padding="same", activation="tanh")(inp))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=LPIPSLoss())
    assert len(model.trainable_weights) == 2  # the loss adds nothing to train
    first = model.train_on_batch(x, y)
    assert np.isfinite(first)
    assert all(np.array_equal(a, b) for a, b in zip(before, net.get_weights()))


def test_weights_file_matches_its_provenance():
    import hashlib

    from models.lpips_loss import CHANNELS, PROVENANCE_FILE, WEIGHTS_FILE, load_weights

    record = json.loads(PROVENANCE_FILE.read_text())
    assert record["sha256"] == hashlib.sha256(WEIGHTS_FILE.read_bytes()).hexdigest()
    assert {s["license"].split()[0] for s in record["sources"]} == {"BSD-2-Clause", "BSD-3-Clause"}
    w = load_weights()
    assert w["conv0_kernel"].shape == (11, 11, 3, 64) and w["conv1_kernel"].shape == (5, 5, 64, 192)
    assert [w[f"lin{k}"].shape for k in range(5)] == [(c,) for c in CHANNELS]
    assert all(v.dtype == np.float32 for v in w.values())


def test_conversion_reproduces_the_shipped_file(reference, tmp_path):
    """convert_weights() from the two torch sources (torchvision's AlexNet as ../shared keeps it, the lpips
    package's heads) gives the shipped npz, tensor for tensor."""
    import os

    import lpips

    from evaluation.perceptual import SHARED_FILE
    from models.lpips_loss import convert_weights, load_weights

    if not SHARED_FILE.is_file():
        pytest.skip(f"{SHARED_FILE} (torchvision's AlexNet convs as a torch file) is not beside the repository")
    heads = os.path.join(os.path.dirname(lpips.__file__), "weights", "v0.1", "alex.pth")
    out = convert_weights(SHARED_FILE, heads, tmp_path / "alex.npz", tmp_path / "alex.json")
    fresh, shipped = load_weights(out), load_weights()
    assert sorted(fresh) == sorted(shipped)
    assert all(np.array_equal(fresh[k], shipped[k]) for k in shipped)


@pytest.mark.slow
def test_same_values_and_gradients_on_the_torch_backend(reference):
    """Backend-agnostic: the same pairs in a fresh KERAS_BACKEND=torch process match the lpips package."""
    import os
    import subprocess

    script = f"""
import sys
sys.modules.setdefault("triton", None)
sys.path.insert(0, {str(ROOT)!r})
import keras, numpy as np, torch
assert keras.backend.backend() == "torch"
from tests.test_lpips_loss import _batch, _pairs
from models.lpips_loss import lpips_distance
x, y = _batch(_pairs((192, 160)))
pred = torch.tensor(y, requires_grad=True)
d = lpips_distance(x, pred)
d.sum().backward()
g = pred.grad.numpy()
assert np.isfinite(g).all() and np.abs(g).max() > 0
print("VALUES", ",".join(repr(float(v)) for v in d.detach().cpu().numpy()))
"""
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = np.array([float(v) for v in proc.stdout.split("VALUES ")[1].split(",")])
    expected = np.array([reference(a, b) for _, a, b in _pairs((192, 160))])
    assert np.abs(got - expected).max() < TOL, (got, expected)
