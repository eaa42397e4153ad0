"""Fitting a photo to the size a purpose needs: one function per purpose, one resampling rule.

The rule, for every purpose: cv2.INTER_AREA when shrinking (averages the pixels a photo loses, as the
official pipeline shrinks), cv2.INTER_CUBIC when enlarging. uint8 RGB H x W x 3 in and out.

- `square_input(rgb, size)`: measuring and calibrating. Centre crop to the largest square, then resize
  to size x size. Every variant of an evaluation (evaluation.runner), the registry's sample cartoons and
  the INT8 calibration batches (models.export) see exactly this array at this size.
- `shrink_to_serve(rgb, max_side)`: serving. Short side <= max_side, aspect kept, never enlarged: the
  shrink step of the official pipeline (models.processing.Cartoonizer) and the working size of the
  dashboard's Compare and Blind rating pages, so every variant and the original see the same pixels.
- Training and its validation scale with models.portraits.resize_short_side (short side -> side by the
  same rule, then cut to a multiple of 4).
"""

import cv2
import numpy as np


def _interpolation(src_side, dst_side):
    return cv2.INTER_AREA if src_side > dst_side else cv2.INTER_CUBIC


def square_input(rgb, size):
    """A photo as a size x size input for measuring and calibrating: centre crop, then resize."""
    h, w = rgb.shape[:2]
    side = min(h, w)
    y0, x0 = (h - side) // 2, (w - side) // 2
    crop = rgb[y0:y0 + side, x0:x0 + side]
    if side == size:
        return np.ascontiguousarray(crop)
    return cv2.resize(crop, (size, size), interpolation=_interpolation(side, size))


def shrink_to_serve(rgb, max_side):
    """A photo at its serving size: short side <= max_side (None: unchanged), aspect kept."""
    from models.processing import shrink_size

    h, w = rgb.shape[:2]
    nh, nw = shrink_size(h, w, max_side)
    if (nh, nw) == (h, w):
        return rgb
    return cv2.resize(rgb, (nw, nh), interpolation=_interpolation(min(h, w), min(nh, nw)))
