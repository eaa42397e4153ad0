"""Losses of the training loop, on float32 BGR images in [-1, 1] (N, H, W, 3), per image (N,), any backend.

SSIM: Wang et al. (11x11 Gaussian, sigma 1.5, valid windows), checked against scikit-image; LPIPS: the
metric's AlexNet as a Keras network (`models.lpips_loss`).
"""

import numpy as np


def _gaussian_kernel(size=11, sigma=1.5, channels=3):
    g = np.exp(-((np.arange(size) - size // 2) ** 2) / (2 * sigma**2))
    k2 = np.outer(g, g) / np.outer(g, g).sum()
    return np.repeat(k2[:, :, None, None], channels, axis=2).astype("float32")  # (k, k, C, 1)


def ssim(y_true, y_pred):
    """Per-image mean SSIM (Wang et al.; 11x11 Gaussian, sigma 1.5, valid windows) of [-1, 1] images."""
    from keras import ops

    kernel = ops.convert_to_tensor(_gaussian_kernel())
    y_true, y_pred = _tensors(y_true, y_pred)
    a, b = (y_true + 1.0) * 0.5, (y_pred + 1.0) * 0.5  # data range 1
    c1, c2 = 0.01**2, 0.03**2

    def blur(x):
        return ops.depthwise_conv(x, kernel, strides=1, padding="valid")

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a * mu_a
    var_b = blur(b * b) - mu_b * mu_b
    cov = blur(a * b) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return ops.mean(s, axis=(1, 2, 3))


def _tensors(y_true, y_pred):
    """Both as backend float32 tensors (metrics get NumPy targets on the torch backend)."""
    from keras import ops

    return ops.convert_to_tensor(y_true, "float32"), ops.convert_to_tensor(y_pred, "float32")


def l1(y_true, y_pred):
    from keras import ops

    y_true, y_pred = _tensors(y_true, y_pred)
    return ops.mean(ops.abs(y_true - y_pred), axis=(1, 2, 3))


def image_loss(l1_weight, ssim_weight, lpips_weight=0.0):
    """Per-image l1_weight * L1 + ssim_weight * (1 - SSIM) + lpips_weight * LPIPS (BGR [-1, 1])."""
    if lpips_weight:
        from models.lpips_loss import get_lpips, lpips_distance

        get_lpips()  # build the AlexNet once, before any traced step

    def loss(y_true, y_pred):
        total = 0.0
        if l1_weight:
            total = total + l1_weight * l1(y_true, y_pred)
        if ssim_weight:
            total = total + ssim_weight * (1.0 - ssim(y_true, y_pred))
        if lpips_weight:
            total = total + lpips_weight * lpips_distance(*_tensors(y_true, y_pred))
        return total

    return loss
