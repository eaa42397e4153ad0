"""LPIPS (Zhang et al. 2018, v0.1, AlexNet + linear heads) as a Keras 3 loss for any backend.

The same network as the project's metric (`evaluation/perceptual.py`, the `lpips` package with the
real ImageNet AlexNet), rebuilt from `keras.layers` / `keras.ops` only, so it trains on TensorFlow, JAX
or torch without torch at call time. Checked against the `lpips` package on real photos to 1e-4
(tests/test_lpips_loss.py).

Contract (the training loop's tensors): `lpips_distance(y_true, y_pred)` and `LPIPSLoss()` take float32
**BGR** images in [-1, 1], shape (N, H, W, 3) with H, W >= 31 (AlexNet's smallest input), and return
the per-image distance, shape (N,). Lower is better, 0 for identical images. Channels are flipped to
RGB inside (LPIPS expects RGB in [-1, 1]). Differentiable w.r.t. both arguments; no trainable weights.

Network, exactly as lpips 0.1.4 computes it:
  ScalingLayer  x' = (x - shift) / scale, shift (-.030, -.088, -.188), scale (.458, .448, .450) (RGB)
  AlexNet features (torchvision), taps after each ReLU:
    pad 2, conv 11x11/4, 64 -> relu1 | maxpool 3/2, pad 2, conv 5x5, 192 -> relu2 |
    maxpool 3/2, pad 1, conv 3x3, 384 -> relu3 | pad 1, conv 3x3, 256 -> relu4 | pad 1, conv 3x3, 256 -> relu5
  per tap: f / (||f||_channels + 1e-10), squared difference, 1x1 linear head (no bias), spatial mean;
  sum over the 5 taps.
torch's padding is reproduced with explicit ZeroPadding2D + 'valid' convs (Keras 'same' pads
asymmetrically at stride 4). One deviation, gradients only: the channel norm is sqrt(max(s, 1e-30))
rather than sqrt(s), so a tap position where every channel is 0 gives a zero gradient instead of NaN
(forward values differ by < 1e-15).

Weights: `models/weights/lpips/alex_v0.1.npz` (float32, Keras layouts), read with NumPy. It is
converted once by `convert_weights()` (torch only there) from the AlexNet backbone the evaluation
metric uses (torchvision's ImageNet AlexNet, BSD-3-Clause, as `../shared/lpips/alexnet_features.pth`) and the linear heads
of the installed `lpips` package (`lpips/weights/v0.1/alex.pth`, BSD-2-Clause); provenance and
sha256s in `alex_v0.1.json` beside it. models/ does not import evaluation/.
"""

import hashlib
import json
from pathlib import Path

import keras
import numpy as np

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights" / "lpips"
WEIGHTS_FILE = WEIGHTS_DIR / "alex_v0.1.npz"
PROVENANCE_FILE = WEIGHTS_DIR / "alex_v0.1.json"

SHIFT_RGB = np.array([-0.030, -0.088, -0.188], np.float32)  # lpips.ScalingLayer
SCALE_RGB = np.array([0.458, 0.448, 0.450], np.float32)
EPS = 1e-10  # lpips.normalize_tensor
MIN_SIZE = 31  # smallest H, W for which every AlexNet stage has an output

# (torchvision features index, kernel, stride, padding, out channels, max-pool before the conv)
CONVS = ((0, 11, 4, 2, 64, False), (3, 5, 1, 2, 192, True), (6, 3, 1, 1, 384, True),
         (8, 3, 1, 1, 256, False), (10, 3, 1, 1, 256, False))
CHANNELS = tuple(c[4] for c in CONVS)


# ----------------------------------------------------------------------------------------- conversion

def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _repo_relative(path):
    path, root = Path(path).resolve(), Path(__file__).resolve().parent.parent
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name


