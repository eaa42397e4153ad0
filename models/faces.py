"""Faces and their 5 alignment points, offline, from MediaPipe models run under LiteRT.

Pipeline (all on the CPU, no network access; models vendored in models/face_models/, see its README):
1. BlazeFace (MediaPipe face detection). The full-range model (192x192, faces up to ~5 m) runs on
   the whole photo and, for large photos, on 384 px tiles overlapping by half, so faces down to
   about MIN_FACE_PX (32 px) wide in group photos are not shrunk away; the short-range model (128x128) runs on the whole photo for
   close-ups. Detections from all passes are merged with weighted non-maximum suppression.
2. Face mesh (MediaPipe face landmark, 468 points) on a square crop 1.5x the detected box, rotated
   so the eyes are level, as MediaPipe does. From the mesh: eye centres (mean of each eye contour),
   nose tip (point 1) and mouth corners (61, 291): the 5 points DCT-Net aligns its head crop with.
   When the mesh says "no face" (its own score), the 5 points come from BlazeFace's keypoints
   instead (eyes, nose; mouth corners estimated around the mouth centre) and `Face.source` says so.

Points are ordered as in the official 5-point template: left eye, right eye, nose tip, left mouth
corner, right mouth corner, where "left" is image-left for an upright, unmirrored face (the
subject's right). The order is anatomical, so a rotated or upside-down face still maps eye to eye.
"""

import threading
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from models.images import check_array

MODEL_DIR = Path(__file__).resolve().parent / "face_models"
MIN_SCORE = 0.5  # BlazeFace's own default threshold
NMS_IOU = 0.3  # MediaPipe's suppression threshold
MESH_MIN_SCORE = 0.5  # below this the face mesh itself says it found no face
ROI_SCALE = 1.5  # MediaPipe: the mesh crop is 1.5x the detection box
MIN_FACE_PX = 32  # faces this wide are still found in large photos (tiling below)
# BlazeFace full range finds faces from ~16 px of its 192 px input (measured): tiles of 384 px see 32 px faces
TILE_SIDE = 192 * MIN_FACE_PX // 16
MAX_TILES = 64  # ~4 ms each; larger photos get coarser tiles (and a larger smallest face)
RAW_LIMIT = 80.0  # clip logits before the sigmoid (MediaPipe uses 100, overflowing float32 exp)

# Mesh indices (MediaPipe canonical face mesh). "Left" = image-left on an upright unmirrored face.
LEFT_EYE_CONTOUR = [33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173]
RIGHT_EYE_CONTOUR = [263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398]
NOSE_TIP, MOUTH_LEFT, MOUTH_RIGHT = 1, 61, 291


@dataclass(frozen=True, eq=False)  # eq=False: identity hash/eq (an ndarray field cannot be hashed)
class Face:
    box: tuple  # (x0, y0, x1, y1) floats, pixels of the photo given to detect_faces
    score: float  # BlazeFace confidence in [0, 1]
    landmarks: np.ndarray = field(repr=False)  # (5, 2) float (x, y): eyes, nose tip, mouth corners
    image_size: tuple = (0, 0)  # (width, height) of that photo, for clipping regions
    source: str = "mesh"  # "mesh" (face-mesh points) or "detector" (BlazeFace keypoints fallback)
    mesh: np.ndarray | None = field(default=None, repr=False)  # (468, 2) when source == "mesh"

    @property
    def width(self):
        return self.box[2] - self.box[0]

    @property
    def eye_distance(self):
        return float(np.linalg.norm(self.landmarks[1] - self.landmarks[0]))

    def regions(self):
        """{"eyes", "nose", "mouth"} -> (x0, y0, x1, y1) integer pixel boxes clipped to the photo.

        Sized from the eye distance d so they scale with the face: eyes = both eye centres +-0.4d
        across, +-0.25d up/down; nose = from just below the eyes to below the tip, 0.6d wide;
        mouth = both corners +-0.15d across, +-0.25d up/down. Every box is at least 1 px.
        """
        p = self.landmarks
        d = max(self.eye_distance, 2.0)
        eyes, nose, mouth = p[0:2], p[2:3], p[3:5]
        eye_mid = eyes.mean(axis=0)
        boxes = {
            "eyes": _around(eyes, 0.4 * d, 0.25 * d),
            "nose": _around(np.stack([eye_mid + 0.35 * (nose[0] - eye_mid), nose[0]]), 0.3 * d, 0.15 * d),
            "mouth": _around(mouth, 0.15 * d, 0.25 * d),
        }
        w, h = self.image_size
        return {name: _clip_box(b, w, h) for name, b in boxes.items()}


