"""Keras DCT-Net (any variant) -> TFLite for LiteRT, in four precisions, keeping dynamic height/width.

Path that works on this stack (keras 3.13.2, TF 2.21): `tf.lite.TFLiteConverter.from_keras_model`
(it freezes the weights; a concrete function keeps them as resource variables that LiteRT reads as
garbage). The Functional model's input is (None, None, None, 3), so H, W and batch stay dynamic.

Precisions (what stays float is deliberate and reported):
- fp32: everything float32.
- fp16: weights stored float16, dequantized to float32 at load; all compute float32.
- int8_dynamic: conv weights int8 (per-channel); activations float, quantized on the fly inside each conv.
- int8_full: weights and activations int8, calibrated on real portraits (`calibration_images`); the
  model's input/output stay float32 (a QUANTIZE/DEQUANTIZE pair at the edges). With
  `float_guided_filter` (default) the fixed guided filter is left out of quantization and runs in float
  inside the same file: its products, variances and division lose ~all precision in 8 bits.
"""

import contextlib
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from models.validation import require
from models.portraits import calibration_side
from models.samples import photo_dir

PRECISIONS = ("fp32", "fp16", "int8_dynamic", "int8_full")
PORTRAITS_DIR = photo_dir()  # $DCTNET_PORTRAITS, the shared portraits, or the bundled samples
GUIDED_FILTER_SCOPE = "guided_filter"
# Full INT8 calibrates at the serving size: measured on the evaluation split (docs/compression.md,
# "Calibration at the serving size"), 512 px squares beat the old 384 px default by +0.9 dB mean and
# +2.4 dB on the worst photo at 720 px; 720 px calibration was no better and takes twice as long.
CALIBRATION_SIZE = 512
CALIBRATION_IMAGES = 32
# Activation ranges: the calibrator's min/max, or each range narrowed to a two-sided percentile of the
# calibration photos' values (the widest of the photos'), docs/compression.md "Calibration that pays".
CALIBRATION_RANGES = ("minmax", "p99.999", "p99.99", "p99.9")
# Full INT8's default: p99.999 ranges, measured on the 24-photo evaluation split against min/max: +2.7 dB
# mean at 512 px and +2.8 dB at 720 px, worst photo 32.6 / 33.8 dB (min/max 33.1 / 31.9), same speed.
CALIBRATION_RANGE = "p99.999"


@dataclass(frozen=True)
class ExportConfig:
    precision: str = "fp32"
    calibration_images: int = CALIBRATION_IMAGES  # int8_full: how many portraits calibrate the ranges
    calibration_size: int = CALIBRATION_SIZE  # int8_full: square side (px) the portraits are cut to
    calibration_seed: int = 0
    calibration_range: str = CALIBRATION_RANGE  # int8_full: "minmax" or a percentile of CALIBRATION_RANGES
    per_channel: bool = True  # int8: one weight scale per output channel (False: one per tensor)
    float_guided_filter: bool = True  # int8_full: keep the guided filter out of quantization

    def __post_init__(self):
        require(self.precision in PRECISIONS, "precision", self.precision, f"must be one of {PRECISIONS}")
        require(isinstance(self.calibration_images, int) and 1 <= self.calibration_images <= 1000,
                "calibration_images", self.calibration_images, "must be an int in [1, 1000]")
        require(isinstance(self.calibration_size, int) and 32 <= self.calibration_size <= 2048
                and self.calibration_size % 16 == 0,
                "calibration_size", self.calibration_size, "must be a multiple of 16 in [32, 2048]")
        require(isinstance(self.calibration_seed, int), "calibration_seed", self.calibration_seed, "must be an int")
        require(isinstance(self.per_channel, bool), "per_channel", self.per_channel, "must be a bool")
        require(isinstance(self.float_guided_filter, bool), "float_guided_filter", self.float_guided_filter,
                "must be a bool")
        require(self.calibration_range in CALIBRATION_RANGES, "calibration_range", self.calibration_range,
                f"must be one of {CALIBRATION_RANGES}")

    def float_parts(self):
        """What runs in float in this precision, said plainly for the report."""
        return {
            "fp32": ["everything"],
            "fp16": ["all compute (weights stored fp16, dequantized at load)"],
            "int8_dynamic": ["activations, guided filter, upsampling, skip additions (weights of convs int8)"],
            "int8_full": (["model input/output (float32 I/O, quantized at the edges)"]
                          + (["guided filter (left out of quantization)"] if self.float_guided_filter else [])),
        }[self.precision]


