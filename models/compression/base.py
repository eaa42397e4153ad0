"""What every compression method shares: its result and its report (the input is models.variant.KerasVariant).

A method is an object with `name`, `config_class` (a frozen dataclass that validates itself and whose
errors name the argument and echo the value) and `apply(source, config) -> CompressionResult`.
"""

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from models.complexity import count_macs, count_params
from models.variant import KerasVariant

REPORT_RESOLUTION = (512, 512)  # MACs in reports are stated at this input size


@dataclass
class CompressionReport:
    method: str
    config: dict
    params_before: int
    params_after: int
    macs_before: int
    macs_after: int
    resolution: tuple = REPORT_RESOLUTION
    bytes_before: int | None = None
    bytes_after: int | None = None
    changed: list = field(default_factory=list)  # "Conv_4: 128 -> 96 output channels"
    skipped: list = field(default_factory=list)  # "Conv: rank 40 would not reduce MACs"
    notes: list = field(default_factory=list)

    def to_dict(self):
        return dataclasses.asdict(self)

    def to_json(self):
        return json.dumps(self.to_dict(), indent=2, default=str)

    def render(self):
        h, w = self.resolution

        def ratio(a, b):
            return f"{a / b:.2f}x" if b else "n/a"

        lines = [f"method: {self.method}",
                 f"config: {json.dumps(self.config, default=str)}",
                 f"params: {self.params_before:,} -> {self.params_after:,} "
                 f"({ratio(self.params_before, self.params_after)} fewer)",
                 f"MACs at {h}x{w}: {self.macs_before / 1e9:.2f} G -> {self.macs_after / 1e9:.2f} G "
                 f"({ratio(self.macs_before, self.macs_after)} fewer)"]
        if self.bytes_before is not None and self.bytes_after is not None:
            lines.append(f"bytes: {self.bytes_before:,} -> {self.bytes_after:,} "
                         f"({ratio(self.bytes_before, self.bytes_after)} smaller)")
        for title, items in (("changed", self.changed), ("skipped", self.skipped), ("notes", self.notes)):
            if items:
                lines.append(f"{title}:")
                lines.extend(f"  - {item}" for item in items)
        return "\n".join(lines)


@dataclass
class CompressionResult:
    report: CompressionReport
    variant: KerasVariant | None = None  # a Keras result (pruning, SVD, distillation)
    artifact: Path | None = None  # a file result (a .tflite export)


def base_report(method, config, before, after_model=None, resolution=REPORT_RESOLUTION):
    """A report pre-filled with params and MACs of the source and (if given) the new Keras model."""
    h, w = resolution
    after_model = after_model if after_model is not None else before.model
    return CompressionReport(
        method=method, config=config_dict(config),
        params_before=count_params(before.model), params_after=count_params(after_model),
        macs_before=count_macs(before.model, h, w), macs_after=count_macs(after_model, h, w),
        resolution=tuple(resolution))


def config_dict(config):
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(config).items()}