def _around(points, mx, my):
    return (points[:, 0].min() - mx, points[:, 1].min() - my, points[:, 0].max() + mx, points[:, 1].max() + my)


def _clip_box(box, w, h):
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    x0, y0 = min(max(x0, 0), max(w - 1, 0)), min(max(y0, 0), max(h - 1, 0))
    x1, y1 = min(max(x1, x0 + 1), w), min(max(y1, y0 + 1), h)
    return (x0, y0, x1, y1)


# --- the three models, loaded once per process --------------------------------------------------

_lock = threading.Lock()  # LiteRT interpreters are not thread-safe; Streamlit runs sessions in threads
_models = {}


def _interpreter(name):
    from ai_edge_litert.interpreter import Interpreter

    if name not in _models:
        path = MODEL_DIR / f"{name}.tflite"
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing; the face models ship with the repository "
                                    "(models/face_models/README.md says where they come from).")
        it = Interpreter(model_path=str(path), num_threads=1)
        it.allocate_tensors()
        _models[name] = it
    return _models[name]


def _run(name, tensor):
    it = _interpreter(name)
    it.set_tensor(it.get_input_details()[0]["index"], tensor[None].astype(np.float32))
    it.invoke()
    return [it.get_tensor(d["index"])[0] for d in it.get_output_details()]


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -RAW_LIMIT, RAW_LIMIT)))


# --- BlazeFace --------------------------------------------------------------------------------

# (model, input side, strides, anchors per cell) from MediaPipe's ssd_anchors options
DETECTORS = {
    "face_detection_full_range": (192, [4], 1),
    "face_detection_short_range": (128, [8, 16, 16, 16], 2),
}


def _anchors(side, strides, per_cell):
    """Anchor centres in [0, 1], in the model's output order (MediaPipe SsdAnchorsCalculator, fixed size)."""
    centres, i = [], 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        n = side // strides[i]
        repeats = per_cell * (j - i)
        ys, xs = np.meshgrid((np.arange(n) + 0.5) / n, (np.arange(n) + 0.5) / n, indexing="ij")
        centres.append(np.repeat(np.stack([xs.ravel(), ys.ravel()], axis=1), repeats, axis=0))
        i = j
    return np.concatenate(centres).astype(np.float32)


_ANCHORS = {name: _anchors(*opts) for name, opts in DETECTORS.items()}


def _detect_square(name, rgb, x0, y0, side_px):
    """Run one BlazeFace model on the square window (x0, y0, side_px) of rgb (padded with black past
    the photo's edge, like MediaPipe's letterbox). -> (N, 17): box x0 y0 x1 y1, 6 keypoints, score,
    in photo pixels."""
    side = DETECTORS[name][0]
    scale = side / side_px
    m = np.float32([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]])
    crop = _warp(rgb, m, side)
    raw_boxes, raw_scores = _run(name, crop.astype(np.float32) / 127.5 - 1.0)
    scores = _sigmoid(raw_scores[:, 0])
    keep = scores > MIN_SCORE
    if not keep.any():
        return np.zeros((0, 17), np.float32)
    raw, scores, anchors = raw_boxes[keep] / side, scores[keep], _ANCHORS[name][keep]
    centre = raw[:, 0:2] + anchors
    half = raw[:, 2:4] / 2
    points = raw[:, 4:16].reshape(-1, 6, 2) + anchors[:, None, :]
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    out = np.concatenate([boxes, points.reshape(-1, 12)], axis=1) * side  # model pixels
    out = out / scale + np.tile([x0, y0], 8)  # photo pixels
    valid = (out[:, 2] > out[:, 0]) & (out[:, 3] > out[:, 1])
    return np.concatenate([out, scores[:, None]], axis=1)[valid]


