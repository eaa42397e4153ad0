"""Save and load a Keras variant: `architecture.json` (Architecture.to_dict + name) and `model.weights.h5`.

A variant folder is written next to its destination and renamed into place, so a crash never leaves a
half-written variant that loads.
"""

import json
import shutil
import tempfile
from pathlib import Path

ARCH_FILE = "architecture.json"
WEIGHTS_FILE = "model.weights.h5"


def save_variant(variant, directory):
    """Write `variant` into `directory` (created; replaced if it already holds a variant)."""
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()) and not (directory / ARCH_FILE).exists():
        raise FileExistsError(f"{directory} exists and is not a saved variant; refusing to overwrite it")
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}."))
    try:
        meta = {"name": variant.name, "model_name": variant.model.name, **variant.architecture.to_dict()}
        (tmp / ARCH_FILE).write_text(json.dumps(meta, indent=2) + "\n")
        variant.model.save_weights(tmp / WEIGHTS_FILE)
        if directory.exists():
            shutil.rmtree(directory)
        tmp.rename(directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def load_variant(directory):
    """The KerasVariant saved in `directory`."""
    from models.variant import KerasVariant
    from models.dctnet import Architecture, build_generator

    directory = Path(directory)
    for name in (ARCH_FILE, WEIGHTS_FILE):
        if not (directory / name).is_file():
            raise FileNotFoundError(f"{directory} is not a saved variant: {name} is missing")
    meta = json.loads((directory / ARCH_FILE).read_text())
    arch = Architecture.from_dict(meta)
    model = build_generator(arch, name=meta.get("model_name", "dctnet"))
    model.load_weights(directory / WEIGHTS_FILE)
    return KerasVariant(model, arch, name=meta.get("name", directory.name))
