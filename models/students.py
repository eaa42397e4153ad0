"""Distillation students: smaller DCT-Nets with the teacher's contract, layer names and guided filter.

Two families, both built by `models.dctnet.build_generator`, so MAC counting, TFLite export and every
downstream tool treat a student like any other variant:
- "slim": every conv at a base width (official 32; students 16 or 24) with 2..4 residual blocks.
- "trunk": the full-resolution layers (Conv, Conv_8, Conv_9), the x0 skip (Conv_7) and Conv_1 keep
  the teacher's 32 channels; the half- and quarter-resolution layers (x1 = 2 x width, trunk = 4 x
  width) and the residual blocks shrink. DCT-Net's full-resolution decoder is its fragile part
  (docs/compression.md: Conv_8 at 97 % SVD energy alone costs 13.7 dB) while the quarter-resolution
  trunk holds ~60 % of the MACs, so this family spends the budget where the quality is.
- "separable": depthwise 3x3 + pointwise 1x1 (`SeparableConv2D`) in the trunk and the decoder; the
  first (Conv, 7x7 on the photo) and last (Conv_9, 7x7 to BGR) stay standard convs, as AnimeGANv2's
  8 MB model does (S2).
- "bottleneck": the quarter-resolution residual stream (Conv_4 and every block's conv2) keeps the
  teacher's 128 channels and all its blocks; only each block's inner conv (conv1 -> conv2) narrows to
  `inner` channels, and the full- and half-resolution layers scale to the base width. It is the student
  form of the pruning that measured best (`PruneConfig.inner_ratio`: 2.7 dB above trunk pruning at the
  same MACs, docs/compression.md), so it starts from almost all of the teacher's trunk.
- "fullres": both ends of the teacher kept, the middle thinned: the full-resolution layers at the
  teacher's 32 channels (as "trunk": a 3x trunk student started by least squares, `models.student_fit`,
  is at 20.6 dB before training where the bottleneck, whose full-resolution layers narrow, is at 16.9)
  and the 128-channel residual stream with all 4 blocks (as "bottleneck": the capacity a 3x trunk student
  lacks); the half-resolution layers scale to 2 x width and the blocks' inner convs to `inner`.

Shipped students live in `models/weights/students/<name>.weights.h5` with `<name>.json` (architecture,
training config and metadata); `load_student(name)` returns a `KerasVariant`.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from models.validation import require
from models.variant import KerasVariant
from models.dctnet import Architecture, block_layer_names, build_generator, coupled_groups, layer_names, \
    uniform_channels

FAMILIES = ("slim", "separable", "trunk", "bottleneck", "fullres")
INNER_FAMILIES = ("bottleneck", "fullres")  # the families whose blocks' inner width is set apart
INITS = ("teacher", "fit", "random")  # how a student starts: sliced teacher kernels, those refitted, noise
TEACHER_WIDTH = 32
FULL_RES_LAYERS = ("Conv", "Conv_1", "Conv_7", "Conv_8")  # kept at the teacher's width in "trunk"
STANDARD_LAYERS = ("Conv", "Conv_9")  # kept as full convs in the separable family
STUDENTS_DIR = Path(__file__).resolve().parent / "weights" / "students"


@dataclass(frozen=True)
class StudentSpec:
    family: str = "slim"
    width: int = 16
    blocks: int = 2
    inner: int = 0  # bottleneck only: each residual block's inner width (0 for the other families)

    def __post_init__(self):
        require(self.family in FAMILIES, "family", self.family, f"must be one of {FAMILIES}")
        require(isinstance(self.width, int) and 4 <= self.width <= 64, "width", self.width,
                "must be an int in [4, 64] (the teacher's base width is 32)")
        require(isinstance(self.blocks, int) and 0 <= self.blocks <= 4, "blocks", self.blocks,
                "must be an int in [0, 4] (the teacher has 4 residual blocks)")
        if self.family in INNER_FAMILIES:
            require(isinstance(self.inner, int) and 4 <= self.inner <= 4 * TEACHER_WIDTH, "inner", self.inner,
                    f"must be an int in [4, {4 * TEACHER_WIDTH}] for a {self.family} student (its blocks' "
                    "inner width; the teacher's is 128)")
        else:
            require(self.inner == 0, "inner", self.inner,
                    f"is only for the bottleneck and fullres families; leave it 0 for {self.family!r}")

    @property
    def name(self):
        base = f"{self.family}-w{self.width}-b{self.blocks}"
        return f"{base}-i{self.inner}" if self.family in INNER_FAMILIES else base


def student_architecture(spec):
    channels = uniform_channels(spec.width, spec.blocks)
    if spec.family in ("trunk", "fullres"):
        channels.update({n: TEACHER_WIDTH for n in FULL_RES_LAYERS})
    if spec.family in INNER_FAMILIES:
        stream = coupled_groups(spec.blocks)["trunk"]
        channels.update({n: 4 * TEACHER_WIDTH for n in stream})
        channels.update({n: spec.inner for n in block_layer_names(spec.blocks) if n.endswith("_conv1")})
    kinds = {}
    if spec.family == "separable":
        kinds = {n: "separable" for n in layer_names(spec.blocks) if n not in STANDARD_LAYERS}
    return Architecture(channels=channels, num_blocks=spec.blocks, kinds=kinds)


def build_student(spec, seed=None):
    """A freshly initialised student (deterministic when seed is given) and its architecture."""
    import keras

    if seed is not None:
        keras.utils.set_random_seed(seed)
    arch = student_architecture(spec)
    return build_generator(arch, name=spec.name.replace("-", "_")), arch


def shipped_students(folder=STUDENTS_DIR):
    """Names of the students whose weights are shipped."""
    return sorted(p.name[: -len(".weights.h5")] for p in Path(folder).glob("*.weights.h5")
                  if p.with_name(p.name[: -len(".weights.h5")] + ".json").exists())


def save_student(model, arch, path_stem, metadata=None):
    """<stem>.weights.h5 (stored as float16, see `store_float16`) + <stem>.json (architecture +
    metadata); both written then renamed into place."""
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    weights, meta = stem.with_name(stem.name + ".weights.h5"), stem.with_name(stem.name + ".json")
    tmp_w = stem.with_name(stem.name + ".tmp.weights.h5")
    model.save_weights(tmp_w)
    store_float16(tmp_w)
    tmp_m = meta.with_name(meta.name + ".tmp")
    tmp_m.write_text(json.dumps({"architecture": arch.to_dict(), **(metadata or {})}, indent=1) + "\n")
    tmp_w.replace(weights)
    tmp_m.replace(meta)
    return weights, meta


def store_float16(path):
    """Rewrite a Keras .weights.h5 with its float32 arrays stored as float16 (half the file; Keras casts
    them back to the float32 variables on load). The teacher's own weights are float16 (the official
    TFLite files), and a student's output from float16-stored weights is within 1 grey level of its
    float32 self (tested): the shipped files stay small enough for the repository to travel whole to a
    leased GPU machine (64 MiB a call) with training photos beside it."""
    import h5py
    import numpy as np

    path = Path(path)
    tmp = path.with_name(path.name + ".f16")

    def copy(src, dst):
        dst.attrs.update(dict(src.attrs))
        for key, item in src.items():
            if isinstance(item, h5py.Group):
                copy(item, dst.create_group(key))
            else:
                data = item[()]
                if isinstance(data, np.ndarray) and data.dtype == np.float32:
                    data = data.astype(np.float16)
                dst.create_dataset(key, data=data).attrs.update(dict(item.attrs))

    with h5py.File(path, "r") as src, h5py.File(tmp, "w") as dst:
        copy(src, dst)
    tmp.replace(path)
    return path


def load_student_file(path_stem, name=None):
    """A KerasVariant from <stem>.weights.h5 + <stem>.json."""
    stem = Path(path_stem)
    weights, meta = stem.with_name(stem.name + ".weights.h5"), stem.with_name(stem.name + ".json")
    for p in (weights, meta):
        if not p.exists():
            raise FileNotFoundError(f"student file {p} is missing (a student is <name>.weights.h5 + "
                                    "<name>.json)")
    info = json.loads(meta.read_text())
    arch = Architecture.from_dict(info["architecture"])
    name = name or stem.name
    model = build_generator(arch, name=name.replace("-", "_"))
    model.load_weights(weights)
    return KerasVariant(model=model, architecture=arch, name=f"student/{name}")


def load_student(name, folder=STUDENTS_DIR):
    """A shipped student by name (see `shipped_students()`), e.g. 'slim-w16-b2'."""
    available = shipped_students(folder)
    if name not in available:
        raise ValueError(f"Unknown student {name!r}. Shipped students: {', '.join(available) or 'none'}")
    return load_student_file(Path(folder) / name, name)


def student_metadata(name, folder=STUDENTS_DIR):
    return json.loads((Path(folder) / f"{name}.json").read_text())


# ------------------------------------------------------------------ initialising a student from the teacher

def _coupled_units(num_blocks):
    """Layer -> the unit whose output channels it shares (convs whose outputs are added together)."""
    unit = {n: n for n in layer_names(num_blocks)}
    for group, members in coupled_groups(num_blocks).items():
        for m in members:
            unit[m] = group
    return unit


def _input_layer(name, num_blocks):
    """The conv whose output channels feed `name` (None: the photo)."""
    names = layer_names(num_blocks)
    if name == "Conv":
        return None
    if name == "Conv_5":
        return "Conv_4"  # the trunk (Conv_4 + every block) feeds Conv_5
    if name.endswith("_conv1"):
        return "Conv_4"  # the trunk
    return names[names.index(name) - 1]


def init_from_teacher(student, arch, teacher, teacher_blocks=4):
    """Start a student from the teacher's weights instead of noise (it then converges far faster).

    Channels: for each unit of coupled convs, keep the teacher's output channels with the largest
    summed L1 kernel norm (the same choice for every conv whose outputs are added together); the
    student keeps the teacher's first `arch.num_blocks` residual blocks. A separable conv gets the best
    depthwise x pointwise approximation of the (sliced) teacher kernel: per input channel, the rank-1
    SVD of its (k*k, C_out) slice. Returns the student.
    """
    import numpy as np

    nb = arch.num_blocks
    kernels = _teacher_kernels(teacher, nb, teacher_blocks)
    keep = kept_channels(arch, teacher, teacher_blocks)
    for name in layer_names(nb):
        kernel, bias = kernels[name]
        src = _input_layer(name, nb)
        rows = np.arange(kernel.shape[2]) if src is None else keep[src]
        w, b = kernel[:, :, rows][..., keep[name]], bias[keep[name]]
        layer = student.get_layer(name)
        if arch.kind(name) == "conv":
            layer.set_weights([w, b])
        elif arch.kind(name) == "separable":
            k, _, cin, cout = w.shape
            depth, point = np.zeros((k, k, cin, 1), "float32"), np.zeros((1, 1, cin, cout), "float32")
            for c in range(cin):  # best rank-1 (spatial x output) factorisation of each input channel
                u, s, vt = np.linalg.svd(w[:, :, c, :].reshape(k * k, cout), full_matrices=False)
                depth[:, :, c, 0] = (u[:, 0] * np.sqrt(s[0])).reshape(k, k)
                point[0, 0, c, :] = vt[0] * np.sqrt(s[0])
            layer.set_weights([depth, point, b])
        else:
            raise ValueError(f"init_from_teacher supports conv and separable layers; {name!r} is "
                             f"{arch.kind(name)!r}")
    return student


def _teacher_kernels(teacher, num_blocks, teacher_blocks):
    require(num_blocks <= teacher_blocks, "arch.num_blocks", num_blocks,
            f"must be <= the teacher's {teacher_blocks} blocks")
    kernels = {n: teacher.get_layer(n).get_weights() for n in layer_names(num_blocks)}
    for name, weights in kernels.items():
        if len(weights) != 2 or weights[0].ndim != 4:
            raise ValueError(f"init_from_teacher needs a teacher of plain convs; its layer {name!r} holds "
                             f"{len(weights)} tensors of shapes {[w.shape for w in weights]}. Use init='random'.")
    return kernels


def kept_channels(arch, teacher, teacher_blocks=4):
    """{layer: sorted teacher output channels the student keeps}: per unit of coupled convs, those with the
    largest summed L1 kernel norm (one choice for every conv whose outputs are added together)."""
    import numpy as np

    nb = arch.num_blocks
    kernels = _teacher_kernels(teacher, nb, teacher_blocks)
    unit_of = _coupled_units(nb)
    scores = {}
    for name, (kernel, _) in kernels.items():
        scores.setdefault(unit_of[name], 0)
        scores[unit_of[name]] = scores[unit_of[name]] + np.abs(kernel).sum(axis=(0, 1, 2))
    keep = {}
    for name in layer_names(nb):
        unit, width = unit_of[name], arch.channels[name]
        require(width <= len(scores[unit]), f"channels[{name!r}]", width,
                f"must be <= the teacher's {len(scores[unit])} to start from its weights")
        keep[name] = np.sort(np.argsort(-scores[unit], kind="stable")[:width])
    return keep
