"""Per-layer INT8 sensitivity: what each learned conv costs when it alone is quantized, and what it saves
when it alone is left float, scored on calibration-side photos (never the evaluation split).

For every learned conv L (18 in DCT-Net) two models are made from ONE calibrated model
(`models.int8_selective`, one `mlir_quantize` each, ~0.3 s):
  - "alone_int8":  L's unit INT8, everything else float (the cost L brings on its own);
  - "alone_float": L's unit float, everything else INT8 (what leaving L float buys back);
plus the ends: "full_int8" (the guided filter float, as `tflite_int8_full`), "all_float" (every group
denylisted: the converter still requantizes the 4 inputs of the upsampling's concatenations, so this is
the ceiling of any mix) and "fp32" (the plain FP32 export). Each is run
with LiteRT on the scoring photos and scored against the Keras FP32 original's uint8 output at the same
size: PSNR (mean and worst photo), eyes SSIM (scikit-image, on the eye boxes of the faces found on the
input; absent where no face is found) and, when the caller passes one, LPIPS (`lpips_metric(a, b)` on
uint8 RGB: models/ does not import evaluation/, so `python -m evaluation sensitivity` supplies it).

Results are cached per model, calibration and scoring set in `lab_data/int8/` (one JSON that grows row
by row, so an interrupted run resumes).
"""

import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from models.int8_selective import (Calibration, calibrated_model, centre_square, face_square,
                                   float_model, float_nodes_for, groups, layer_nodes, quantize, weights_fingerprint, cache_dir)
from models.portraits import calibration_side
from models.validation import require

MODES = ("alone_int8", "alone_float")
EYES_MIN_SIDE = 11  # SSIM's 11 x 11 Gaussian window


@dataclass(frozen=True)
class ScoringSet:
    """The last `images` calibration-side photos of the seeded order (calibration takes the first ones),
    as square crops."""

    images: int = 8
    size: int = 512
    crop: str = "centre"

    def __post_init__(self):
        require(isinstance(self.images, int) and not isinstance(self.images, bool) and 1 <= self.images <= 200,
                "score_images", self.images, "must be an int in [1, 200]")
        require(isinstance(self.size, int) and 32 <= self.size <= 2048 and self.size % 16 == 0,
                "score_size", self.size, "must be a multiple of 16 in [32, 2048]")

    def key(self):
        return f"tail{self.images}_s{self.size}_{self.crop}"


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 99.0 if mse == 0 else min(99.0, float(10 * np.log10(255.0 ** 2 / mse)))


def eyes_ssim(a, b, boxes):
    """Mean SSIM (scikit-image, Gaussian 1.5, the evaluation's settings) over the eye boxes, or None."""
    from skimage.metrics import structural_similarity

    values = []
    for x0, y0, x1, y1 in boxes:
        ca, cb = a[y0:y1, x0:x1], b[y0:y1, x0:x1]
        if min(ca.shape[:2]) >= EYES_MIN_SIDE:
            values.append(structural_similarity(ca, cb, channel_axis=2, data_range=255, gaussian_weights=True,
                                                sigma=1.5, use_sample_covariance=False))
    return float(np.mean(values)) if values else None


class Scorer:
    """Scores a contract network against the reference model's uint8 outputs on a fixed photo set."""

    def __init__(self, reference_model, scoring=ScoringSet(), calibration=Calibration(), lpips_metric=None,
                 portraits_dir=None):
        from models.faces import detect_faces
        from models.images import load_image
        from models.processing import from_network, to_network

        files = calibration_side(calibration.seed, portraits_dir)
        require(scoring.images + calibration.images <= len(files), "score_images", scoring.images,
                f"must leave the {calibration.images} calibration photos apart: only {len(files)} "
                f"calibration-side portraits")
        files = files[::-1]  # scoring photos are the tail of the seeded order, calibration its head: the
        # same scoring photos for every calibration size, never calibrated on
        cut = face_square if scoring.crop == "face" else centre_square
        self.scoring, self.lpips_metric = scoring, lpips_metric
        self.files = files[:scoring.images]
        self.inputs, self.references, self.eyes = [], [], []
        for f in self.files:
            rgb = cut(load_image(f), scoring.size)
            x = to_network(rgb)[None]
            self.inputs.append(x)
            self.references.append(from_network(np.asarray(reference_model(x, training=False))[0]))
            self.eyes.append([face.regions()["eyes"] for face in detect_faces(rgb)])
        self.faces = sum(len(e) for e in self.eyes)

    def __call__(self, network):
        from models.processing import from_network

        rows = []
        for x, ref, eyes in zip(self.inputs, self.references, self.eyes):
            out = from_network(network(x)[0])
            row = {"psnr": psnr(out, ref), "eyes_ssim": eyes_ssim(out, ref, eyes)}
            if self.lpips_metric is not None:
                row["lpips"] = float(self.lpips_metric(out, ref))
            rows.append(row)
        return summarize(rows)


def summarize(rows):
    """Per-photo rows -> psnr (mean), psnr_worst, lpips (mean), lpips_worst (max), eyes_ssim (mean over photos
    with a face), eyes_ssim_worst."""
    p = [r["psnr"] for r in rows]
    out = {"psnr": float(np.mean(p)), "psnr_worst": float(np.min(p)), "photos": len(rows)}
    lp = [r["lpips"] for r in rows if r.get("lpips") is not None]
    if lp:
        out.update(lpips=float(np.mean(lp)), lpips_worst=float(np.max(lp)))
    ey = [r["eyes_ssim"] for r in rows if r.get("eyes_ssim") is not None]
    if ey:
        out.update(eyes_ssim=float(np.mean(ey)), eyes_ssim_worst=float(np.min(ey)), photos_with_faces=len(ey))
    return out


