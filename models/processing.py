"""The official DCT-Net full-image processing contract, behind one class.

uint8 RGB photo -> (shrink so the short side is <= max_side, cv2 INTER_AREA, as the official
pipeline does) -> pad with white to a multiple of 16 -> BGR in [-1, 1] -> network -> clip to
+-0.999999 -> (y + 1) * 127.5 truncated to uint8 -> crop the padding -> restore the input's size.
The network is any callable taking and returning float32 BGR (N, H, W, 3) batches, so the same
contract wraps a Keras model, a LiteRT interpreter or a compressed variant.
"""

from dataclasses import dataclass

import cv2
import numpy as np

from models.fitting import shrink_to_serve
from models.images import ImageError, check_array

PAD_MULTIPLE = 16
CLIP = 0.999999  # keeps (y + 1) * 127.5 below 255 so truncation never wraps


@dataclass(frozen=True)
class ProcessingConfig:
    max_side: int | None = 720  # short side limit; None keeps the photo's size
    max_network_pixels: int = 8_400_000  # ~2900 x 2900: above that activations need many GB

    def __post_init__(self):
        if self.max_side is not None and (not isinstance(self.max_side, int) or self.max_side < 16):
            raise ValueError(f"max_side must be an int >= 16 or None. Received: max_side={self.max_side!r}")


def shrink_size(h, w, max_side):
    """Official `resize_size`: scale so the short side is max_side, only when it is larger."""
    if max_side is None or min(h, w) <= max_side:
        return h, w
    if h > w:
        return int(max_side * h / w), max_side
    return max_side, int(max_side * w / h)


def pad_to_multiple(image, multiple=PAD_MULTIPLE, value=255):
    h, w = image.shape[:2]
    nh, nw = -(-h // multiple) * multiple, -(-w // multiple) * multiple
    if (nh, nw) == (h, w):
        return image
    out = np.full((nh, nw, 3), value, dtype=image.dtype)
    out[:h, :w] = image
    return out


def to_network(rgb):
    """uint8 RGB (..., 3) -> float32 BGR in [-1, 1]."""
    return rgb[..., ::-1].astype(np.float32) / 127.5 - 1.0


def from_network(bgr):
    """Network output (float BGR about [-1, 1]) -> uint8 RGB, truncated like the official cast."""
    y = (np.clip(np.asarray(bgr, dtype=np.float32), -CLIP, CLIP) + 1.0) * 127.5
    return y.astype(np.uint8)[..., ::-1]


class Cartoonizer:
    """Apply a DCT-Net network to photos with the official pre- and post-processing."""

    def __init__(self, network, config=ProcessingConfig()):
        self.network = network
        self.config = config

    def prepare(self, images):
        """uint8 RGB photos of one size -> (padded BGR batch, working (h, w), original (h, w))."""
        images = [check_array(im, f"image {i}") for i, im in enumerate(images)]
        shapes = {im.shape for im in images}
        if len(shapes) != 1:
            raise ImageError(f"A batch needs photos of one size; received sizes {sorted(shapes)}. "
                             "Process them one at a time instead.")
        h, w = images[0].shape[:2]
        sh, sw = shrink_size(h, w, self.config.max_side)
        padded_pixels = (-(-sh // PAD_MULTIPLE) * PAD_MULTIPLE) * (-(-sw // PAD_MULTIPLE) * PAD_MULTIPLE)
        if padded_pixels > self.config.max_network_pixels:
            raise ImageError(f"A {w}x{h} photo would run the network on {padded_pixels / 1e6:.1f} MP, "
                             f"above the {self.config.max_network_pixels / 1e6:.1f} MP memory limit; "
                             "set max_side (e.g. 720) to shrink it first.")
        images = [shrink_to_serve(im, self.config.max_side) for im in images]  # models.fitting's rule
        batch = np.stack([to_network(pad_to_multiple(im)) for im in images])
        return batch, (sh, sw), (h, w)

    def finish(self, outputs, work_size, original_size):
        (sh, sw), (h, w) = work_size, original_size
        results = []
        for out in outputs:
            rgb = from_network(out)[:sh, :sw]
            if (sh, sw) != (h, w):
                rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_LINEAR)
            results.append(np.ascontiguousarray(rgb))
        return results

    def batch(self, images):
        """Several uint8 RGB photos of one size -> their cartoons, each at its input size."""
        batch, work, original = self.prepare(images)
        return self.finish(np.asarray(self.network(batch)), work, original)

    def __call__(self, image):
        return self.batch([image])[0]


def keras_network(model):
    """Wrap a Keras model as a contract network (inference mode, NumPy out)."""

    def run(batch):
        return np.asarray(model(batch, training=False))

    return run