def _warp(rgb, m, side):
    """Resample rgb with the 2x3 matrix m (photo -> output) into side x side, black outside the photo.

    Only the photo region the output covers is touched, and a large shrink is done with INTER_AREA
    first so the small models see an anti-aliased face (and a 12 MP photo costs milliseconds)."""
    h, w = rgb.shape[:2]
    inv = _invert(m)
    corners = np.array([[0, 0], [side, 0], [0, side], [side, side]], np.float32) @ inv[:, :2].T + inv[:, 2]
    x0, y0 = np.floor(corners.min(axis=0)).astype(int) - 2
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 2
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return np.zeros((side, side, 3), np.uint8)
    region = rgb[y0:y1, x0:x1]
    m = _compose(m, np.float32([[1, 0, x0], [0, 1, y0]]))  # region pixels -> output
    s = float(np.hypot(m[0, 0], m[0, 1]))
    if s < 0.5:
        rh, rw = region.shape[:2]
        nw, nh = max(1, round(rw * s * 2)), max(1, round(rh * s * 2))
        region = cv2.resize(region, (nw, nh), interpolation=cv2.INTER_AREA)
        m = _compose(m, np.float32([[rw / nw, 0, 0], [0, rh / nh, 0]]))
    return cv2.warpAffine(region, m, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(0, 0, 0))


def _invert(m):
    return cv2.invertAffineTransform(np.asarray(m, np.float64)).astype(np.float32)


def _compose(a, b):
    """a after b, both 2x3."""
    a3, b3 = np.vstack([a, [0, 0, 1]]), np.vstack([b, [0, 0, 1]])
    return (a3 @ b3)[:2].astype(np.float32)


def _windows(w, h):
    """Square windows to run the detectors on: the whole photo, then (for photos too large for the
    whole-photo pass to see a MIN_FACE_PX face) tiles overlapping by half, so any face up to half
    a tile lies wholly inside one of them."""
    side = max(w, h)
    wins = [("face_detection_short_range", 0, 0, side), ("face_detection_full_range", 0, 0, side)]
    tile = TILE_SIDE
    while _tile_count(w, h, tile) > MAX_TILES:  # very large photos: coarser tiles, bounded time
        tile = int(tile * 1.25)
    if side > tile * 1.5:
        for ty in _starts(h, tile):
            for tx in _starts(w, tile):
                wins.append(("face_detection_full_range", tx, ty, tile))
    return wins


def _starts(length, tile):
    if length <= tile:
        return [0]
    n = int(np.ceil((length - tile) / (tile / 2))) + 1
    return [int(round(v)) for v in np.linspace(0, length - tile, n)]


def _tile_count(w, h, tile):
    return len(_starts(w, tile)) * len(_starts(h, tile))


def _iou(a, b):
    ix = np.clip(np.minimum(a[2], b[:, 2]) - np.maximum(a[0], b[:, 0]), 0, None)
    iy = np.clip(np.minimum(a[3], b[:, 3]) - np.maximum(a[1], b[:, 1]), 0, None)
    inter = ix * iy
    area = lambda r: (r[..., 2] - r[..., 0]) * (r[..., 3] - r[..., 1])  # noqa: E731
    return inter / (area(a) + area(b) - inter + 1e-9)