def calibration_batches(count, size, seed=0, portraits_dir=None, cut=None):
    """The first `count` portraits of the seeded calibration side (`models.portraits.calibration_side`,
    the photos every INT8 route calibrates on) as (1, size, size, 3) float32 BGR batches, made square by
    `cut(rgb, size)`: by default exactly as evaluation makes its inputs (models.fitting.square_input)."""
    from models.fitting import square_input
    from models.images import load_image
    from models.processing import to_network

    cut = cut or square_input
    files = calibration_side(seed, portraits_dir or PORTRAITS_DIR)
    if count > len(files):
        raise ValueError(f"calibration_images={count} but only {len(files)} calibration portraits exist "
                         f"in {portraits_dir or PORTRAITS_DIR}")
    return [to_network(cut(load_image(f), size))[None] for f in files[:count]]


# --- conversion ---------------------------------------------------------------------------------------

def _converter(model, config):
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if config.precision == "fp32":
        return converter
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if config.precision == "fp16":
        converter.target_spec.supported_types = [tf.float16]
    if config.precision.startswith("int8") and not config.per_channel:
        converter._experimental_disable_per_channel = True  # the converter's switch for per-tensor weights
    if config.precision == "int8_full":
        batches = calibration_batches(config.calibration_images, config.calibration_size, config.calibration_seed)
        converter.representative_dataset = lambda: ([b] for b in batches)
        if not config.float_guided_filter:
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return converter


def _guided_filter_nodes(float_model):
    """Output tensor names of the guided filter's ops (and the model output they produce)."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=float_model)
    names = {t["index"]: t["name"] for t in interp.get_tensor_details()}
    out_index = interp.get_output_details()[0]["index"]
    nodes = []
    for op in interp._get_ops_details():
        outs = [names[i] for i in op["outputs"]]
        if any(GUIDED_FILTER_SCOPE in n for n in outs) or out_index in op["outputs"]:
            nodes.extend(outs)
    if not nodes:
        raise RuntimeError("found no guided-filter ops to keep in float; was the model built by build_generator?")
    return nodes


def _clipped_int8(model, config):
    """Full INT8 with percentile activation ranges: calibrate once (cached), narrow the ranges, quantize
    (the guided filter float unless asked otherwise; models.int8_selective: the converter's calibrator
    keeps min/max only)."""
    from models.int8_selective import Calibration, calibrated_model, float_nodes_for, layer_nodes, quantize

    calibration = Calibration(config.calibration_images, config.calibration_size, config.calibration_seed,
                              range=config.calibration_range)
    calibrated = calibrated_model(model, calibration)
    nodes = layer_nodes(calibrated, model, [])
    return quantize(calibrated, float_nodes_for(nodes, [], config.float_guided_filter), config.per_channel)


def _convert(model, config):
    if config.precision == "int8_full" and config.calibration_range != "minmax":
        return _clipped_int8(model, config)
    if config.precision == "int8_full" and config.float_guided_filter:
        import tensorflow as tf

        # Selective quantization: the debugger's denylist keeps named nodes in float.
        float_model = tf.lite.TFLiteConverter.from_keras_model(model).convert()
        converter = _converter(model, config)
        options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=_guided_filter_nodes(float_model))
        debugger = tf.lite.experimental.QuantizationDebugger(converter=converter, debug_options=options,
                                                             debug_dataset=converter.representative_dataset)
        return debugger.get_nondebug_quantized_model()
    return _converter(model, config).convert()


def export_tflite(model, path, config=ExportConfig()):
    """Convert a Keras DCT-Net to `path` (.tflite) atomically; returns the Path."""
    require(isinstance(config, ExportConfig), "config", config, "must be an ExportConfig")
    path = Path(path)
    require(path.suffix == ".tflite", "path", str(path), "must end with .tflite")
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.redirect_stdout(sys.stderr):  # the converter prints its SavedModel signature
        content = _convert(model, config)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
