"""The one variant-folder format: `architecture.json` beside the model, written and read only here.

    architecture.json   {"name", "model_name", **models.dctnet.Architecture.to_dict()}
    model.weights.h5    the weights (`save_variant`: the CLI's folders; rebuilt from the architecture), or
    model.keras         the whole Keras model (the registry's folders, registry/artifacts.py: loadable with
                        keras alone)
    model.tflite        or a LiteRT export (registry folders)
    variant.json        the registry's manifest: variant, style, method chain, parent, artifact file

`load_variant` reads either. A folder is written next to its destination and renamed into place, so a
crash never leaves a half-written variant that loads.
"""

import json
import shutil
import tempfile
from pathlib import Path

ARCH_FILE = "architecture.json"
WEIGHTS_FILE = "model.weights.h5"
KERAS_FILE = "model.keras"
TFLITE_FILE = "model.tflite"
MANIFEST = "variant.json"
REGISTERED_SCHEMES = ("models:/", "registry:")  # how a registered version is named (registry/selectors.py)


def read_manifest(folder):
    """A registry variant folder's variant.json (FileNotFoundError naming the folder when it is not one)."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{folder} is not a variant folder: {MANIFEST} is missing")
    return json.loads(path.read_text())


def write_architecture(directory, variant):
    """Write `variant`'s architecture.json into `directory` (which exists)."""
    meta = {"name": variant.name, "model_name": variant.model.name, **variant.architecture.to_dict()}
    (Path(directory) / ARCH_FILE).write_text(json.dumps(meta, indent=2) + "\n")


def save_variant(variant, directory):
    """Write `variant` into `directory` (created; replaced if it already holds a variant)."""
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()) and not (directory / ARCH_FILE).exists():
        raise FileExistsError(f"{directory} exists and is not a saved variant; refusing to overwrite it")
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}."))
    try:
        write_architecture(tmp, variant)
        variant.model.save_weights(tmp / WEIGHTS_FILE)
        if directory.exists():
            shutil.rmtree(directory)
        tmp.rename(directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def load_variant(directory, name=None):
    """The KerasVariant saved in `directory` (model.keras or model.weights.h5 beside architecture.json).

    `name` overrides the stored one (folders written before architecture.json carried a name)."""
    from models.variant import KerasVariant
    from models.dctnet import Architecture, build_generator

    directory = Path(directory)
    model_file = next((directory / f for f in (KERAS_FILE, WEIGHTS_FILE) if (directory / f).is_file()), None)
    if not (directory / ARCH_FILE).is_file():
        raise FileNotFoundError(f"{directory} is not a saved variant: {ARCH_FILE} is missing")
    if model_file is None:
        raise FileNotFoundError(f"{directory} is not a saved variant: {WEIGHTS_FILE} (or {KERAS_FILE}) is missing")
    meta = json.loads((directory / ARCH_FILE).read_text())
    arch = Architecture.from_dict(meta)
    if model_file.name == KERAS_FILE:
        import keras

        import models.layers  # noqa: F401  registers the custom layers with Keras' serializer

        model = keras.saving.load_model(model_file, compile=False)
    else:
        model = build_generator(arch, name=meta.get("model_name", "dctnet"))
        model.load_weights(model_file)
    return KerasVariant(model, arch, name=name or meta.get("name", directory.name))
