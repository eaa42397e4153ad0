"""Start a student from the teacher refitted to the teacher's activations on portraits (init "fit").

`init_from_teacher` slices the teacher's kernels to the channels a student keeps. A narrowed layer then
feeds its successor a fraction of what the successor's kernel was made for (a block with 16 of its 128
inner channels adds about an eighth of its correction to the stream), and the errors compound through 17
convs: a 3x bottleneck student starts near 11 dB. Here every conv, in execution order, is refitted by
least squares so that on calibration portraits it reproduces the teacher's pre-activation output at its
kept channels from the student's OWN inputs (what the already-refitted, narrowed layers before it produce):
the reconstruction step of channel pruning (He, Zhang and Sun, ICCV 2017; ThiNet, Luo et al. 2017) applied
layer after layer, so each layer also absorbs what the layers before it got wrong. A residual block's
second conv is fitted to what the student's stream is missing (the teacher's stream after that block, or
after the teacher's last block for the student's last one, minus the student's stream before it), so a
student with fewer blocks starts with its last block standing in for the ones it dropped.
"""

import numpy as np

from models.dctnet import kernel_size, layer_names, stride
from models.students import init_from_teacher, kept_channels
from models.validation import require

FIT_IMAGES = 16  # calibration portraits at 512 px, as the activation-fitted SVD uses
FIT_SIZE = 512
SAMPLES_PER_IMAGE = 2048  # output positions per photo and layer; 16 photos give 32 k rows for <= 1153 unknowns
RIDGE = 1e-3  # Tikhonov weight relative to the mean diagonal of the normal matrix


def same_padding(size, k, s):
    """Rows (or columns) TensorFlow's padding="same" adds before the input."""
    out = -(-size // s)
    return max((out - 1) * s + k - size, 0) // 2


def conv_patches(x, k, s, positions):
    """(len(positions), k*k*C) input patches of a k x k, stride-s "same" conv on x (H, W, C) at output
    positions (n, 2), flattened in the order of kernel.reshape(-1, Cout)."""
    h, w, c = x.shape
    top, left = same_padding(h, k, s), same_padding(w, k, s)
    padded = np.pad(x, ((top, k), (left, k), (0, 0)))  # the far side: generous zeros, never read past
    rows = positions[:, 0, None] * s + np.arange(k)[None]  # (n, k)
    cols = positions[:, 1, None] * s + np.arange(k)[None]
    return padded[rows[:, :, None], cols[:, None, :]].reshape(len(positions), k * k * c)


def solve_ridge(gram, cross, ridge=RIDGE):
    """argmin_W |A W - Y|^2 + ridge * mean(diag(A^T A)) |W|^2 from gram = A^T A and cross = A^T Y."""
    lam = ridge * np.mean(np.diag(gram))
    return np.linalg.solve(gram + lam * np.eye(len(gram)), cross)


def _stream_target_block(student_block, student_blocks, teacher_blocks):
    """The teacher block whose output stream the student's block is fitted to reach."""
    return teacher_blocks - 1 if student_block == student_blocks - 1 else student_block


def fit_from_teacher(student, arch, teacher, batches, samples_per_image=SAMPLES_PER_IMAGE, seed=0,
                     teacher_blocks=4, progress=None):
    """Initialise `student` (plain convs, the architecture `arch`) from `teacher` and refit every conv to
    the teacher's activations on `batches` ((1, H, W, 3) float32 BGR [-1, 1] arrays). Returns the student.
    `progress(done, total)` is called after each layer."""
    import keras

    nb = arch.num_blocks
    names = layer_names(nb)
    not_plain = {n: arch.kind(n) for n in names if arch.kind(n) != "conv"}
    require(not not_plain, "architecture kinds", not_plain,
            "must all be plain convs for init 'fit' (use init 'teacher' for separable students)")
    require(len(batches) >= 1, "calibration photos", len(batches), "must be >= 1")
    init_from_teacher(student, arch, teacher, teacher_blocks=teacher_blocks)
    keep = kept_channels(arch, teacher, teacher_blocks)
    conv2 = {f"block_{i}_conv2": i for i in range(nb)}
    # Targets: the teacher's pre-activation output of each conv at its kept channels, or, for a block's
    # conv2, the teacher's stream after the matching block (at the kept stream channels).
    sources = [teacher.get_layer(f"block_{_stream_target_block(conv2[n], nb, teacher_blocks)}_add").output
               if n in conv2 else teacher.get_layer(n).output for n in names]
    teacher_probe = keras.Model(teacher.inputs, sources)
    rng = np.random.default_rng(seed)
    positions, targets = {n: [] for n in names}, {n: [] for n in names}
    for batch in batches:
        for name, y in zip(names, teacher_probe.predict(batch, verbose=0)):
            y = y[0]
            pos = np.stack([rng.integers(0, y.shape[0], samples_per_image),
                            rng.integers(0, y.shape[1], samples_per_image)], axis=1)
            positions[name].append(pos)
            targets[name].append(y[pos[:, 0], pos[:, 1]][:, keep[name]].astype(np.float64))
    for done, name in enumerate(names, 1):
        layer = student.get_layer(name)
        k, s = kernel_size(name), stride(name)
        inputs = [layer.input] + ([student.get_layer(f"block_{conv2[name]}_add").input[0]] if name in conv2 else [])
        probe = keras.Model(student.inputs, inputs)
        gram, cross = 0.0, 0.0
        for batch, pos, y in zip(batches, positions[name], targets[name]):
            seen = probe.predict(batch, verbose=0)
            seen = seen if isinstance(seen, (list, tuple)) else [seen]
            a = conv_patches(seen[0][0], k, s, pos).astype(np.float64)
            a = np.concatenate([a, np.ones((len(a), 1))], axis=1)  # the bias column
            if name in conv2:  # what the stream lacks: teacher stream minus the student's stream before the block
                y = y - seen[1][0][pos[:, 0], pos[:, 1]]
            gram, cross = gram + a.T @ a, cross + a.T @ y
        solution = solve_ridge(gram, cross)
        kernel, bias = layer.get_weights()
        layer.set_weights([solution[:-1].reshape(kernel.shape).astype(np.float32),
                           solution[-1].astype(np.float32)])
        if progress:
            progress(done, len(names))
    return student


def fit_start(student, arch, teacher, images=FIT_IMAGES, portraits_dir=None, progress=True):
    """`fit_from_teacher` on the first `images` calibration portraits at 512 px (never the evaluation
    split), with a progress bar; too few portraits is an error that names the fix."""
    from models.export import calibration_batches
    from models.training_data import progress_bar

    require(isinstance(images, int) and images >= 1, "fit_images", images, "must be an int >= 1")
    try:
        batches = calibration_batches(images, FIT_SIZE, portraits_dir=portraits_dir)
    except ValueError as e:
        raise ValueError(f"init 'fit' needs {images} calibration portraits: {e}. Lower fit_images "
                         "(--fit-images), or point $DCTNET_PORTRAITS at a folder of portraits") from None
    bar = progress_bar(len(layer_names(arch.num_blocks)), "fitting the start to the teacher", progress)

    def advance(done, total):
        bar.update(done - bar.n)

    try:
        return fit_from_teacher(student, arch, teacher, batches, progress=advance)
    finally:
        bar.close()
