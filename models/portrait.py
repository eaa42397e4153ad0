"""The official DCT-Net portrait pipeline: full-image network + per-face head network, blended.

For one uint8 RGB photo (official `source/cartoonize.py`, menyifang/DCT-Net):
1. shrink so the short side is <= 720 (INTER_AREA) and run the full-image ("bg") network on it,
   exactly as `models.processing.Cartoonizer` does;
2. find faces and their 5 points on that shrunk photo (`models.faces`);
3. for every face at least `min_face` px wide: similarity-warp the photo to a 288x288 crop that puts
   the 5 points on the official template (mtcnn-style 96x112 points, squared to 112, pulled 0.75x
   toward the centre, scaled to 288; white outside the photo), run the head network on the crop;
4. warp the stylised head back with the inverse transform and blend it over the full-image result
   with a soft alpha mask warped the same way (the official mask is an image, `alpha.jpg`, shipped
   with the ModelScope weights and not available here: `head_mask()` draws a feathered ellipse);
5. restore the input's size with INTER_AREA as the official pipeline does (`restore="linear"` gives
   the full-image contract's INTER_LINEAR instead).
No face (or none large enough) -> the full-image result alone, and `last.notes` says so.

Both networks are contract networks (float32 BGR (N, H, W, 3) in [-1, 1] -> same), so any variant
(Keras, LiteRT, pruned, quantised) can serve as either. In the official mobile release the head
network's weights are identical to the full-image network's, so by default the same object serves
both (`load_head_network`), and a compressed variant is then compressed the same way for both.
"""

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from models.images import check_array
from models.processing import Cartoonizer, ProcessingConfig, from_network, to_network
from models.validation import require

RESTORE = {"area": cv2.INTER_AREA, "linear": cv2.INTER_LINEAR}
HEAD_SIZE = 288  # the official head network's input side
# mtcnn / InsightFace 5-point template for a 96x112 crop: eye centres, nose tip, mouth corners
TEMPLATE_96x112 = np.array([[30.29459953, 51.69630051], [65.53179932, 51.50139999], [48.02519989, 71.73660278],
                            [33.54930115, 92.3655014], [62.72990036, 92.20410156]])


def head_template(size=HEAD_SIZE, ratio=0.75):
    """The official 5 target points in a size x size crop: template squared to 112x112 (x + 8),
    shrunk by `ratio` about the centre (more hair and chin in the crop), scaled to `size`."""
    pts = TEMPLATE_96x112 + [8.0, 0.0]
    pts = (pts - 56.0) * ratio + 56.0
    return pts * (size / 112.0)


