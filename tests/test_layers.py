import numpy as np
import pytest

from models.layers import GuidedFilter, LegacyBilinearUpsample2x


def numpy_box_mean(x, r):
    """Mean over the (2r+1)^2 window, counting only pixels inside the image."""
    h, w = x.shape[1:3]
    out = np.zeros_like(x, dtype=np.float64)
    for i in range(h):
        for j in range(w):
            win = x[:, max(0, i - r): i + r + 1, max(0, j - r): j + r + 1]
            out[:, i, j] = win.mean(axis=(1, 2))
    return out


def numpy_guided_filter(guide, src, r=1, eps=1e-2):
    mean_x, mean_y = numpy_box_mean(guide, r), numpy_box_mean(src, r)
    cov = numpy_box_mean(guide * src, r) - mean_x * mean_y
    var = numpy_box_mean(guide * guide, r) - mean_x**2
    a = cov / (var + eps)
    b = mean_y - a * mean_x
    return numpy_box_mean(a, r) * guide + numpy_box_mean(b, r)


def test_legacy_resize_matches_tf1_resize_bilinear(rng):
    tf = pytest.importorskip("tensorflow")
    x = rng.normal(size=(2, 5, 7, 3)).astype("float32")
    ours = np.asarray(LegacyBilinearUpsample2x()(x))
    ref = tf.compat.v1.image.resize_bilinear(x, (10, 14), align_corners=False, half_pixel_centers=False)
    np.testing.assert_allclose(ours, ref.numpy(), atol=1e-6)


def test_legacy_resize_is_not_half_pixel(rng):
    x = rng.normal(size=(1, 4, 4, 1)).astype("float32")
    ours = np.asarray(LegacyBilinearUpsample2x()(x))
    np.testing.assert_array_equal(ours[0, ::2, ::2], x[0])  # even outputs copy the source exactly


def test_guided_filter_matches_numpy_reference(rng):
    guide = rng.uniform(-1, 1, size=(2, 9, 6, 3))
    src = rng.uniform(-1, 1, size=(2, 9, 6, 3))
    ours = np.asarray(GuidedFilter(radius=1, eps=1e-2)([guide.astype("float32"), src.astype("float32")]))
    np.testing.assert_allclose(ours, numpy_guided_filter(guide, src), atol=2e-5)
