"""Selective full-INT8: calibrate once, then quantize with any set of learned convs left in float.

The TFLite converter separates the two steps (the facts behind `tf.lite.experimental.QuantizationDebugger`):
`converter._experimental_calibrate_only = True` returns the float model with the recorded activation
ranges (a "calibrated model"), and `convert.mlir_quantize(calibrated, denylisted_nodes=[...])` quantizes
it with the named nodes (op output tensor names) kept in float, inserting QUANTIZE / DEQUANTIZE at the
borders. Calibration is the slow part (every photo runs through the logging interpreter); quantizing a
calibrated model takes seconds. So the calibrated model is cached (`lab_data/int8/`, keyed by the
weights' fingerprint and the calibration settings) and every mix of float and INT8 layers is one
`mlir_quantize` call on it.

A layer's *unit* is its conv op and, where it has one, its LeakyReLU (DCT-Net layer `Conv_7` -> ops in
the scopes `Conv_7` and `Conv_7_lrelu`): leaving a unit float keeps its weights and its own output
activation float. The guided filter stays float in every mix (8-bit products and divisions lose it all,
and run 2x slower: docs/compression.md).
"""

import contextlib
import hashlib
import json
import os
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from models.export import CALIBRATION_IMAGES, CALIBRATION_RANGES as RANGES, CALIBRATION_SIZE, GUIDED_FILTER_SCOPE
from models.validation import require



CALIBRATION_CROPS = ("centre", "face")
# The fixed ops between the learned convs, by the DCT-Net layer names their tensors carry
# (models.dctnet.build_generator). They are quantized in full INT8 and can be left float like a conv.
GLUE = {"upsample_1": r"/upsample_1", "upsample_2": r"/upsample_2", "skip_x1": r"/skip_x1",
        "skip_x0": r"/skip_x0", "residual_adds": r"/block_\d+_add"}


def cache_dir():
    """`$DCTNET_LAB_DATA/int8` or `<project>/lab_data/int8` (git-ignored)."""
    from models.lab_data import lab_data_dir

    return lab_data_dir() / "int8"


@dataclass(frozen=True)
class Calibration:
    """Which photos set the activation ranges, and how they are cut."""

    images: int = CALIBRATION_IMAGES  # calibration-side portraits (never the evaluation split)
    size: int = CALIBRATION_SIZE  # square side in px (the serving size is 512-720)
    seed: int = 0
    crop: str = "centre"  # "centre" square, or "face": a square around the largest face (centre if none)
    range: str = "minmax"  # "p99.99": every activation range clipped to that two-sided percentile

    def __post_init__(self):
        require(isinstance(self.images, int) and not isinstance(self.images, bool) and 1 <= self.images <= 1000,
                "calibration_images", self.images, "must be an int in [1, 1000]")
        require(isinstance(self.size, int) and 32 <= self.size <= 2048 and self.size % 16 == 0,
                "calibration_size", self.size, "must be a multiple of 16 in [32, 2048]")
        require(isinstance(self.seed, int), "calibration_seed", self.seed, "must be an int")
        require(self.crop in CALIBRATION_CROPS, "calibration_crop", self.crop, f"must be one of {CALIBRATION_CROPS}")
        require(self.range in RANGES, "calibration_range", self.range, f"must be one of {RANGES}")

    def key(self):
        # "sq2": photos cut by models.fitting.square_input (a cache made with another cut is not reused)
        # "-max": percentile ranges widened to the widest photo's (before 2026-12-03: the photos' mean)
        return f"sq2_n{self.images}_s{self.size}_seed{self.seed}_{self.crop}" + (
            "" if self.range == "minmax" else f"_{self.range}-max")


# --- photos --------------------------------------------------------------------------------------------

