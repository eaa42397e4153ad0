"""Identity kept: does the variant's cartoon still show the person the original's cartoon shows?

The measure is the Euclidean distance between dlib's 128-d face embeddings of the two cartoons at the
same face (0 = the same embedding; dlib's own same-person threshold on real photos is 0.6).

Models (offline, no download): dlib's ResNet face-recognition network
(`dlib_face_recognition_resnet_model_v1.dat`, 99.38% on LFW) and its 5-landmark shape predictor
(`shape_predictor_5_face_landmarks.dat`), both by Davis King, public domain (CC0), from the PyPI package
`face_recognition_models`, run by the prebuilt `dlib-bin` wheel. `face_recognition_models/__init__.py`
imports `pkg_resources` (gone from recent setuptools), so the files are located without importing it.

How a face is embedded (the same for every variant): the face box comes from `models.faces` on the INPUT
photo; dlib's 5-point predictor places its landmarks on the input photo inside that box; those landmarks
align a 150 x 150 chip (`dlib.get_face_chip`, padding 0.25) cut from each cartoon at the same place, and
the network embeds the chip. Aligning both cartoons with the photo's landmarks means the distance measures
what the variant changed in the face, not landmark jitter between two drawings. A photo's value is the
mean over its faces; photos without a face are left out (as for face-region quality).

`embed_photo(rgb)` embeds real photos each with its own landmarks: the validation that the embedding
tells people apart (tests/test_evaluation_identity.py: same person closer than different people).
"""

import importlib.util
import threading
from pathlib import Path

import numpy as np

from models.images import check_array

SAME_PERSON_THRESHOLD = 0.6  # dlib's documented threshold for real photos of the same person
CHIP_SIZE, CHIP_PADDING = 150, 0.25  # dlib's face-recognition input (dlib/examples/dnn_face_recognition_ex)
PACKAGES = "face_recognition_models (CC0 models) and dlib-bin"
NOTE = ("face identity: mean over faces of the distance between dlib's 128-d embeddings of the variant's and "
        "the reference's cartoons, both aligned by dlib's 5 landmarks of the input photo (0 = same embedding; "
        f"dlib's same-person threshold on real photos is {SAME_PERSON_THRESHOLD})")

_lock = threading.Lock()  # dlib's shape predictor and network objects are not documented as thread-safe
_models = {}


def _model_dir():
    spec = importlib.util.find_spec("face_recognition_models")  # finds the folder without running __init__
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def unavailable_reason():
    """None when the identity metric can run here, else one line saying what is missing."""
    try:
        import dlib  # noqa: F401
    except ImportError as exc:
        return f"face identity unavailable: dlib does not import ({exc}); pip install {PACKAGES}"
    folder = _model_dir()
    if folder is None:
        return f"face identity unavailable: face_recognition_models is not installed; pip install {PACKAGES}"
    missing = [n for n in ("shape_predictor_5_face_landmarks.dat", "dlib_face_recognition_resnet_model_v1.dat")
               if not (folder / n).is_file()]
    if missing:
        return f"face identity unavailable: {', '.join(missing)} missing in {folder}"
    return None


def _load():
    if not _models:
        why = unavailable_reason()
        if why:
            raise RuntimeError(why)
        import dlib

        folder = _model_dir()
        _models["shape"] = dlib.shape_predictor(str(folder / "shape_predictor_5_face_landmarks.dat"))
        _models["net"] = dlib.face_recognition_model_v1(str(folder / "dlib_face_recognition_resnet_model_v1.dat"))
    return _models


def _rectangle(face):
    import dlib

    x0, y0, x1, y1 = (int(round(v)) for v in face.box)
    return dlib.rectangle(x0, y0, max(x1, x0 + 1), max(y1, y0 + 1))


def landmarks(photo, faces):
    """dlib 5-point shapes of the `models.faces` faces on a uint8 RGB photo (one per face)."""
    photo = np.ascontiguousarray(check_array(photo, "photo"))
    with _lock:
        shape = _load()["shape"]
        return [shape(photo, _rectangle(face)) for face in faces]


def embed(image, shape):
    """128-d embedding (float64) of the face that `shape` (from `landmarks`) places on uint8 RGB `image`."""
    import dlib

    image = np.ascontiguousarray(check_array(image, "image"))
    with _lock:
        net = _load()["net"]
        chip = dlib.get_face_chip(image, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
        return np.asarray(net.compute_face_descriptor(chip), dtype=np.float64)


def distance(a, b):
    return float(np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64)))


def identity_distance(output, reference, shapes, reference_embeddings=None):
    """Mean over faces of the embedding distance between two cartoons of one photo (None without faces).
    `reference_embeddings` (one per shape) saves re-embedding the reference for every variant."""
    if not shapes:
        return None
    if output.shape != reference.shape:
        raise ValueError(f"identity needs outputs of one shape. Received: {output.shape} vs {reference.shape}")
    refs = reference_embeddings or [embed(reference, s) for s in shapes]
    return float(np.mean([distance(embed(output, s), r) for s, r in zip(shapes, refs)]))


def embed_photo(rgb, faces=None):
    """Embeddings of every face of a real photo, each aligned by its own landmarks (list of 128-d arrays)."""
    if faces is None:
        from models.faces import detect_faces

        faces = detect_faces(rgb)
    return [embed(rgb, s) for s in landmarks(rgb, faces)]
