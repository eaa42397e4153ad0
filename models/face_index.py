"""Faces found once, written beside the photos: `FACES.json` in a photo folder.

The training loop searches faces on every view of every photo (face-centred crops) and on the held-out
photos it validates on (eyes / nose / mouth SSIM). A folder that travels to a machine without LiteRT (a
leased GPU box, `scripts/gpu_kit.py`) carries the faces instead: the loop looks a view up here first and
runs `models.faces.detect_faces` only for views the index does not hold.

Key: "<photo name>|<view>|<short side>|<jitter>|<seed>" (what decides the view's pixels,
`models.training_data.make_view`); value: the faces of that view (box, score, 5 points, size, source).
"""

import json
from pathlib import Path

import numpy as np

FACE_INDEX = "FACES.json"


def view_key(name, view, side, jitter, seed):
    return f"{name}|{view}|{side}|{jitter}|{seed}"


def to_record(face):
    return {"box": [float(v) for v in face.box], "score": float(face.score),
            "landmarks": np.asarray(face.landmarks, dtype=float).round(3).tolist(),
            "image_size": [int(v) for v in face.image_size], "source": face.source}


def from_record(record):
    from models.faces import Face

    return Face(box=tuple(record["box"]), score=record["score"],
                landmarks=np.asarray(record["landmarks"], dtype=np.float64),
                image_size=tuple(record["image_size"]), source=record["source"])


def load_index(data_dir):
    """{key: [record, ...]} of a photo folder's FACES.json ({} when it has none)."""
    path = Path(data_dir) / FACE_INDEX
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())["views"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise ValueError(f"{path} is not a face index ({e}); delete it to detect faces again") from None


def faces_of(index, key, rgb):
    """The faces of one view: from the index when it holds the key, else detected on `rgb`."""
    if key in index:
        return [from_record(r) for r in index[key]]
    from models.faces import detect_faces

    return detect_faces(rgb)


def write_index(data_dir, views):
    """Write {key: [Face, ...]} as data_dir/FACES.json (temp file, then renamed)."""
    path = Path(data_dir) / FACE_INDEX
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"views": {k: [to_record(f) for f in faces] for k, faces in views.items()}}) + "\n")
    tmp.replace(path)
    return path
