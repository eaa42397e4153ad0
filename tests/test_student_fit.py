"""The "fit" start of a student (models/student_fit.py): patches against Keras's own convolution, the
teacher recovered exactly at full width, a narrow student's start far above sliced kernels, bad input."""

import numpy as np
import pytest

from models.samples import SAMPLES_DIR
from tests.conftest import shared_or_skip


def _conv(x, kernel, bias, stride):
    import keras

    return np.asarray(keras.ops.conv(x, kernel, strides=stride, padding="same")) + bias


@pytest.mark.parametrize("k,s,h,w", [(3, 1, 20, 26), (7, 1, 20, 26), (3, 2, 20, 26), (3, 2, 21, 27)])
def test_patches_times_kernel_is_keras_same_conv(rng, k, s, h, w):
    from models.student_fit import conv_patches

    x = rng.normal(0, 1, (h, w, 5)).astype("float32")
    kernel, bias = rng.normal(0, 0.3, (k, k, 5, 4)).astype("float32"), rng.normal(0, 1, 4).astype("float32")
    y = _conv(x[None], kernel, bias, s)[0]
    rows, cols = np.meshgrid(np.arange(y.shape[0]), np.arange(y.shape[1]), indexing="ij")
    positions = np.stack([rows.ravel(), cols.ravel()], axis=1)  # every output pixel, borders included
    ours = conv_patches(x, k, s, positions) @ kernel.reshape(-1, 4) + bias
    np.testing.assert_allclose(ours, y.reshape(-1, 4), atol=1e-4)


def test_ridge_solution_is_numpy_least_squares(rng):
    from models.student_fit import solve_ridge

    a, y = rng.normal(0, 1, (500, 12)), rng.normal(0, 1, (500, 3))
    expected = np.linalg.lstsq(a, y, rcond=None)[0]
    np.testing.assert_allclose(solve_ridge(a.T @ a, a.T @ y, ridge=0.0), expected, atol=1e-8)


def _photos(count, size):
    from models.fitting import square_input
    from models.images import load_image
    from models.portraits import list_images
    from models.processing import to_network

    names = list_images(SAMPLES_DIR)[:count]
    return [to_network(square_input(load_image(SAMPLES_DIR / n), size))[None] for n in names]


def _psnr(model, teacher, batches):
    from tests.conftest import psnr_uint8

    def grey(y):
        return np.clip(np.round((y + 1) * 127.5), 0, 255).astype(np.uint8)

    return np.mean([psnr_uint8(grey(model.predict(b, verbose=0)), grey(teacher.predict(b, verbose=0)))
                    for b in batches])


def test_full_width_fit_reproduces_the_teacher(anime_model):
    from models.students import StudentSpec, build_student
    from models.student_fit import fit_from_teacher

    student, arch = build_student(StudentSpec("slim", 32, 4), seed=0)  # the teacher's own shape
    fit_from_teacher(student, arch, anime_model, _photos(2, 256), samples_per_image=4096)
    assert _psnr(student, anime_model, _photos(4, 128)[2:]) > 40  # photos it was not fitted on


def _portraits(role, count, size):
    from models.fitting import square_input
    from models.images import load_image
    from models.portraits import portrait_files
    from models.processing import to_network

    files = portrait_files(role, shared_or_skip("portraits"))[:count]
    return [to_network(square_input(load_image(f), size))[None] for f in files]


def test_fit_start_beats_sliced_kernels_on_unseen_portraits(anime_model):
    from models.students import StudentSpec, build_student, init_from_teacher
    from models.student_fit import fit_from_teacher

    spec = StudentSpec("trunk", 12, 2)
    fitted, arch = build_student(spec, seed=0)
    sliced, _ = build_student(spec, seed=0)
    init_from_teacher(sliced, arch, anime_model)
    fit_from_teacher(fitted, arch, anime_model, _portraits("calibration", 4, 384), samples_per_image=4096)
    unseen = _portraits("evaluation", 3, 384)
    gain = _psnr(fitted, anime_model, unseen) - _psnr(sliced, anime_model, unseen)
    assert gain > 3  # measured at 512 px, 16 fit / 6 evaluation portraits: 14.3 -> 20.3 dB


def test_fit_start_names_bad_input(anime_model):
    from models.students import StudentSpec, build_student
    from models.student_fit import fit_from_teacher, fit_start

    separable, arch = build_student(StudentSpec("separable", 16, 2))
    with pytest.raises(ValueError, match="plain convs"):
        fit_from_teacher(separable, arch, anime_model, _photos(1, 64))
    student, arch = build_student(StudentSpec("trunk", 12, 2))
    with pytest.raises(ValueError, match=r"fit_images.*DCTNET_PORTRAITS"):
        fit_start(student, arch, anime_model, images=10_000, progress=False)
