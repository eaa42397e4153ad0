"""LPIPS (Zhang et al. 2018, v0.1, AlexNet) with the real ImageNet backbone, offline, or not at all.

The `lpips` package ships its linear heads; the AlexNet convolutions come from torchvision's ImageNet
weights, which torchvision would download at first use. We never let that happen silently and never
score with a random backbone: the backbone file is resolved, in order, from
  1. `$LPIPS_ALEXNET` (a path to a state dict with `features.{0,3,6,8,10}.weight|bias`),
  2. torchvision's cache `$TORCH_HOME/hub/checkpoints/alexnet-owt-7be5be79.pth` (default TORCH_HOME
     `~/.cache/torch`),
  3. the copy shipped with the project: the convolutions inside `models/weights/lpips/alex_v0.1.npz` (the
     one file the Keras LPIPS loss of models/lpips_loss.py reads too; provenance in its README), turned
     back into torch layout here,
  4. `../shared/lpips/alexnet_features.pth` beside the repository (development machines),
then loaded into `lpips.LPIPS(net='alex', pnet_rand=True)` and checked tensor by tensor. When none is
present `load_lpips()` raises `LPIPSUnavailable` whose message says why; callers report LPIPS as
unavailable with that reason.

Value range, stated once: `LPIPSMetric.__call__` takes two uint8 RGB H x W x 3 images (the project's
contract) and maps them to [-1, 1] itself. Lower is better; 0 for identical images.

torch is imported lazily and only after `sys.modules["triton"] = None`: torchvision imported after
TensorFlow otherwise segfaults (triton's LLVM clashes with TF's).
"""

import os
import sys
import warnings
from pathlib import Path

import numpy as np

TORCHVISION_FILE = "alexnet-owt-7be5be79.pth"
BUNDLED_FILE = Path(__file__).resolve().parent.parent / "models" / "weights" / "lpips" / "alex_v0.1.npz"
SHARED_FILE = Path(__file__).resolve().parent.parent.parent / "shared" / "lpips" / "alexnet_features.pth"
FEATURE_LAYERS = (0, 3, 6, 8, 10)  # AlexNet convs inside torchvision's `features`


class LPIPSUnavailable(RuntimeError):
    """No real AlexNet backbone could be found or loaded; the message says why."""


def _torch_home():
    if os.environ.get("TORCH_HOME"):
        return Path(os.environ["TORCH_HOME"])
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "torch" if xdg else Path.home() / ".cache" / "torch"


def backbone_candidates():
    """(source label, path) in the order they are tried."""
    candidates = []
    if os.environ.get("LPIPS_ALEXNET"):
        candidates.append(("$LPIPS_ALEXNET", Path(os.environ["LPIPS_ALEXNET"])))
    candidates.append(("torchvision cache", _torch_home() / "hub" / "checkpoints" / TORCHVISION_FILE))
    candidates.append(("bundled copy", BUNDLED_FILE))
    candidates.append(("shared development copy", SHARED_FILE))
    return candidates


def find_backbone():
    """The first existing backbone file as (label, path), or raise LPIPSUnavailable listing what was tried."""
    tried = []
    for label, path in backbone_candidates():
        if path.is_file():
            return label, path
        tried.append(f"{label}: {path}")
        if label == "$LPIPS_ALEXNET":  # an explicit path that is wrong is an error, not a fallback
            raise LPIPSUnavailable(f"$LPIPS_ALEXNET points to {path}, which does not exist")
    raise LPIPSUnavailable("AlexNet backbone weights not found (tried " + "; ".join(tried) + "). "
                           "Set LPIPS_ALEXNET to torchvision's alexnet-owt-7be5be79.pth or run once "
                           "online so torchvision caches it.")


def _import_torch():
    sys.modules.setdefault("triton", None)  # see the module docstring
    import torch

    return torch