def face_square(rgb, size):
    """uint8 RGB -> a size x size RGB square centred on the largest face (2.5x its width), else the centre."""
    import cv2

    from models.faces import detect_faces

    faces = detect_faces(rgb)
    h, w = rgb.shape[:2]
    if faces:
        face = max(faces, key=lambda f: f.width)
        x0, y0, x1, y1 = face.box
        side = int(min(min(h, w), max(size // 2, 2.5 * face.width)))
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        x, y = int(np.clip(cx - side / 2, 0, w - side)), int(np.clip(cy - side / 2, 0, h - side))
    else:
        side = min(h, w)
        x, y = (w - side) // 2, (h - side) // 2
    crop = rgb[y:y + side, x:x + side]
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA if side > size else cv2.INTER_LINEAR)


def centre_square(rgb, size):
    """uint8 RGB -> size x size RGB, cut exactly as evaluation makes its inputs (models.fitting.square_input)."""
    from models.fitting import square_input

    return square_input(rgb, size)


def calibration_batches(calibration, portraits_dir=None):
    """(1, size, size, 3) float32 BGR batches of the first `images` photos of the seeded calibration side,
    cut by `calibration.crop`: the converter route's photos (`models.export.calibration_batches`)."""
    from models.export import calibration_batches as head_batches

    cut = face_square if calibration.crop == "face" else centre_square
    return head_batches(calibration.images, calibration.size, calibration.seed, portraits_dir, cut=cut)


# --- conversion, cached --------------------------------------------------------------------------------

def weights_fingerprint(model):
    h = hashlib.sha256()
    for w in model.get_weights():
        h.update(np.ascontiguousarray(w, dtype=np.float32).tobytes())
    return h.hexdigest()[:12]


def _write_atomic(path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    tmp.write_bytes(content)
    os.replace(tmp, path)


def float_model(model, cache=True):
    """The FP32 TFLite bytes of a Keras DCT-Net (cached by weights fingerprint)."""
    import tensorflow as tf

    path = cache_dir() / f"{weights_fingerprint(model)}_fp32.tflite"
    if cache and path.is_file():
        return path.read_bytes()
    with contextlib.redirect_stdout(sys.stderr):  # the converter prints its SavedModel signature
        content = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    if cache:
        _write_atomic(path, content)
    return content


def calibrated_model(model, calibration=Calibration(), cache=True, portraits_dir=None):
    """The float model with recorded activation ranges (converter calibrate-only), cached on disk."""
    import tensorflow as tf

    require(isinstance(calibration, Calibration), "calibration", calibration, "must be a Calibration")
    path = cache_dir() / f"{weights_fingerprint(model)}_{calibration.key()}.calibrated.tflite"
    if cache and path.is_file():
        return path.read_bytes()
    batches = calibration_batches(calibration, portraits_dir)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([b] for b in batches)
    converter.experimental_mlir_quantizer = True
    converter._experimental_calibrate_only = True  # stop after calibration: ranges recorded, nothing quantized
    with contextlib.redirect_stdout(sys.stderr):
        content = converter.convert()
    if calibration.range != "minmax":
        content = clip_ranges(content, batches, float(calibration.range[1:]))
    if cache:
        _write_atomic(path, content)
        _write_atomic(path.with_suffix(".json"), json.dumps(
            {"calibration": asdict(calibration), "model": weights_fingerprint(model)}, indent=2).encode())
    return content


def clip_ranges(calibrated, batches, percentile, samples=20000):
    """Narrow every recorded activation range to the two-sided `percentile` of its values on the
    calibration photos (a range choice the converter does not offer: its calibrator keeps min/max): the
    widest of the photos' percentiles, so no calibration photo is clipped beyond its own tail (the
    photos' mean saturated an evaluation photo: docs/compression.md). Values are read by running the
    calibrated (float) model with every tensor preserved."""
    from ai_edge_litert.interpreter import Interpreter
    from tensorflow.lite.tools import flatbuffer_utils

    fb = flatbuffer_utils.read_model_from_bytearray(bytearray(calibrated))
    tensors = fb.subgraphs[0].tensors
    ranged = [i for i, t in enumerate(tensors) if t.quantization is not None and t.quantization.min is not None
              and len(t.quantization.min) == 1 and i not in fb.subgraphs[0].inputs]
    interp = Interpreter(model_content=calibrated, experimental_preserve_all_tensors=True)
    rng = np.random.default_rng(0)
    low, high = {i: [] for i in ranged}, {i: [] for i in ranged}
    inp = interp.get_input_details()[0]["index"]
    for batch in batches:
        interp.resize_tensor_input(inp, list(batch.shape))
        interp.allocate_tensors()
        interp.set_tensor(inp, batch)
        interp.invoke()
        for i in ranged:
            v = interp.get_tensor(i).ravel()
            v = v[rng.integers(0, v.size, samples)] if v.size > samples else v
            low[i].append(np.percentile(v, 100 - percentile))
            high[i].append(np.percentile(v, percentile))
    for i in ranged:
        q = tensors[i].quantization
        q.min = np.array([max(float(q.min[0]), float(np.min(low[i])))], dtype=np.float32)
        q.max = np.array([min(float(q.max[0]), float(np.max(high[i])))], dtype=np.float32)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(fb))


def quantize(calibrated, float_nodes=(), per_channel=True):
    """Full-INT8 model bytes from a calibrated model, the ops producing `float_nodes` left in float."""
    from tensorflow.lite.python import convert

    with contextlib.redirect_stdout(sys.stderr):
        return convert.mlir_quantize(calibrated, disable_per_channel=not per_channel, fully_quantize=False,
                                     denylisted_nodes=list(float_nodes) or None)


# --- which ops belong to which layer -------------------------------------------------------------------

def _ops(content):
    """(interpreter, [(op name, input indices, output tensor names, produces the model output)])."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=content)
    names = {t["index"]: t["name"] for t in interp.get_tensor_details()}
    out_index = interp.get_output_details()[0]["index"]
    return interp, [(op["op_name"], list(op["inputs"]), [names[i] for i in op["outputs"]], out_index in op["outputs"])
                    for op in interp._get_ops_details()]


def _kernels(model):
    """{(layer base name): [4-D kernels as TFLite stores filters, (O, H, W, I)]} of the Keras convs.
    A low-rank pair (`X_lowrank_a`, `X`) belongs to layer X."""
    kernels = {}
    for layer in model.layers:
        for w in layer.get_weights():
            if w.ndim == 4:  # conv (H, W, I, O) or depthwise (H, W, I, 1) -> (O|1, H, W, I)
                kernels.setdefault(layer.name.removesuffix("_lowrank_a"), []).append(
                    np.ascontiguousarray(w.transpose(3, 0, 1, 2), dtype=np.float32))
    return kernels


def layer_nodes(content, model, layers):
    """{"guided_filter": [...], layer: [...], glue group: [...]}: output tensor names of each layer's unit
    (its conv ops and the LeakyReLU that takes the conv's output), of the guided filter (with the model
    output op) and of the fixed ops between them (GLUE; anything else under "other").

    Convs are found by their weights, not by op names (TF uniquifies scopes: layer `Conv_1` traces as
    `Conv_1_2` because layer `Conv` took `Conv_1`): each conv op's filter constant is matched to the
    Keras kernel it holds. Raises naming any layer with no conv op in the file."""
    interp, ops = _ops(content)
    kernels = _kernels(model)
    require(not [n for n in layers if n not in kernels], "layers", [n for n in layers if n not in kernels],
            f"must name convs of the model; its convs: {sorted(kernels)}")
    nodes = {GUIDED_FILTER_SCOPE: [], **{name: [] for name in layers}}
    conv_out = {}  # output tensor name of a matched conv -> layer
    for op, inputs, outs, is_output in ops:
        if is_output or any(GUIDED_FILTER_SCOPE in n for n in outs):
            nodes[GUIDED_FILTER_SCOPE].extend(outs)
            continue
        if op in ("CONV_2D", "DEPTHWISE_CONV_2D") and len(inputs) > 1:
            try:
                filt = interp.get_tensor(inputs[1])
            except ValueError:
                continue
            for name in layers:
                if any(k.size == filt.size and np.allclose(k.reshape(filt.shape), filt, atol=1e-6) for k in kernels[name]):
                    nodes[name].extend(outs)
                    conv_out.update({o: name for o in outs})
                    break
    names = {t["index"]: t["name"] for t in interp.get_tensor_details()}
    for op, inputs, outs, _ in ops:
        if op == "LEAKY_RELU" and names[inputs[0]] in conv_out:
            nodes[conv_out[names[inputs[0]]]].extend(outs)
    claimed = {o for group in nodes.values() for o in group}
    for group in (*GLUE, "other"):
        nodes[group] = []
    for op, inputs, outs, _ in ops:  # what is left: upsampling, skip and residual additions
        for out in outs:
            if out not in claimed:
                nodes[next((g for g, pattern in GLUE.items() if re.search(pattern, out)), "other")].append(out)
    if not nodes["other"]:
        del nodes["other"]
    missing = [n for n in layers if not nodes[n]]
    require(not missing, "layers", missing, "must each match a conv op of the TFLite model (none held their weights)")
    require(nodes[GUIDED_FILTER_SCOPE], "model", "no guided filter ops",
            "must end with the guided filter (a model built by models.dctnet.build_generator)")
    return nodes


def float_nodes_for(nodes, float_groups, float_guided_filter=True):
    """The denylist of a mix: the guided filter (optionally) and every op of `float_groups` (layers, glue)."""
    choices = [n for n in nodes if n != GUIDED_FILTER_SCOPE]
    unknown = [n for n in float_groups if n not in choices]
    require(not unknown, "float_layers", list(unknown), f"must name layers or glue groups among {choices}")
    out = list(nodes[GUIDED_FILTER_SCOPE]) if float_guided_filter else []
    for name in float_groups:
        out.extend(nodes[name])
    return out


def groups(nodes):
    """The float-able groups of a model: its learned convs in order, then its glue groups."""
    return [n for n in nodes if n != GUIDED_FILTER_SCOPE]
