"""Measure variants the same way and turn every measurement into records (docs/contracts.md).

For each variant: one `static` record (file bytes, params, MACs at STATIC_RESOLUTION); then for each
size: `latency`, `throughput` (per batch size the runtime supports), `memory` (isolated process),
`quality` and `face_quality` (against the reference's output on the same input at the same size),
and `stages` in portrait mode. Inputs are real photos made square (`models.fitting.square_input`):
latency/throughput/memory use the first photo, quality uses all of them.
The reference (the original FP32 Keras network of the variant's style) runs once per style x size
and its outputs are reused for every variant.
"""

import sys
from dataclasses import dataclass, field

import numpy as np

from evaluation import face_quality, identity
from evaluation.environment import fingerprint
from evaluation.performance import TimingConfig, measure_latency, measure_throughput
from models.fitting import square_input
from evaluation.quality import psnr, ssim, summary_metrics
from evaluation.records import GROUPS, make_record
from evaluation.variants import build_predictor, resolve_variant
from models.validation import require

DEFAULT_SIZES = (256, 512, 720, 1024)  # the S3 resolution sweep
DEFAULT_BATCHES = (1, 4, 8)
STATIC_RESOLUTION = (512, 512)


@dataclass(frozen=True)
class RunConfig:
    sizes: tuple = DEFAULT_SIZES
    groups: tuple = ("static", "latency", "throughput", "memory", "quality", "face_quality", "stages")
    batches: tuple = DEFAULT_BATCHES
    timing: TimingConfig = field(default_factory=TimingConfig)
    throughput_timing: TimingConfig = field(default_factory=lambda: TimingConfig(warmup=1, min_runs=3))
    memory_runs: int = 2
    reference: str = "original"

    def __post_init__(self):
        require(len(self.sizes) > 0 and all(isinstance(s, int) and s >= 16 and s % 4 == 0 for s in self.sizes),
                "sizes", self.sizes, "must be ints >= 16 and multiples of 4")
        unknown = [g for g in self.groups if g not in GROUPS]
        require(not unknown, "groups", self.groups, f"must be among {GROUPS}")
        require(all(isinstance(b, int) and b >= 1 for b in self.batches), "batches", self.batches,
                "must be ints >= 1")
        require(isinstance(self.memory_runs, int) and self.memory_runs >= 1, "memory_runs", self.memory_runs,
                "must be an int >= 1")


class Reference:
    """The reference outputs per (style, size, image name), computed once."""

    def __init__(self, text, mode="full"):
        self.text, self.mode = text, mode
        self._predictors, self._outputs = {}, {}

    def spec(self, style):
        text = f"{style}/original" if self.text == "original" else self.text
        return resolve_variant(text, style=style, mode=self.mode)

    def output(self, style, size, name, image):
        key = (style, size, name)
        if key not in self._outputs:
            if style not in self._predictors:
                self._predictors[style] = build_predictor(**self.spec(style).to_dict())
            self._outputs[key] = self._predictors[style].predict(image)
        return self._outputs[key]


def _same_network(a, b):
    fields = ("kind", "style", "path", "mixed_precision", "mode")
    return all(getattr(a, f) == getattr(b, f) for f in fields)


def _labels(spec, predictor, env):
    return {"variant": spec.name, "style": spec.style, "method": spec.method, "parent": spec.parent,
            "runtime": predictor.runtime, "precision": predictor.precision, "device": predictor.device,
            "mode": spec.mode, "env": env}


