"""Resolve what the user names on the command line into a variant: its labels and a predictor.

Accepted forms for `--variant`:
- `original` or `STYLE/original`: the Keras DCT-Net with the bundled official weights of a style;
- `PATH.tflite`: a LiteRT export (precision read off the file);
- `PATH.keras`: a saved Keras variant (pruned, factorised, distilled);
- `NAME=PATH`: any of the above paths under an explicit variant name;
- a registered version: `models:/dctnet-anime/5`, `models:/dctnet-anime@realtime`, `registry:anime/int8-full`
  (the newest version of that catalogue entry), fetched by `python -m registry fetch` in a subprocess:
  evaluation never imports the registry or mlflow, it only knows that command.
A sidecar `PATH.json` (or `PATH` with its suffix replaced by `.json`) may give `name`, `style`,
`method` and `parent`; otherwise a file is assumed to derive from `STYLE/original`.
`VariantSpec` is plain data (JSON-able), so the memory probe can rebuild the same predictor in an
isolated process.
"""

import json
import re
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from models.validation import require
from models.variant_io import REGISTERED_SCHEMES
from models.weights import STYLES

TFLITE_METHODS = {"fp32": "fp32", "fp16": "fp16", "int8-dynamic": "int8_dynamic", "int8-full": "int8_full"}


@dataclass(frozen=True)
class VariantSpec:
    name: str
    style: str
    method: str
    parent: str | None
    kind: str  # "bundled" | "keras" | "tflite"
    path: str | None = None
    threads: int | None = None
    mixed_precision: bool = False
    mode: str = "full"  # "full" (full-image network) | "portrait" (the official face pipeline)

    def __post_init__(self):
        require(self.mode in ("full", "portrait"), "mode", self.mode, "must be 'full' or 'portrait'")
        require(self.kind in ("bundled", "keras", "tflite"), "kind", self.kind,
                "must be 'bundled', 'keras' or 'tflite'")
        require(self.style in STYLES, "style", self.style, f"must be one of {STYLES}")
        require(self.threads is None or (isinstance(self.threads, int) and self.threads >= 1), "threads",
                self.threads, "must be an int >= 1 or None")
        require(isinstance(self.mixed_precision, bool), "mixed_precision", self.mixed_precision, "must be a bool")
        require(not (self.mixed_precision and self.kind == "tflite"), "mixed_precision", self.mixed_precision,
                "applies to Keras variants only (a .tflite carries its own precision)")

    def to_dict(self):
        return asdict(self)


def _sidecar(path):
    for candidate in (Path(f"{path}.json"), path.with_suffix(".json")):
        if candidate.is_file():
            try:
                return json.loads(candidate.read_text())
            except ValueError as exc:
                raise ValueError(f"variant sidecar {candidate} is not valid JSON ({exc})") from None
    return {}


def resolve_variant(text, style="anime", threads=None, mixed_precision=False, mode="full", tracking_uri=None):
    """`--variant` text -> VariantSpec (raises ValueError naming the text when it cannot be used)."""
    require(isinstance(text, str) and text.strip(), "variant", text, "must be a non-empty string")
    name, _, target = text.partition("=") if "=" in text and not text.startswith(REGISTERED_SCHEMES) \
        else (None, "", text)
    target = target.strip()
    if target.startswith(REGISTERED_SCHEMES):
        spec = spec_from_folder(fetch_registered(target, tracking_uri), threads, mode)
        return VariantSpec(**{**spec.to_dict(), "name": name or spec.name,
                              "mixed_precision": mixed_precision and spec.kind != "tflite"})
    named = re.fullmatch(r"([\w-]+)/original", target)
    if target == "original" or (named and not Path(target).exists()):
        style_part = named.group(1) if named else style
        require(style_part in STYLES, "variant", text, f"names an unknown style; styles: {', '.join(STYLES)}")
        return VariantSpec(name=name or f"{style_part}/original", style=style_part, method="original",
                           parent=None, kind="bundled", threads=threads, mixed_precision=mixed_precision,
                           mode=mode)
    path = Path(target)
    if not path.is_file():
        raise ValueError(f"--variant {text!r}: no such file, and not 'original' or 'STYLE/original'. "
                         "Give a .tflite or .keras file, optionally as NAME=PATH.")
    if path.suffix not in (".tflite", ".keras"):
        raise ValueError(f"--variant {text!r}: unsupported file type {path.suffix!r}; use .tflite or .keras")
    meta = _sidecar(path)
    variant_style = meta.get("style", style)
    kind = "tflite" if path.suffix == ".tflite" else "keras"
    method = meta.get("method")
    if method is None and kind == "tflite":
        method = TFLITE_METHODS[_tflite_precision(path)]
    return VariantSpec(name=name or meta.get("name") or f"{variant_style}/{path.stem}", style=variant_style,
                       method=method or "unknown", parent=meta.get("parent", f"{variant_style}/original"),
                       kind=kind, path=str(path.resolve()), threads=threads,
                       mixed_precision=mixed_precision and kind != "tflite", mode=mode)


def fetch_registered(uri, tracking_uri=None):
    """The local variant folder of a registered version, from `python -m registry fetch URI` (cached there)."""
    root = Path(__file__).resolve().parent.parent
    command = [sys.executable, "-m", "registry", *(["--tracking-uri", tracking_uri] if tracking_uri else []),
               "fetch", uri]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        why = (done.stderr.strip().splitlines() or [f"python -m registry fetch exited with {done.returncode}"])[-1]
        why = why.removeprefix("error: ")
        raise ValueError(f"--variant {why}" if why.startswith(uri) else f"--variant {uri}: {why}")
    return Path(lines[-1])


def spec_from_folder(folder, threads=None, mode="full"):
    """The VariantSpec of a registry variant folder (models.variant_io: variant.json + the artifact)."""
    from models.variant_io import KERAS_FILE, MANIFEST, TFLITE_FILE, read_manifest

    manifest = read_manifest(folder)
    if manifest["artifact"] not in (TFLITE_FILE, KERAS_FILE):
        raise ValueError(f"{folder}: unknown artifact {manifest['artifact']!r} in {MANIFEST}")
    tflite = manifest["artifact"] == TFLITE_FILE
    return VariantSpec(name=manifest["variant"], style=manifest["style"], method=manifest["method"],
                       parent=manifest["parent"], kind="tflite" if tflite else "keras",
                       path=str(Path(folder) / manifest["artifact"]), threads=threads if tflite else None,
                       mode=mode)


def _tflite_precision(path):
    from evaluation.predictors import tflite_precision
    from models.litert import tflite_info

    return tflite_precision(tflite_info(path))


def load_keras(spec):
    if spec.kind == "bundled":
        from models.weights import bundled_path, load_model

        return load_model(spec.style), bundled_path(spec.style)
    import keras

    import models.layers  # noqa: F401  (registers the custom layers for deserialisation)

    return keras.saving.load_model(spec.path, compile=False), Path(spec.path)


def build_predictor(**spec_fields):
    """VariantSpec fields -> a ready Predictor (also the memory probe's factory)."""
    from evaluation.predictors import KerasPredictor, LiteRTPredictor

    spec = VariantSpec(**spec_fields)
    if spec.kind == "tflite":
        return LiteRTPredictor(spec.path, threads=spec.threads, mode=spec.mode)
    model, artifact = load_keras(spec)
    return KerasPredictor(model, artifact=artifact, mixed_precision=spec.mixed_precision, mode=spec.mode)