def similarity_transform(src, dst):
    """Least-squares similarity (rotation, uniform scale, translation; no reflection) taking src
    points to dst points (Umeyama 1991) -> 2x3 float64 matrix for cv2.warpAffine."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(src) < 2:
        raise ValueError(f"src and dst must be matching (K, 2) point arrays with K >= 2. "
                         f"Received: src.shape={src.shape}, dst.shape={dst.shape}")
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    s, d = src - mu_s, dst - mu_d
    if s.var(axis=0).sum() < 1e-12:
        raise ValueError(f"src points all coincide; no transform is defined. Received: src={src.tolist()}")
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    fix = np.diag([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0])
    rot = u @ fix @ vt
    scale = np.trace(np.diag(sig) @ fix) / s.var(axis=0).sum()
    m = np.empty((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - m[:, :2] @ mu_s
    return m


def head_mask(size=HEAD_SIZE, axes=(0.40, 0.49), feather=0.15):
    """Soft alpha (size x size float32 in [0, 1]) standing in for the official `alpha.jpg`: an ellipse
    centred in the crop with semi-axes `axes` x size, 1 inside, falling linearly to 0 over the last
    `feather` x size px inside its rim (distance transform), so no seam shows at the crop's edge.
    The same construction appears as `initialize_mask` in the official repository's utilities."""
    hard = np.zeros((size, size), np.uint8)
    cv2.ellipse(hard, (size // 2, size // 2), (int(size * axes[0]), int(size * axes[1])), 0, 0, 360, 1, -1)
    dist = cv2.distanceTransform(hard, cv2.DIST_L2, 3)
    return np.clip(dist / (size * feather), 0.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class PortraitConfig:
    min_face: int = 32  # faces narrower than this (px, on the shrunk photo) keep the full-image result
    max_faces: int = 20  # the largest faces first; bounds time on crowd photos
    ratio: float = 0.75  # official `warp_and_crop_face(ratio=0.75)`
    head_batch: int = 4  # faces per head-network call
    restore: str = "area"  # back to the input size: "area" as the official pipeline, or "linear" as Cartoonizer

    def __post_init__(self):
        require(isinstance(self.min_face, int) and self.min_face >= 8, "min_face", self.min_face,
                "must be an int >= 8 (px)")
        require(isinstance(self.max_faces, int) and self.max_faces >= 1, "max_faces", self.max_faces,
                "must be an int >= 1")
        require(isinstance(self.ratio, (int, float)) and 0.3 <= self.ratio <= 1.5, "ratio", self.ratio,
                "must be a number in [0.3, 1.5]")
        require(isinstance(self.head_batch, int) and self.head_batch >= 1, "head_batch", self.head_batch,
                "must be an int >= 1")
        require(self.restore in RESTORE, "restore", self.restore, f"must be one of {sorted(RESTORE)}")


@dataclass
class PortraitReport:
    """What the last call did: per-stage wall times (ms), the faces, and plain-language notes."""
    detect_ms: float = 0.0
    align_ms: float = 0.0
    head_ms: float = 0.0
    blend_ms: float = 0.0
    full_ms: float = 0.0
    faces_found: int = 0
    faces_used: int = 0
    faces: list = field(default_factory=list)  # models.faces.Face on the shrunk photo
    notes: list = field(default_factory=list)

    def stages(self):
        """The `stages` record metrics of docs/contracts.md."""
        return {k: round(getattr(self, k), 3) for k in ("detect_ms", "align_ms", "head_ms", "blend_ms", "full_ms")}


class PortraitCartoonizer:
    """uint8 RGB photo -> uint8 RGB cartoon with DCT-Net's face pipeline; `last` reports the call."""

    def __init__(self, network, head_network=None, config=ProcessingConfig(), portrait=PortraitConfig(),
                 head_source="same network as the full image"):
        self.full = Cartoonizer(network, config)
        self.head_network = head_network if head_network is not None else network
        self.head_source = head_source
        self.portrait = portrait
        self.template = head_template(HEAD_SIZE, portrait.ratio)
        self.mask = head_mask(HEAD_SIZE)
        self.last = PortraitReport()

    def __call__(self, image):
        from models.faces import detect_faces  # LiteRT face models load on first use only

        image = check_array(image, "image")
        report = PortraitReport()
        t0 = time.perf_counter()
        batch, (sh, sw), (h, w) = self.full.prepare([image])
        work = image if (sh, sw) == (h, w) else cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA)
        result = from_network(np.asarray(self.full.network(batch))[0])[:sh, :sw]
        report.full_ms = _ms(t0)

        t0 = time.perf_counter()
        faces = detect_faces(work)
        report.detect_ms = _ms(t0)
        report.faces_found = len(faces)
        big = sorted((f for f in faces if f.width >= self.portrait.min_face), key=lambda f: -f.width)
        used = big[: self.portrait.max_faces]
        if len(faces) > len(used):
            report.notes.append(f"{len(faces) - len(used)} of {len(faces)} faces kept the full-image result "
                                f"(narrower than min_face={self.portrait.min_face} px or beyond "
                                f"max_faces={self.portrait.max_faces})")
        if not used:
            if not faces:
                report.notes.append("no face found: full-image result only")
            self.last = report
            return _restore(result, (h, w), self.portrait.restore)

        t0 = time.perf_counter()
        matrices = [similarity_transform(f.landmarks, self.template) for f in used]
        crops = [cv2.warpAffine(work, m, (HEAD_SIZE, HEAD_SIZE), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=(255, 255, 255)) for m in matrices]
        report.align_ms = _ms(t0)

        t0 = time.perf_counter()
        heads = []
        for i in range(0, len(crops), self.portrait.head_batch):
            chunk = np.stack([to_network(c) for c in crops[i:i + self.portrait.head_batch]])
            heads.extend(from_network(np.asarray(self.head_network(chunk))))
        report.head_ms = _ms(t0)

        t0 = time.perf_counter()
        result = result.copy()
        for m, head in zip(matrices, heads):
            blend_head(result, head, self.mask, m)
        report.blend_ms = _ms(t0)

        report.faces_used, report.faces = len(used), used
        self.last = report
        return _restore(result, (h, w), self.portrait.restore)


def blend_head(canvas, head, mask, m):
    """In place: warp the stylised head crop and its alpha back with the inverse of m (photo -> crop)
    and blend them over canvas (uint8 RGB): alpha * head + (1 - alpha) * canvas, rounded. Only the
    rectangle the crop lands on is touched (the same pixels as a whole-photo warp, less work)."""
    ch, cw = canvas.shape[:2]
    n = head.shape[0]
    inv = cv2.invertAffineTransform(m)
    corners = np.array([[0, 0], [n, 0], [0, n], [n, n]]) @ inv[:, :2].T + inv[:, 2]
    x0, y0 = np.maximum(np.floor(corners.min(axis=0)).astype(int) - 1, 0)
    x1, y1 = np.minimum(np.ceil(corners.max(axis=0)).astype(int) + 2, [cw, ch])
    if x1 <= x0 or y1 <= y0:
        return canvas  # the crop lies wholly outside the photo
    local = inv.copy()
    local[:, 2] -= [x0, y0]
    size = (int(x1 - x0), int(y1 - y0))
    head_back = cv2.warpAffine(head, local, size, flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    alpha = cv2.warpAffine(mask, local, size, flags=cv2.INTER_LINEAR, borderValue=0)[..., None]
    region = canvas[y0:y1, x0:x1].astype(np.float32)
    blended = alpha * head_back.astype(np.float32) + (1.0 - alpha) * region
    canvas[y0:y1, x0:x1] = np.clip(np.round(blended), 0, 255).astype(np.uint8)
    return canvas


def _restore(rgb, size, how):
    """Back to the input's size. The official portrait pipeline resizes with INTER_AREA (measured on the
    reference photo: 42.8 dB against its result, vs 41.4 dB with the full-image contract's INTER_LINEAR)."""
    h, w = size
    if rgb.shape[:2] != (h, w):
        rgb = cv2.resize(rgb, (w, h), interpolation=RESTORE[how])
    return np.ascontiguousarray(rgb)


def _ms(t0):
    return (time.perf_counter() - t0) * 1000.0


MODES = ("full", "portrait")


def cartoonizer_for(network, mode="full", head_network=None, config=ProcessingConfig(), portrait=PortraitConfig()):
    """The portrait-mode switch: "full" -> `Cartoonizer` (full-image network only), "portrait" ->
    `PortraitCartoonizer` (faces restyled by the head network). Both map uint8 RGB -> uint8 RGB."""
    require(mode in MODES, "mode", mode, f"must be one of {MODES}")
    if mode == "full":
        return Cartoonizer(network, config)
    return PortraitCartoonizer(network, head_network, config, portrait)


def load_head_network(style, bg_model=None):
    """The head network of a style as (keras model, where it came from).

    An imported official head (`python -m models import-weights SRC --style S --network head`,
    stored as models/weights/<style>_head.npz) wins; otherwise the full-image weights serve, because
    in the official mobile release every style's head network is identical to its full-image one."""
    from models.weights import bundled_path, load_model

    if bundled_path(style, "head").exists():
        return load_model(style, "head"), f"{style}_head.npz (imported head network)"
    model = bg_model if bg_model is not None else load_model(style, "bg")
    return model, f"{style}_bg.npz (official mobile head weights are identical to the full-image ones)"