def evaluate_variant(spec, images, config, reference, faces_by_size, lpips_metric, lpips_note, tick,
                     outputs=None):
    """All records of one variant. `images` is [(name, uint8 RGB)], `tick(label)` advances progress;
    `outputs` (a dict) receives the quality pass's {(size, image name): output} (the registry keeps a few
    as sample cartoons without running the variant again)."""
    predictor = build_predictor(**spec.to_dict())
    env = fingerprint(threads=predictor.threads, delegate=predictor.delegate,
                      backend=getattr(predictor, "backend", None), device=predictor.device)
    base = _labels(spec, predictor, env)
    records = []
    if "static" in config.groups:
        h, w = STATIC_RESOLUTION
        static = predictor.static(h, w)
        notes = [f"file: {static.pop('file')}"]
        res = static["macs_resolution"]
        static["macs_per_pixel"] = static["macs"] / (res[0] * res[1])
        records.append(make_record(**base, size=None, group="static", metrics=static, notes=notes))
        tick(f"{spec.name} static")
    same_as_reference = _same_network(spec, reference.spec(spec.style))
    for size in config.sizes:
        fixed = getattr(predictor, "fixed_size", None)
        if fixed is not None and tuple(fixed) != (size, size):
            print(f"{spec.name}: skipping {size}px, the file has a fixed input size {tuple(fixed)}",
                  file=sys.stderr)
            tick(f"{spec.name} {size}px skipped", steps=_steps_per_size(config))
            continue
        probe = square_input(images[0][1], size)
        if "latency" in config.groups:
            stats = measure_latency(lambda: predictor.predict(probe), config.timing)
            stats["threads"] = predictor.threads
            records.append(make_record(**base, size=size, group="latency", metrics=stats,
                                       notes=[f"input: {images[0][0]} centre-cropped to {size}x{size}"]))
            tick(f"{spec.name} {size}px latency")
            if "throughput" in config.groups and 1 in config.batches:
                records.append(make_record(
                    **base, size=size, group="throughput",
                    metrics={"batch": 1, "images_per_s": 1000.0 / stats["p50_ms"], "count": stats["count"]},
                    notes=["batch 1: from the latency pass (1000 / p50_ms)"]))
        if "throughput" in config.groups:
            for batch in config.batches:
                if batch == 1 and "latency" in config.groups:
                    continue
                if batch > 1 and not predictor.supports_batch:
                    continue
                inputs = [probe] * batch
                tp = measure_throughput(lambda: predictor.predict_batch(inputs), batch, config.throughput_timing)
                records.append(make_record(**base, size=size, group="throughput", metrics=tp))
            tick(f"{spec.name} {size}px throughput")
        if "memory" in config.groups:
            from evaluation.memory import measure_peak_memory

            mem = measure_peak_memory("evaluation.variants:build_predictor", spec.to_dict(), size,
                                      runs=config.memory_runs)
            records.append(make_record(**base, size=size, group="memory",
                                       metrics={k: mem[k] for k in ("peak_mb", "baseline_mb", "method", "runs")}))
            tick(f"{spec.name} {size}px memory")
        if {"quality", "face_quality", "stages"} & set(config.groups):
            records.extend(_quality_records(spec, predictor, base, images, size, config, reference,
                                            faces_by_size, lpips_metric, lpips_note, same_as_reference,
                                            outputs))
            tick(f"{spec.name} {size}px quality")
    return records