def convert_weights(alexnet_pth, lpips_pth, out_npz=WEIGHTS_FILE, provenance=PROVENANCE_FILE):
    """Convert torch state dicts into the float32 npz this module loads; write the provenance JSON.

    alexnet_pth: torchvision AlexNet state dict (features.{0,3,6,8,10}.weight|bias), e.g.
    ../shared/lpips/alexnet_features.pth; lpips_pth: lpips/weights/v0.1/alex.pth (lin{k}.model.1.weight).
    Conv weights go (out, in, kh, kw) -> (kh, kw, in, out); heads (1, C, 1, 1) -> (C,).
    """
    import sys

    sys.modules.setdefault("triton", None)  # torch after TensorFlow segfaults otherwise (perceptual.py)
    import torch

    backbone = torch.load(alexnet_pth, map_location="cpu", weights_only=True)
    heads = torch.load(lpips_pth, map_location="cpu", weights_only=True)
    arrays = {}
    for k, (index, ksize, _, _, out_ch, _) in enumerate(CONVS):
        w = backbone[f"features.{index}.weight"].detach().cpu().numpy().astype(np.float32)
        b = backbone[f"features.{index}.bias"].detach().cpu().numpy().astype(np.float32)
        in_ch = 3 if k == 0 else CHANNELS[k - 1]
        if w.shape != (out_ch, in_ch, ksize, ksize) or b.shape != (out_ch,):
            raise ValueError(f"features.{index} has shape {w.shape}/{b.shape}, AlexNet needs "
                             f"{(out_ch, in_ch, ksize, ksize)}/{(out_ch,)}: not torchvision's AlexNet")
        arrays[f"conv{k}_kernel"] = np.ascontiguousarray(w.transpose(2, 3, 1, 0))
        arrays[f"conv{k}_bias"] = b
        lin = heads[f"lin{k}.model.1.weight"].detach().cpu().numpy().astype(np.float32)
        if lin.shape != (1, out_ch, 1, 1):
            raise ValueError(f"lin{k} has shape {lin.shape}, LPIPS alex v0.1 needs {(1, out_ch, 1, 1)}")
        arrays[f"lin{k}"] = lin.reshape(out_ch)
    out_npz = Path(out_npz)
    out_npz.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_npz.with_name(out_npz.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(out_npz)
    record = {
        "file": out_npz.name,
        "sha256": _sha256(out_npz),
        "network": "LPIPS v0.1 alex (Zhang et al. 2018): AlexNet features + linear heads",
        "layout": "conv{k}_kernel (kh, kw, in, out), conv{k}_bias (out,), lin{k} (C,); float32; k = 0..4 "
                  "are torchvision features.{0,3,6,8,10}",
        "sources": [
            {"file": _repo_relative(alexnet_pth), "sha256": _sha256(alexnet_pth),
             "what": "torchvision ImageNet AlexNet convs (features.{0,3,6,8,10}), the backbone "
                     "evaluation/perceptual.py loads (from this npz since 2026-12-03); see models/weights/lpips/README.md",
             "license": "BSD-3-Clause (torchvision)"},
            {"file": "lpips/weights/v0.1/" + Path(lpips_pth).name, "sha256": _sha256(lpips_pth),
             "what": "LPIPS linear heads lin0..lin4, from the `lpips` PyPI package",
             "license": "BSD-2-Clause (lpips, Richard Zhang et al.)"},
        ],
        "converted_by": "models.lpips_loss.convert_weights",
    }
    try:
        from importlib.metadata import version

        record["sources"][1]["package"] = f"lpips=={version('lpips')}"
    except Exception:  # not installed as a distribution: the sha256 still identifies the file
        pass
    Path(provenance).write_text(json.dumps(record, indent=2) + "\n")
    return out_npz


def load_weights(path=WEIGHTS_FILE):
    """The converted arrays as a dict of float32 NumPy arrays (NumPy only)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"LPIPS weights {path} are missing: run models.lpips_loss.convert_weights"
                                f"('../shared/lpips/alexnet_features.pth', <lpips>/weights/v0.1/alex.pth)")
    with np.load(path) as data:
        return {k: data[k].astype(np.float32) for k in data.files}


# ------------------------------------------------------------------------------------------- network

def build_alexnet_features(weights=None, name="lpips_alexnet"):
    """Frozen Keras AlexNet: scaled RGB (N, H, W, 3) -> [relu1, relu2, relu3, relu4, relu5] (NHWC)."""
    import keras
    from keras import layers

    weights = load_weights() if weights is None else weights
    x = inp = keras.Input((None, None, 3), dtype="float32", name=f"{name}_input")
    taps = []
    for k, (_, ksize, stride, pad, out_ch, pool_first) in enumerate(CONVS):
        if pool_first:
            x = layers.MaxPooling2D(3, strides=2, padding="valid", dtype="float32", name=f"{name}_pool{k}")(x)
        x = layers.ZeroPadding2D(pad, dtype="float32", name=f"{name}_pad{k}")(x)
        conv = layers.Conv2D(out_ch, ksize, strides=stride, padding="valid", activation="relu",
                             dtype="float32", name=f"{name}_conv{k}")
        x = conv(x)
        conv.set_weights([weights[f"conv{k}_kernel"], weights[f"conv{k}_bias"]])
        taps.append(x)
    model = keras.Model(inp, taps, name=name)
    model.trainable = False
    return model


def _unit_normalize(f):
    from keras import ops

    norm = ops.sqrt(ops.maximum(ops.sum(f * f, axis=-1, keepdims=True), 1e-30))
    return f / (norm + EPS)


class LPIPS:
    """The network and its heads; `distance(y_true, y_pred)` on BGR [-1, 1] NHWC -> (N,)."""

    def __init__(self, weights_path=WEIGHTS_FILE):
        weights = load_weights(weights_path)
        self.features = build_alexnet_features(weights)
        self._lins = [weights[f"lin{k}"] for k in range(len(CONVS))]

    def _scaled_rgb(self, x):
        from keras import ops

        rgb = ops.flip(x, axis=-1)  # BGR -> RGB
        return (rgb - ops.convert_to_tensor(SHIFT_RGB)) / ops.convert_to_tensor(SCALE_RGB)

    def distance(self, y_true, y_pred):
        from keras import ops

        y_true = ops.convert_to_tensor(y_true, "float32")
        y_pred = ops.convert_to_tensor(y_pred, "float32")
        shape = tuple(y_pred.shape)
        if len(shape) != 4 or shape[-1] != 3 or tuple(y_true.shape) != shape:
            raise ValueError(f"LPIPS takes two BGR (N, H, W, 3) batches of one shape. "
                             f"Received {tuple(y_true.shape)} and {shape}")
        if any(s is not None and s < MIN_SIZE for s in shape[1:3]):
            raise ValueError(f"LPIPS (AlexNet) needs H, W >= {MIN_SIZE}. Received {shape}")
        n = ops.shape(y_pred)[0]
        both = self._scaled_rgb(ops.concatenate([y_true, y_pred], axis=0))  # one pass for the pair
        total = 0.0
        for k, tap in enumerate(self.features(both, training=False)):
            f = _unit_normalize(tap)
            d = ops.square(f[:n] - f[n:])
            # 1x1 head then spatial mean == spatial mean then head (linear); the head is (C,)
            total = total + ops.sum(ops.mean(d, axis=(1, 2)) * ops.convert_to_tensor(self._lins[k]), axis=-1)
        return total

    __call__ = distance


_DEFAULT = None


def get_lpips():
    """The process-wide LPIPS network (built once; build it eagerly, before tracing/compiling)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = LPIPS()
    return _DEFAULT


def lpips_distance(y_true, y_pred):
    """Per-image LPIPS v0.1 (alex), shape (N,), of float32 BGR [-1, 1] images (N, H, W, 3)."""
    return get_lpips().distance(y_true, y_pred)


class LPIPSLoss(keras.losses.Loss):
    """Keras loss: per-image LPIPS of BGR [-1, 1] (N, H, W, 3) batches, reduced by `reduction`
    (default the batch mean). Builds (or reuses) the frozen network at construction."""

    def __init__(self, reduction="sum_over_batch_size", name="lpips", **kwargs):
        super().__init__(reduction=reduction, name=name, **kwargs)
        self.net = get_lpips()

    def call(self, y_true, y_pred):
        return self.net.distance(y_true, y_pred)
