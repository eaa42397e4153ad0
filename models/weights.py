"""Official DCT-Net weights: read them from the three formats users have, check them, fill a model.

Tensors travel as a dict keyed by the official TF1 variable name (`generator/Conv/weights`, HWIO
float32; `generator/Conv/biases`). Every reader returns that dict; `validate()` checks it against
an `Architecture` and names what is missing or mismatched before anything is assigned, so a wrong
or partial file never loads half a model.
"""

import hashlib
import json
from pathlib import Path

import numpy as np

from models.dctnet import Architecture, build_generator, layer_names, tf1_scope

STYLES = ("3d", "anime", "artstyle", "design", "handdrawn", "illustration", "sketch")
NETWORKS = ("bg", "head")  # full image; aligned 288x288 head crop
BUNDLED_DIR = Path(__file__).resolve().parent / "weights"
SCOPE = "generator"


class WeightsError(ValueError):
    """A weights file is of the wrong kind, incomplete, or does not fit the architecture."""


def check_style(style, network="bg"):
    if style not in STYLES:
        raise ValueError(f"Unknown style {style!r}. Valid styles: {', '.join(STYLES)}")
    if network not in NETWORKS:
        raise ValueError(f"Unknown network {network!r}. Valid networks: {', '.join(NETWORKS)} "
                         "(bg = full image, head = aligned face crop)")


def expected_tensors(arch=None):
    """TF1 name -> shape (weights HWIO) of every tensor a plain-conv architecture needs."""
    arch = arch or Architecture()
    shapes = {}
    for name in layer_names(arch.num_blocks):
        k = 7 if name in ("Conv", "Conv_9") else 3
        scope = f"{SCOPE}/{tf1_scope(name)}"
        shapes[f"{scope}/weights"] = (k, k, arch.in_channels(name), arch.channels[name])
        shapes[f"{scope}/biases"] = (arch.channels[name],)
    return shapes


def validate(tensors, arch=None, source="weights"):
    """Raise WeightsError naming every missing tensor and every shape mismatch."""
    expected = expected_tensors(arch)
    missing = sorted(set(expected) - set(tensors))
    wrong = [f"{n}: expected {expected[n]}, found {tuple(tensors[n].shape)}"
             for n in expected if n in tensors and tuple(tensors[n].shape) != expected[n]]
    if missing or wrong:
        lines = [f"{source} does not fit DCT-Net:"]
        if missing:
            lines.append(f"missing {len(missing)} of {len(expected)} tensors: {', '.join(missing)}")
        if wrong:
            lines.append("shape mismatches: " + "; ".join(wrong))
        raise WeightsError("\n".join(lines))
    return {n: np.asarray(tensors[n], dtype=np.float32) for n in expected}


def read_tflite(path):
    """DCT-Net mobile TFLite (fp16 weights, OHWI) -> TF1-named float32 HWIO tensors."""
    from ai_edge_litert.interpreter import Interpreter

    try:
        interpreter = Interpreter(model_path=str(path))
    except (ValueError, RuntimeError) as exc:
        raise WeightsError(f"{path} is not a readable TFLite model ({exc})") from None
    by_name = {d["name"]: d["index"] for d in interpreter.get_tensor_details()}
    tensors = {}
    for name in layer_names():
        scope = f"{SCOPE}/{tf1_scope(name)}"
        w, b = by_name.get(f"{scope}/Conv2D"), by_name.get(f"{scope}/biases")
        if w is not None:  # TFLite stores conv kernels as OHWI
            tensors[f"{scope}/weights"] = interpreter.get_tensor(w).astype(np.float32).transpose(1, 2, 3, 0)
        if b is not None:
            tensors[f"{scope}/biases"] = interpreter.get_tensor(b).astype(np.float32)
    return tensors


def read_frozen_graph(path):
    """Official TF1 frozen graph (cartoon_*.pb): const nodes named generator/<scope>/weights|biases."""
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(Path(path).read_bytes())
    except Exception as exc:  # protobuf raises DecodeError, a bare Exception subclass
        raise WeightsError(f"{path} is not a TF1 frozen graph (GraphDef protobuf): {exc}") from None
    tensors = {}
    for node in graph_def.node:
        if node.op == "Const" and node.name.startswith(f"{SCOPE}/"):
            tensors[node.name] = tf.make_ndarray(node.attr["value"].tensor).astype(np.float32)
    return tensors


