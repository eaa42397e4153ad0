"""Face-region quality: do the eyes, nose and mouth keep their structure (S0)?

Faces and their 5 points are found on the INPUT photo (the same for every variant) with
`models.faces.detect_faces` (MediaPipe models under LiteRT, offline); `Face.regions()` gives the eye,
nose and mouth boxes. Each box is cut from the variant's and the reference's outputs and compared
with the full-image metrics: PSNR, SSIM (needs >= 11 px a side, else None for that crop) and LPIPS.
LPIPS's AlexNet needs about 32 px a side, so a crop whose short side is under LPIPS_MIN_SIDE is
enlarged (both crops, INTER_CUBIC, the same factor) to that side first; stated in every record.
A photo's value per region is the mean over its faces; photos without a face say so (faces: 0) and
do not count towards the summary. Rows may carry `identity` (evaluation.identity, the runner adds it):
summarised as identity_mean / _median / _worst (the largest distance).
"""

import cv2
import numpy as np

from evaluation.quality import SSIM_RADIUS, psnr, ssim, summary_metrics

REGIONS = ("eyes", "nose", "mouth")
LPIPS_MIN_SIDE = 64
LPIPS_NOTE = (f"face-region LPIPS: crops with a short side under {LPIPS_MIN_SIDE} px are enlarged "
              f"(INTER_CUBIC) to {LPIPS_MIN_SIDE} px before LPIPS")


def _crop(image, box):
    x0, y0, x1, y1 = box
    return np.ascontiguousarray(image[y0:y1, x0:x1])


def _enlarge(a, b):
    h, w = a.shape[:2]
    scale = LPIPS_MIN_SIDE / min(h, w)
    if scale <= 1:
        return a, b
    size = (max(LPIPS_MIN_SIDE, round(w * scale)), max(LPIPS_MIN_SIDE, round(h * scale)))
    return (cv2.resize(a, size, interpolation=cv2.INTER_CUBIC),
            cv2.resize(b, size, interpolation=cv2.INTER_CUBIC))


def region_metrics(output, reference, box, lpips_metric=None):
    """PSNR / SSIM / LPIPS of one box of two uint8 RGB images (None where the crop is too small)."""
    a, b = _crop(output, box), _crop(reference, box)
    row = {"psnr": psnr(a, b) if a.size else None}
    row["ssim"] = ssim(a, b) if min(a.shape[:2]) >= 2 * SSIM_RADIUS + 1 else None
    if lpips_metric is not None and min(a.shape[:2]) >= 2:
        row["lpips"] = lpips_metric(*_enlarge(a, b))
    return row


def face_row(name, output, reference, faces, lpips_metric=None):
    """Per-image row: {"image", "faces", "<region>_<metric>": mean over faces}."""
    row = {"image": name, "faces": len(faces)}
    if not faces:
        return row
    for region in REGIONS:
        per_face = [region_metrics(output, reference, face.regions()[region], lpips_metric) for face in faces]
        for metric in ("psnr", "ssim", "lpips"):
            values = [r[metric] for r in per_face if r.get(metric) is not None]
            if values:
                row[f"{region}_{metric}"] = float(np.mean(values))
    return row


def face_summary(rows):
    """Per-image rows -> the face_quality metrics (per region mean/median/worst) and notes."""
    with_face = [r for r in rows if r["faces"] > 0]
    metrics = {}
    for region in REGIONS:
        part = summary_metrics(with_face, prefix=f"{region}_")
        part.pop("images")
        metrics.update(part)
    identity = [r["identity"] for r in with_face if r.get("identity") is not None]
    if identity:  # evaluation.identity: embedding distance, lower is better (worst = largest)
        metrics.update(identity_mean=float(np.mean(identity)), identity_median=float(np.median(identity)),
                       identity_worst=float(np.max(identity)))
    metrics["images"] = len(with_face)
    metrics["images_without_face"] = len(rows) - len(with_face)
    metrics["faces"] = int(sum(r["faces"] for r in rows))
    notes = []
    without = [r["image"] for r in rows if r["faces"] == 0]
    if without:
        notes.append(f"no face found in {len(without)} of {len(rows)} images: {', '.join(without[:10])}"
                     + (" ..." if len(without) > 10 else ""))
    return metrics, notes
