"""The two fixed (non-learned) operations of DCT-Net, written with backend-agnostic `keras.ops`.

Both must match the official TF1 graph bit for bit in structure, and both must export to TFLite with
dynamic height/width, so they use only slicing, concatenation, reshape and depthwise convolution.
"""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="dctnet")
class LegacyBilinearUpsample2x(keras.layers.Layer):
    """x2 bilinear resize with TF1's legacy sampling (align_corners=False, half_pixel_centers=False).

    Output pixel i samples source coordinate i / 2, so even outputs copy a source pixel and odd outputs
    average it with the next one; the last odd output repeats the edge. Keras' `UpSampling2D` and
    `ops.image.resize` use half-pixel centres instead, which shifts the image by a quarter pixel.
    """

    def call(self, x):
        x = self._double_axis(x, axis=1)
        return self._double_axis(x, axis=2)

    @staticmethod
    def _double_axis(x, axis):
        if axis == 1:
            nxt = ops.concatenate([x[:, 1:], x[:, -1:]], axis=1)
        else:
            nxt = ops.concatenate([x[:, :, 1:], x[:, :, -1:]], axis=2)
        odd = (x + nxt) * 0.5
        # (B, H, W, C) -> (B, H, 2, W, C) or (B, H, W, 2, C), then merge the pair into the axis.
        pair = ops.stack([x, odd], axis=axis + 1)
        shape = ops.shape(x)
        if axis == 1:
            return ops.reshape(pair, (-1, shape[1] * 2, shape[2], shape[3]))
        return ops.reshape(pair, (-1, shape[1], shape[2] * 2, shape[3]))

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        return (b, None if h is None else 2 * h, None if w is None else 2 * w, c)


@keras.saving.register_keras_serializable(package="dctnet")
class GuidedFilter(keras.layers.Layer):
    """Fast guided filter (He et al.) with a (2r+1)^2 box, as DCT-Net applies to its output.

    call([guide, src]): both (B, H, W, 3) in [-1, 1]; the box mean divides by the number of pixels
    inside the image (so borders are not darkened), exactly like the official `tf_box_filter / N`.
    """

    def __init__(self, radius=1, eps=1e-2, **kwargs):
        super().__init__(**kwargs)
        self.radius = int(radius)
        self.eps = float(eps)

    def _box(self, x):
        k = 2 * self.radius + 1
        channels = x.shape[-1]
        kernel = np.full((k, k, channels, 1), 1.0 / (k * k), dtype="float32")
        return ops.depthwise_conv(x, ops.cast(kernel, x.dtype), strides=1, padding="same")

    def call(self, inputs):
        guide, src = inputs
        norm = self._box(ops.ones_like(guide[..., :1]))  # fraction of the window inside the image
        mean_x = self._box(guide) / norm
        mean_y = self._box(src) / norm
        cov_xy = self._box(guide * src) / norm - mean_x * mean_y
        var_x = self._box(guide * guide) / norm - mean_x * mean_x
        a = cov_xy / (var_x + self.eps)
        b = mean_y - a * mean_x
        return self._box(a) / norm * guide + self._box(b) / norm

    def get_config(self):
        return {**super().get_config(), "radius": self.radius, "eps": self.eps}
