"""What every compression method shares: its result, its report and the facts it declares (the input is
models.variant.KerasVariant).

A method is an object with `name`, `config_class` (a frozen dataclass that validates itself and whose
errors name the argument and echo the value) and `apply(source, config) -> CompressionResult`.
"""

import dataclasses
import json
import types
import typing
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
    details: dict = field(default_factory=dict)  # method-specific tables (e.g. tflite_int8_mixed's sensitivity)

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



# -- the facts a method declares beside its config ------------------------------------------------------
# A method object carries `training` (what it needs beyond the trained original, run with its defaults:
# one of models.variant.TRAINING_LEVELS; the ratings assume it for records without a config), `artifact` (what it makes:
# one of models.variant.ARTIFACTS; a "tflite" method's config has an `output_path` the caller may set) and `photos(values)`
# (which photos a config needs: None, "calibration" or "training"; `values` are the config's fields as a
# dict, read before the config validates, since a config may check that its photos exist).
# A config marks the fields that say where a method writes or reads (not what it makes) with path_field().



def path_field(default=None):
    """A config field naming a folder or file (chosen by the caller, never asked for, never hashed)."""
    return field(default=default, metadata={"path": True})


def path_fields(config_class):
    """Names of the config class' path fields (see path_field)."""
    return tuple(f.name for f in dataclasses.fields(config_class) if f.metadata.get("path"))


def field_type(f):
    """(python type, optional?) of a dataclass field annotation such as `float | None`."""
    tp = f.type
    if isinstance(tp, str):  # postponed annotations
        tp = {"float": float, "int": int, "str": str, "bool": bool, "tuple": tuple, "dict": dict}.get(tp.split("|")[0].strip(), str)
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in args:
        inner = [a for a in args if a is not type(None)][0]
        return (typing.get_origin(inner) or inner), True
    return (typing.get_origin(tp) or tp), False


def parse_text(f, text):
    """One config value read from text (the CLI's options, the Lab's text boxes), by the field's type:
    empty / none / null -> None, true / false for bools, a comma list for tuples, name:int pairs for dicts."""
    kind, _ = field_type(f)
    text = str(text).strip()
    if text.lower() in ("", "none", "null"):
        return None
    if kind is bool and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if kind is tuple:
        return tuple(part.strip() for part in text.split(",") if part.strip())
    if kind is dict:  # "name:int, name:int" (SVD's layer_ranks)
        pairs = [part.split(":") for part in text.split(",") if part.strip()]
        try:
            return {name.strip(): int(value) for name, value in pairs}
        except ValueError:
            raise ValueError(f"{f.name} must be written name:int, name:int (e.g. Conv_4:32, Conv_5:16). "
                             f"Received: {f.name}={text!r}") from None
    if kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            raise ValueError(f"{f.name} must be a {kind.__name__} or empty. Received: {f.name}={text!r}") from None
    return text


def config_from(config_class, values, text=False):
    """The validated config from {field: value}: JSON values (lists become tuples) or, with text=True,
    text to parse (parse_text). An unknown field is a TypeError naming it (the dataclass' own)."""
    fields = {f.name: f for f in dataclasses.fields(config_class)}
    if text:
        values = {k: parse_text(fields[k], v) if k in fields else v for k, v in values.items()}
    return config_class(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