def _weighted_nms(dets):
    """MediaPipe's weighted NMS: overlapping detections are averaged, weighted by score."""
    order = np.argsort(-dets[:, 16])
    dets = dets[order]
    out = []
    while len(dets):
        overlap = _iou(dets[0], dets) > NMS_IOU
        group = dets[overlap]
        weights = group[:, 16:17]
        merged = (group[:, :16] * weights).sum(axis=0) / weights.sum()
        out.append(np.append(merged, dets[0, 16]))
        dets = dets[~overlap]
    return out


# --- face mesh -> 5 points ---------------------------------------------------------------------

def _mesh(rgb, det):
    """Face mesh on the rotated square ROI of a detection -> ((468, 2) photo pixels, mesh score)."""
    box, kp = det[:4], det[4:16].reshape(6, 2)
    centre = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
    size = max(box[2] - box[0], box[3] - box[1]) * ROI_SCALE
    dx, dy = kp[1] - kp[0]  # keypoint 0 is image-left eye on an upright face
    angle = np.arctan2(dy, dx)  # rotate the ROI so the eyes come out level
    c, s = np.cos(angle), np.sin(angle)
    side = 192
    k = side / size
    # photo -> ROI: translate centre to origin, rotate by -angle, scale, move to ROI centre
    m = np.float32([[k * c, k * s, 0], [-k * s, k * c, 0]])
    m[:, 2] = side / 2 - m[:, :2] @ centre
    crop = _warp(rgb, m, side)
    raw, flag = _run("face_landmark", crop.astype(np.float32) / 255.0)
    pts = raw.reshape(-1, 3)[:, :2]  # ROI pixels
    inv = _invert(m)
    pts = pts @ inv[:, :2].T + inv[:, 2]
    return pts.astype(np.float64), float(_sigmoid(flag.ravel()[-1]))


def five_points_from_mesh(mesh):
    """(468, 2) mesh -> (5, 2): eye centres, nose tip, mouth corners."""
    return np.stack([mesh[LEFT_EYE_CONTOUR].mean(axis=0), mesh[RIGHT_EYE_CONTOUR].mean(axis=0),
                     mesh[NOSE_TIP], mesh[MOUTH_LEFT], mesh[MOUTH_RIGHT]])


def five_points_from_detector(det):
    """BlazeFace keypoints -> (5, 2); its one mouth point is spread by 0.4 eye distances (average
    mouth width is about 0.8x the distance between the eye centres)."""
    kp = det[4:16].reshape(6, 2).astype(np.float64)
    eye_vec = kp[1] - kp[0]
    return np.stack([kp[0], kp[1], kp[2], kp[3] - 0.4 * eye_vec, kp[3] + 0.4 * eye_vec])


def detect_faces(rgb, min_score=MIN_SCORE):
    """uint8 RGB H x W x 3 -> list[Face], most confident first (empty when there is no face)."""
    rgb = check_array(rgb, "rgb")
    if not 0.0 < min_score < 1.0:
        raise ValueError(f"min_score must be in (0, 1). Received: min_score={min_score!r}")
    h, w = rgb.shape[:2]
    with _lock:
        found = [_detect_square(name, rgb, x0, y0, side) for name, x0, y0, side in _windows(w, h)]
        dets = np.concatenate(found)
        dets = _weighted_nms(dets) if len(dets) else []
        faces = []
        for det in dets:
            if det[16] < min_score:
                continue
            mesh, mesh_score = _mesh(rgb, det)
            if mesh_score >= MESH_MIN_SCORE:
                points, source = five_points_from_mesh(mesh), "mesh"
            else:
                points, source, mesh = five_points_from_detector(det), "detector", None
            box = tuple(float(v) for v in np.clip(det[:4], [0, 0, 0, 0], [w, h, w, h]))
            faces.append(Face(box=box, score=float(det[16]), landmarks=points, image_size=(w, h),
                              source=source, mesh=mesh))
    return faces