def run_tflite(content, scorer, threads=2):
    """Write model bytes to a temporary file, run them with LiteRT through the scorer."""
    from models.litert import LiteRTNetwork

    with tempfile.TemporaryDirectory(prefix="dctnet-int8-") as tmp:
        path = Path(tmp) / "mix.tflite"
        path.write_bytes(content)
        return scorer(LiteRTNetwork(path, threads=threads))


def mix_nodes(nodes, mode, layer):
    """Denylist (float nodes) of one sensitivity model: everything but `layer` float, or only `layer` float."""
    if mode == "alone_int8":
        return float_nodes_for(nodes, [n for n in groups(nodes) if n != layer])
    return float_nodes_for(nodes, [layer])


def int8_sensitivity(model, layers, calibration=Calibration(), scoring=ScoringSet(), lpips_metric=None,
                     threads=2, per_channel=True, cache=True, progress=True, portraits_dir=None, modes=MODES):
    """The sensitivity table of a Keras DCT-Net: {"rows": [{layer, alone_int8: {...}, alone_float: {...}}],
    "full_int8", "fp32", "ranking" (most sensitive first, by PSNR gained when left float alone), ...}."""
    require(layers and len(set(layers)) == len(layers), "layers", layers, "must be distinct layer names")
    metric_tag = "lpips" if lpips_metric is not None else "nolpips"
    key = f"{weights_fingerprint(model)}_{calibration.key()}_{scoring.key()}_{metric_tag}_pc{int(per_channel)}"
    path = cache_dir() / f"sensitivity_{key}.json"
    scored_with_lpips = path.with_name(path.name.replace("_nolpips_", "_lpips_"))
    done = {}
    if cache and path.is_file():
        done = json.loads(path.read_text())
    elif lpips_metric is None and cache and scored_with_lpips.is_file():
        done = json.loads(scored_with_lpips.read_text())  # holds every PSNR / eyes SSIM figure too
    start = time.perf_counter()
    calibrated = calibrated_model(model, calibration, cache=cache, portraits_dir=portraits_dir)
    nodes = layer_nodes(calibrated, model, layers)
    scorer = Scorer(model, scoring, calibration, lpips_metric, portraits_dir)
    units = groups(nodes)  # the learned convs, then the glue between them (upsampling, additions)
    jobs = [("full_int8", None, float_nodes_for(nodes, [])), ("all_float", None, float_nodes_for(nodes, units))]
    jobs.append(("fp32", None, None))  # the real FP32 export (the float route above keeps 4 requantizations)
    # alone_float first: it is what the mixed method ranks by, and the quicker half (mostly INT8)
    jobs += [(f"{mode}:{unit}", unit, mix_nodes(nodes, mode, unit)) for mode in MODES[::-1] if mode in modes
             for unit in units]
    for i, (name, _, denylist) in enumerate(jobs):
        if name in done:
            continue
        t = time.perf_counter()
        content = float_model(model, cache) if name == "fp32" else quantize(calibrated, denylist, per_channel)
        done[name] = run_tflite(content, scorer, threads)
        if progress:
            print(f"[{i + 1}/{len(jobs)}] {name}: {done[name]['psnr']:.2f} dB (worst {done[name]['psnr_worst']:.2f})"
                  f" in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        if cache:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
            tmp.write_text(json.dumps(done, indent=1))
            os.replace(tmp, path)
    rows = [{"layer": unit, "kind": "conv" if unit in layers else "glue",
             **{mode: done[f"{mode}:{unit}"] for mode in modes}} for unit in units]
    full = done["full_int8"]
    for row in rows:  # cost of quantizing it alone; gain of leaving it float alone (dB, positive = matters)
        if "alone_int8" in row:
            row["psnr_cost_alone_int8"] = done["all_float"]["psnr"] - row["alone_int8"]["psnr"]
        if "alone_float" in row:
            row["psnr_gain_alone_float"] = row["alone_float"]["psnr"] - full["psnr"]
        if "lpips" in full and "lpips" in row.get("alone_float", {}):
            row["lpips_gain_alone_float"] = full["lpips"] - row["alone_float"]["lpips"]
    by = "psnr_gain_alone_float" if "alone_float" in modes else "psnr_cost_alone_int8"
    ranking = [r["layer"] for r in sorted(rows, key=lambda r: -r[by])]  # convs and glue
    return {"model": weights_fingerprint(model), "calibration": asdict(calibration), "scoring": asdict(scoring),
            "scoring_photos": [str(f) for f in scorer.files], "faces": scorer.faces,
            "lpips": lpips_metric is not None, "per_channel": per_channel, "threads": threads,
            "full_int8": full, "all_float": done["all_float"], "fp32": done["fp32"], "rows": rows, "ranking": ranking,
            "ranking_alone_int8": [r["layer"] for r in sorted(rows, key=lambda r: -r.get("psnr_cost_alone_int8", 0))],
            "seconds": round(time.perf_counter() - start, 1), "cache": str(path) if cache else None}
