"""Training data of the distillation / recovery loop: views of a photo, crops (random and face-centred),
the teacher's outputs cached once per crop, and the batch of a step.

The teacher runs on each crop itself, not on the whole photo: DCT-Net's output near a border depends on
~48 px of context, so a crop of the teacher's full-image output is not what the teacher (or a student)
produces for that crop (docs/distillation.md). A step's batch is a function of (seed, step) alone, so a
resumed run sees exactly the batches an uninterrupted one would.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.portraits import resize_short_side


def make_view(rgb, view, jitter, seed):
    """View 0 is the photo; odd views are mirrored; views >= 1 get a mild colour jitter."""
    if view == 0:
        return rgb
    rng = np.random.default_rng([seed, view, 7919])
    x = rgb.astype(np.float32)
    if view % 2 == 1:
        x = x[:, ::-1]
    if jitter > 0:
        b, c, s = rng.uniform(1 - jitter, 1 + jitter, size=3)
        x = x * b
        x = (x - x.mean()) * c + x.mean()
        grey = x.mean(axis=-1, keepdims=True)
        x = (x - grey) * s + grey
    return np.ascontiguousarray(np.clip(np.rint(x), 0, 255).astype(np.uint8))


def training_view(rgb, name, view, config):
    """View `view` of photo `name` (already at the training scale) as every run of `config` makes it."""
    return make_view(rgb, view, config.jitter, _name_seed(config.seed, name))


def model_fingerprint(model):
    h = hashlib.sha256()
    for w in model.get_weights():
        h.update(np.ascontiguousarray(w, dtype=np.float32).tobytes())
    return h.hexdigest()[:12]


@dataclass(frozen=True)
class Pair:
    """Cached crops of one photo view: uint8 RGB photos (N, c, c, 3) and the teacher's float16 BGR
    outputs (N, c, c, 3) in [-1, 1] for exactly those crops."""

    image: str
    view: int
    photo_path: Path
    target_path: Path
    face_photo_path: Path | None = None  # face-centred crops (None: no face found, or none asked for)
    face_target_path: Path | None = None


def crop_boxes(h, w, crop, count, seed):
    """`count` (top, left) corners of crop x crop boxes, multiples of 4; count 0 = the centre box."""
    if count == 0:
        return [((h - crop) // 8 * 4, (w - crop) // 8 * 4)]
    rng = np.random.default_rng(seed)
    return [(4 * int(rng.integers(0, (h - crop) // 4 + 1)), 4 * int(rng.integers(0, (w - crop) // 4 + 1)))
            for _ in range(count)]


def face_boxes(rgb, crop, count, seed, faces=None):
    """`count` (top, left) corners of crop x crop boxes around the largest face of `rgb` (none: []);
    `faces`: the faces of `rgb` when already known (`models.face_index`), else they are detected.

    Each box is centred on the face's eyes-nose-mouth centre, shifted by up to crop / 8 (seeded) so
    the student sees the face at several positions, then clamped inside the photo; corners are
    multiples of 4 (the network's stride).
    """
    if faces is None:
        from models.faces import detect_faces

        faces = detect_faces(rgb)
    if not faces or count == 0:
        return []
    face = max(faces, key=lambda f: f.width)
    cx, cy = face.landmarks.mean(axis=0)
    h, w = rgb.shape[:2]
    rng = np.random.default_rng(seed)
    boxes = []
    for i in range(count):
        dx, dy = (rng.uniform(-crop / 8, crop / 8, size=2) if i else (0.0, 0.0))
        top = int(np.clip(cy + dy - crop / 2, 0, h - crop)) // 4 * 4
        left = int(np.clip(cx + dx - crop / 2, 0, w - crop)) // 4 * 4
        boxes.append((top, left))
    return boxes


def cache_pairs(names, teacher, config, views, crops=None, crop=None, progress=False, desc="teacher targets",
                faces=0):
    """Run the teacher once per (photo, view, crop) not yet cached; return one Pair per (photo, view).

    The teacher runs on each crop itself, not on the whole photo: DCT-Net's output near a border
    depends on ~48 px of context, so a crop of the teacher's full-image output is not what the teacher
    (or the student) produces for that crop (24 dB apart on 256 px crops; identical beyond 48 px).
    crops: random crops per view (default config.crops_per_view; 0 = one centre crop).
    faces: face-centred crops per view as well (`face_boxes`; a view without a face has none).
    """
    from models.face_index import faces_of, load_index, view_key
    from models.images import load_image

    index = load_index(config.data_dir) if faces else {}
    crops = config.crops_per_view if crops is None else crops
    crop = crop or config.crop
    folder = Path(config.cache_dir) / f"teacher-{model_fingerprint(teacher)}" / f"side{config.image_side}"
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [(n, v) for n in names for v in range(views)]
    pairs = []
    bar = progress_bar(len(jobs), desc, progress)
    for name, view in jobs:
        key = hashlib.sha256(f"{name}|{view}|{config.jitter}|{config.seed}|{crop}x{crops}".encode()).hexdigest()
        photo_path, target_path = folder / f"{key[:16]}_photo.npy", folder / f"{key[:16]}_target.npy"
        view_rgb = None

        def view_image():
            rgb = resize_short_side(load_image(Path(config.data_dir) / name), config.image_side)
            return training_view(rgb, name, view, config)

        if not (photo_path.exists() and target_path.exists()):
            view_rgb = view_image()
            c = min(crop, *(d - d % 4 for d in view_rgb.shape[:2]))
            boxes = crop_boxes(*view_rgb.shape[:2], c, crops, [config.seed, _name_seed(config.seed, name), view])
            _cache_crops(teacher, view_rgb, boxes, c, photo_path, target_path)
        face_photo = face_target = None
        if faces:
            fkey = hashlib.sha256(f"{key}|faces{faces}".encode()).hexdigest()[:16]
            face_photo, face_target = folder / f"{fkey}_face_photo.npy", folder / f"{fkey}_face_target.npy"
            none_marker = folder / f"{fkey}_noface"
            if not (face_photo.exists() and face_target.exists()) and not none_marker.exists():
                view_rgb = view_image() if view_rgb is None else view_rgb
                c = min(crop, *(d - d % 4 for d in view_rgb.shape[:2]))
                found = faces_of(index, view_key(name, view, config.image_side, config.jitter, config.seed),
                                 view_rgb)
                boxes = face_boxes(view_rgb, c, faces, [config.seed, _name_seed(config.seed, name), view, 1],
                                   faces=found)
                if boxes:
                    _cache_crops(teacher, view_rgb, boxes, c, face_photo, face_target)
                else:
                    none_marker.touch()
            if none_marker.exists():
                face_photo = face_target = None
        pairs.append(Pair(name, view, photo_path, target_path, face_photo, face_target))
        bar.update(1)
    bar.close()
    return pairs


def _cache_crops(teacher, rgb, boxes, c, photo_path, target_path):
    """Run the teacher on each crop of `rgb` and save (uint8 photos, float16 targets)."""
    from models.processing import to_network

    photos = np.stack([rgb[t:t + c, l:l + c] for t, l in boxes])
    target = to_numpy(teacher(to_network(photos), training=False)).astype(np.float16)
    _save_npy(photo_path, photos)
    _save_npy(target_path, target)


def _name_seed(seed, name):
    return int(hashlib.sha256(f"{seed}:{name}".encode()).hexdigest()[:8], 16)


def _save_npy(path, array):
    tmp = path.with_name(path.name + ".tmp.npy")
    np.save(tmp, array)
    tmp.replace(path)


def sample_batch(pairs, config, step):
    """The batch of `step`: (photos BGR [-1, 1], teacher targets), a function of (seed, step) only.

    round(face_share * batch_size) of the crops come from the face crops (when any photo has a face),
    the rest from the random crops.
    """
    from models.processing import to_network

    rng = np.random.default_rng([config.seed, step])
    with_face = [p for p in pairs if p.face_photo_path is not None]
    n_face = round(config.face_share * config.batch_size) if with_face else 0
    draws = [(pairs[i].photo_path, pairs[i].target_path)
             for i in rng.integers(0, len(pairs), size=config.batch_size - n_face)]
    draws += [(with_face[i].face_photo_path, with_face[i].face_target_path)
              for i in rng.integers(0, len(with_face), size=n_face)] if n_face else []
    xs, ys = [], []
    for photo_path, target_path in draws:
        photos = np.load(photo_path, mmap_mode="r")
        j = int(rng.integers(0, photos.shape[0]))
        xs.append(to_network(np.asarray(photos[j])))
        ys.append(np.asarray(np.load(target_path, mmap_mode="r")[j], dtype=np.float32))
    return np.stack(xs), np.stack(ys)


def centre_batch(pairs):
    """Every cached crop of the pairs as one batch (validation: one centre crop per photo)."""
    from models.processing import to_network

    xs = np.concatenate([np.load(p.photo_path) for p in pairs])
    ys = np.concatenate([np.load(p.target_path) for p in pairs])
    return to_network(xs), ys.astype(np.float32)


def to_numpy(x):
    """Backend tensor -> NumPy (torch tensors that track gradients need detaching first)."""
    from keras import ops

    return ops.convert_to_numpy(x)


def progress_bar(total, desc, enabled, initial=0):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, initial=initial, disable=not enabled, dynamic_ncols=True)