def read_checkpoint(prefix):
    """Official TF1 training checkpoint: pass the prefix (model-<step>) or its .index/.data file."""
    import tensorflow as tf

    prefix = str(prefix)
    for suffix in (".index", ".meta"):
        if prefix.endswith(suffix):
            prefix = prefix[: -len(suffix)]
    if ".data-" in prefix:
        prefix = prefix.split(".data-")[0]
    try:
        reader = tf.train.load_checkpoint(prefix)
    except (tf.errors.NotFoundError, tf.errors.DataLossError, ValueError) as exc:
        raise WeightsError(f"{prefix} is not a readable TF1 checkpoint: {exc}".split("\n")[0]) from None
    names = reader.get_variable_to_shape_map()
    return {n: reader.get_tensor(n).astype(np.float32) for n in names if n.startswith(f"{SCOPE}/")
            and n.rsplit("/", 1)[-1] in ("weights", "biases")}


def read_npz(path):
    try:
        with np.load(path, allow_pickle=False) as data:
            return {n: data[n].astype(np.float32) for n in data.files}
    except (OSError, ValueError) as exc:
        raise WeightsError(f"{path} is not a weights .npz archive ({exc})") from None


def read_any(path):
    """Pick the reader by file kind; say what is accepted when the kind is unknown."""
    p = Path(path)
    name = p.name
    if name.endswith(".tflite"):
        return read_tflite(p)
    if name.endswith(".pb"):
        return read_frozen_graph(p)
    if name.endswith(".npz"):
        return read_npz(p)
    if name.endswith(".index") or ".data-" in name or Path(f"{p}.index").exists():
        return read_checkpoint(p)
    raise WeightsError(f"Cannot tell the kind of weights file {path}. Give a DCT-Net .tflite, an official "
                       "TF1 frozen graph (.pb), a TF1 checkpoint (model-<step>.index or its prefix), "
                       "or a .npz exported by this project.")


def assign(model, tensors, arch=None):
    """Copy validated TF1-named tensors into a plain-conv model built from the same architecture."""
    tensors = validate(tensors, arch)
    for name in layer_names((arch or Architecture()).num_blocks):
        scope = f"{SCOPE}/{tf1_scope(name)}"
        model.get_layer(name).set_weights([tensors[f"{scope}/weights"], tensors[f"{scope}/biases"]])
    return model


def save_npz(tensors, path):
    """float16 storage: lossless for weights that come from fp16 sources."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **{n: np.asarray(t, dtype=np.float16) for n, t in tensors.items()})


def bundled_path(style, network="bg"):
    check_style(style, network)
    return BUNDLED_DIR / f"{style}_{network}.npz"


def load_bundled(style="anime", network="bg"):
    """The shipped weights of one style's network as TF1-named float32 tensors."""
    path = bundled_path(style, network)
    if not path.exists():
        raise WeightsError(f"No bundled weights for style {style!r} ({network}) at {path}. "
                           f"Import them with: python -m models import-weights SRC --style {style}")
    return validate(read_npz(path), source=str(path))


def load_model(style="anime", network="bg"):
    """A ready Keras DCT-Net with the bundled weights of a style."""
    model = build_generator(name=f"dctnet_{style}_{network}")
    return assign(model, load_bundled(style, network))


def fingerprint(tensors):
    """Content hash of a weight set, independent of dict order and file format."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        h.update(name.encode())
        h.update(np.ascontiguousarray(tensors[name], dtype=np.float32).tobytes())
    return h.hexdigest()[:16]


def import_weights(src, style, network="bg", dest_dir=BUNDLED_DIR):
    """Read any supported source, validate it, write the project's .npz; returns (path, fingerprint)."""
    check_style(style, network)
    tensors = validate(read_any(src), source=str(src))
    dest = Path(dest_dir) / f"{style}_{network}.npz"
    save_npz(tensors, dest)
    meta = {"source": Path(src).name, "style": style, "network": network,
            "fingerprint": fingerprint(tensors)}
    dest.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    return dest, meta["fingerprint"]
