"""The TFLite exports as compression methods: tflite_fp32, tflite_fp16, tflite_int8_dynamic, tflite_int8_full.

Each takes any Keras variant (original, pruned, SVD, student), so combinations are one call each
(prune -> tflite_int8_full). The result is an artifact (.tflite); params and MACs are the source's
(quantization changes how weights are stored, not how many there are), bytes go from float32 Keras
weights to the file on disk.
"""

import tempfile
from dataclasses import dataclass
from pathlib import Path

from models.compression import register
from models.compression.base import CompressionResult, base_report, path_field
from models.complexity import model_bytes
from models.export import CALIBRATION_IMAGES, CALIBRATION_RANGE, CALIBRATION_SIZE, ExportConfig, export_tflite
from models.litert import tflite_info
from models.validation import require


@dataclass(frozen=True)
class TFLiteConfig:
    output_path: str | None = path_field()  # .tflite to write (None: a new temporary folder)
    per_channel: bool = True  # int8 weights: one scale per output channel

    def __post_init__(self):
        if self.output_path is not None:
            require(isinstance(self.output_path, str) and self.output_path.endswith(".tflite"), "output_path",
                    self.output_path, "must be a path ending in .tflite")
        require(isinstance(self.per_channel, bool), "per_channel", self.per_channel, "must be a bool")

    def export_config(self, precision):
        """The models.export.ExportConfig this method config asks for."""
        extra = {}
        if isinstance(self, TFLiteInt8FullConfig):
            extra = {"calibration_images": self.calibration_images, "calibration_size": self.calibration_size,
                     "calibration_seed": self.calibration_seed, "calibration_range": self.calibration_range,
                     "float_guided_filter": self.float_guided_filter}
        return ExportConfig(precision=precision, per_channel=self.per_channel, **extra)


@dataclass(frozen=True)
class TFLiteInt8FullConfig(TFLiteConfig):
    calibration_images: int = CALIBRATION_IMAGES
    calibration_size: int = CALIBRATION_SIZE
    calibration_seed: int = 0
    calibration_range: str = CALIBRATION_RANGE  # or "minmax" (docs/compression.md: calibration that pays)
    float_guided_filter: bool = True

    def __post_init__(self):
        super().__post_init__()
        self.export_config("int8_full")  # validates the calibration fields


class TFLiteMethod:
    def __init__(self, precision, config_class):
        self.precision = precision
        self.name = f"tflite_{precision}"
        self.config_class = config_class
        # int8_full calibrates on a representative photo set (seconds to minutes, no gradients)
        self.training = "calibration" if precision == "int8_full" else "none"
        self.artifact = "tflite"

    def photos(self, values):
        return "calibration" if self.precision == "int8_full" else None

    def apply(self, source, config):
        require(isinstance(config, self.config_class), "config", type(config).__name__,
                f"must be a {self.config_class.__name__}")
        export_config = config.export_config(self.precision)
        path = Path(config.output_path) if config.output_path else \
            Path(tempfile.mkdtemp(prefix="dctnet-tflite-")) / f"{source.name.replace('/', '_')}_{self.precision}.tflite"
        export_tflite(source.model, path, export_config)
        info = tflite_info(path)
        report = base_report(self.name, config, source)
        report.bytes_before, report.bytes_after = model_bytes(source.model), info["bytes"]
        report.changed.append(f"conv weights stored as {info['conv_weight_dtypes']} (filter tensors by dtype)")
        report.changed.append(f"input {info['input_dtype']}, output {info['output_dtype']}, dynamic H/W: "
                              f"{info['dynamic_size']}")
        report.notes.append("runs in float: " + "; ".join(export_config.float_parts()))
        if self.precision == "int8_full":
            report.notes.append(f"calibrated on {config.calibration_images} training-side portraits at "
                                f"{config.calibration_size}x{config.calibration_size} (seed {config.calibration_seed}), "
                                f"{config.calibration_range} activation ranges")
        report.notes.append(f"ops: {info['ops']}")
        return CompressionResult(report=report, artifact=path)


for _precision, _config in (("fp32", TFLiteConfig), ("fp16", TFLiteConfig), ("int8_dynamic", TFLiteConfig),
                            ("int8_full", TFLiteInt8FullConfig)):
    register(TFLiteMethod(_precision, _config))