def _quality_records(spec, predictor, base, images, size, config, reference, faces_by_size, lpips_metric,
                     lpips_note, same_as_reference, outputs=None):
    rows, face_rows, stage_rows = [], [], []
    notes = [lpips_note] if lpips_note else []
    identity_note = identity.unavailable_reason() if "face_quality" in config.groups else None
    if same_as_reference:
        notes.append("this variant is the reference: identical outputs (PSNR infinite, stored as null)")
    for name, photo in images:
        x = square_input(photo, size)
        ref = reference.output(spec.style, size, name, x)
        if same_as_reference and predictor.mode != "portrait":
            out = ref
        else:  # portrait mode always runs, for its per-stage times
            out = predictor.predict(x)
        if outputs is not None:
            outputs[(size, name)] = out
        if predictor.mode == "portrait":
            stage_rows.append(predictor.last_stages())
        row = {"image": name, "psnr": psnr(out, ref), "ssim": ssim(out, ref)}
        if lpips_metric is not None:
            row["lpips"] = lpips_metric(out, ref)
        rows.append(row)
        if "face_quality" in config.groups:
            key = (size, name)
            if key not in faces_by_size:
                from models.faces import detect_faces

                faces_by_size[key] = detect_faces(x)
            row = face_quality.face_row(name, out, ref, faces_by_size[key], lpips_metric)
            if faces_by_size[key] and identity_note is None:
                row["identity"] = 0.0 if out is ref else _identity(x, out, ref, faces_by_size, key,
                                                                    (spec.style, predictor.mode))
            face_rows.append(row)
    records = []
    if "quality" in config.groups:
        metrics = summary_metrics(rows)
        records.append(make_record(**base, size=size, group="quality", metrics=metrics, per_image=rows,
                                   notes=notes + [_ssim_note()]))
    if "face_quality" in config.groups:
        metrics, face_notes = face_quality.face_summary(face_rows)
        face_notes += [identity_note or identity.NOTE]
        records.append(make_record(**base, size=size, group="face_quality", metrics=metrics, per_image=face_rows,
                                   notes=notes + face_notes + ([face_quality.LPIPS_NOTE] if lpips_metric else [])))
    if "stages" in config.groups and stage_rows:
        keys = stage_rows[0].keys()
        metrics = {k: float(np.mean([r[k] for r in stage_rows])) for k in keys}
        metrics["count"] = len(stage_rows)
        records.append(make_record(**base, size=size, group="stages", metrics=metrics,
                                   notes=["mean per-stage wall time over the quality images"]))
    return records


def _identity(photo, output, reference, cache, key, reference_key):
    """Face-identity distance of one photo's output; the photo's dlib landmarks and the reference's
    embeddings are computed once per (style, mode, size, photo) and kept in the face cache beside the
    detections (which depend on the photo only)."""
    ref_key = ("identity",) + tuple(reference_key) + tuple(key)
    if ref_key not in cache:
        shapes = identity.landmarks(photo, cache[key])
        cache[ref_key] = (shapes, [identity.embed(reference, s) for s in shapes])
    shapes, ref_embeddings = cache[ref_key]
    return identity.identity_distance(output, reference, shapes, ref_embeddings)


def _ssim_note():
    return ("SSIM: Wang et al. configuration (11x11 Gaussian sigma 1.5, K1 0.01, K2 0.03, population "
            "covariance, channel mean), equal to skimage structural_similarity(gaussian_weights=True, "
            "sigma=1.5, use_sample_covariance=False, data_range=255, channel_axis=2)")


def _steps_per_size(config):
    return sum(g in config.groups for g in ("latency", "throughput", "memory")) + \
        int(bool({"quality", "face_quality", "stages"} & set(config.groups)))


def total_steps(n_variants, config):
    return n_variants * (int("static" in config.groups) + len(config.sizes) * _steps_per_size(config))


def run_evaluation(specs, images, config=RunConfig(), progress=None, lpips=True):
    """specs: [VariantSpec]; images: [(name, uint8 RGB)]. Returns the list of records.

    `progress` is a tqdm-like object (update/set_postfix_str) or None."""
    require(len(specs) > 0, "specs", specs, "must name at least one variant")
    require(len(images) > 0, "images", len(images), "must hold at least one photo")
    lpips_metric, lpips_note = None, None
    if lpips and {"quality", "face_quality"} & set(config.groups):
        from evaluation.perceptual import try_load_lpips

        lpips_metric, lpips_note = try_load_lpips()
    modes = {s.mode for s in specs}
    references = {mode: Reference(config.reference, mode) for mode in modes}
    faces_by_size = {}

    def tick(label, steps=1):
        if progress is not None:
            progress.set_postfix_str(label, refresh=False)
            progress.update(steps)

    records = []
    for spec in specs:
        records.extend(evaluate_variant(spec, images, config, references[spec.mode], faces_by_size,
                                        lpips_metric, lpips_note, tick))
    return records
