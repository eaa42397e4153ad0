"""A variant as a folder: what a model version stores and what `load_predictor` reads back.

    variant.json      manifest: variant, style, method chain + configs, parent, hashes, artifact file
    model.keras       a Keras variant (original, pruned, SVD, student), loadable with keras alone
    architecture.json its architecture (Keras variants; the one format of models/variant_io.py)
    model.tflite      or a LiteRT export (FP32/FP16/INT8)
    report.json/.txt  the compression report (what changed, what was skipped and why)
    samples/*.png     the variant's cartoons of the evaluation photos (uint8 RGB)

Folders are written under a temporary name and renamed when complete, so a killed build never
leaves a folder that looks finished.
"""

import json
import os
import shutil
from pathlib import Path

from models.variant_io import ARCH_FILE, KERAS_FILE, MANIFEST, TFLITE_FILE, read_manifest  # noqa: F401


def write_folder(dest, manifest, keras_model=None, tflite_path=None, report=None, samples=None,
                 architecture=None):
    """Write a complete variant folder at `dest` (replacing an unfinished one); returns the Path."""
    from models.images import save_image

    if (keras_model is None) == (tflite_path is None):
        raise ValueError("a variant folder holds exactly one artifact: give keras_model or tflite_path")
    dest = Path(dest)
    tmp = dest.with_name(f".{dest.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    manifest = dict(manifest)
    if keras_model is not None:
        keras_model.save(tmp / KERAS_FILE)
        manifest["artifact"] = KERAS_FILE
        if architecture is not None:  # lets a later chain (pruned -> INT8) start from this variant
            from models.variant import KerasVariant
            from models.variant_io import write_architecture

            write_architecture(tmp, KerasVariant(keras_model, architecture, name=manifest.get("variant", dest.name)))
    else:
        shutil.copy2(tflite_path, tmp / TFLITE_FILE)
        manifest["artifact"] = TFLITE_FILE
    if report is not None:
        (tmp / "report.json").write_text(report.to_json() + "\n")
        (tmp / "report.txt").write_text(report.render() + "\n")
    for name, image in (samples or {}).items():
        (tmp / "samples").mkdir(exist_ok=True)
        save_image(image, tmp / "samples" / f"{Path(name).stem}.png")
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(tmp, dest)
    return dest


def has_keras_variant(folder):
    """Whether the folder holds a Keras variant a later chain can start from (model + architecture)."""
    return read_manifest(folder)["artifact"] == KERAS_FILE and (Path(folder) / ARCH_FILE).is_file()


def predictor_from_folder(folder, threads=None, mode="full"):
    """The evaluation Predictor (uint8 RGB in/out) for a variant folder, full-image or portrait."""
    from evaluation.variants import build_predictor, spec_from_folder

    return build_predictor(**{**spec_from_folder(folder, threads).to_dict(), "mode": mode})


def add_samples(folder, samples):
    """Save sample outputs {photo name: uint8 RGB} into an (unpublished) variant folder."""
    from models.images import save_image

    if not samples:
        return
    (Path(folder) / "samples").mkdir(exist_ok=True)
    for name, image in samples.items():
        save_image(image, Path(folder) / "samples" / f"{Path(name).stem}.png")