def _read_backbone(path, torch):
    """A state dict with features.{i}.weight|bias from a torch file or the shipped npz (HWIO kernels)."""
    if Path(path).suffix != ".npz":
        return torch.load(path, map_location="cpu", weights_only=True)
    with np.load(path) as data:
        state = {}
        for k, i in enumerate(FEATURE_LAYERS):
            if f"conv{k}_kernel" not in data.files:
                raise LPIPSUnavailable(f"{path} lacks conv{k}_kernel: not the lab's LPIPS weights file")
            kernel = data[f"conv{k}_kernel"].transpose(3, 2, 0, 1)  # (kh, kw, in, out) -> (out, in, kh, kw)
            state[f"features.{i}.weight"] = torch.from_numpy(np.ascontiguousarray(kernel))
            state[f"features.{i}.bias"] = torch.from_numpy(np.array(data[f"conv{k}_bias"]))
        return state


def _load_backbone(net, state, torch):
    """Copy features.{i}.weight|bias into net.net.slice{k}.{i}; verify every tensor landed."""
    modules = {}
    for k in range(1, net.net.N_slices + 1):
        for name, module in getattr(net.net, f"slice{k}").named_children():
            modules[int(name)] = module
    loaded = 0
    for i in FEATURE_LAYERS:
        for part in ("weight", "bias"):
            key = f"features.{i}.{part}"
            if key not in state:
                raise LPIPSUnavailable(f"backbone file lacks {key}: not torchvision's AlexNet")
            target = getattr(modules[i], part)
            source = state[key].to(dtype=target.dtype)
            if tuple(source.shape) != tuple(target.shape):
                raise LPIPSUnavailable(f"backbone tensor {key} has shape {tuple(source.shape)}, "
                                       f"AlexNet needs {tuple(target.shape)}")
            with torch.no_grad():
                target.copy_(source)
            if not torch.equal(target, source):
                raise LPIPSUnavailable(f"backbone tensor {key} did not load")
            loaded += 1
    return loaded


class LPIPSMetric:
    """Callable (uint8 RGB, uint8 RGB) -> LPIPS distance, with the real AlexNet backbone."""

    def __init__(self, backbone_path=None, source=None):
        torch = _import_torch()
        import lpips

        self.torch = torch
        if backbone_path is None:
            source, backbone_path = find_backbone()
        self.source, self.path = source or "given path", Path(backbone_path)
        try:
            state = _read_backbone(self.path, torch)
        except LPIPSUnavailable:
            raise
        except Exception as exc:  # torch raises several unrelated types for a bad file
            raise LPIPSUnavailable(f"could not read the AlexNet backbone {self.path}: {exc}") from None
        with warnings.catch_warnings():  # torchvision's "pretrained is deprecated" from inside lpips
            warnings.simplefilter("ignore", UserWarning)
            self.net = lpips.LPIPS(net="alex", version="0.1", pretrained=True, pnet_rand=True,
                                   verbose=False)
        self.tensors_loaded = _load_backbone(self.net, state, torch)
        self.net.eval()

    def _tensor(self, image):
        arr = np.asarray(image)
        if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
            raise ValueError(f"LPIPS takes uint8 RGB H x W x 3 images. Received {arr.dtype} {arr.shape}")
        x = self.torch.from_numpy(arr.astype(np.float32) / 127.5 - 1.0)
        return x.permute(2, 0, 1).unsqueeze(0)

    def __call__(self, a, b):
        if np.shape(a) != np.shape(b):
            raise ValueError(f"LPIPS compares images of one shape. Received {np.shape(a)} vs {np.shape(b)}")
        with self.torch.no_grad():
            return float(self.net(self._tensor(a), self._tensor(b)).item())

    def describe(self):
        return f"LPIPS v0.1 alex, backbone from {self.source} ({self.path})"


def load_lpips():
    """An LPIPSMetric, or raise LPIPSUnavailable with the reason."""
    try:
        _import_torch()  # first: lpips imports torchvision
        import lpips  # noqa: F401  (the package, not the weights)
    except ImportError as exc:
        raise LPIPSUnavailable(f"torch or the lpips package is not installed ({exc})") from None
    return LPIPSMetric()


def try_load_lpips():
    """(metric, None) or (None, reason): for runners that carry on without LPIPS."""
    try:
        return load_lpips(), None
    except LPIPSUnavailable as exc:
        return None, f"LPIPS unavailable: {exc}"
