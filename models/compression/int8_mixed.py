"""`tflite_int8_mixed`: full INT8 with the most sensitive layers left float until a quality floor holds.

Greedy by measured sensitivity, checked on the real mix: the layers (and the glue between them:
upsampling, skip and residual additions) are ranked by what each costs when it alone is INT8 (or, with
`order="gain"`, what leaving it alone float buys back; `models.sensitivity.int8_sensitivity`, cached),
optionally per MAC it costs to run in float; then the
float set grows one group at a time, each step quantizing the real mix (one `mlir_quantize` on the
cached calibrated model) and scoring it on the calibration-side scoring photos, until the floor holds.
With `search_width` > 1 each step tries that many next candidates and keeps the best real mix.

The floor is a metric of the scoring set at `score_size` against the FP32 Keras original: `psnr` (mean
dB), `psnr_worst` (the worst photo), `lpips` / `lpips_worst` (lower is better; needs an LPIPS metric from
the caller, e.g. `python -m evaluation sensitivity` or the registry build), `eyes_ssim` (mean over the
photos where a face is found). An unreachable floor stops with the best reached and with which layers.

The report states the float layers, the quality at each step, and the latency of FP32, full INT8 and
the mix measured interleaved in one run (LiteRT, `threads`); a JSON beside the .tflite keeps all of it.
"""

import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from models.compression import register
from models.compression.base import CompressionResult, base_report, path_field
from models.export import CALIBRATION_IMAGES, CALIBRATION_SIZE
from models.validation import require

FLOOR_METRICS = {"psnr": (0.0, 99.0, True), "psnr_worst": (0.0, 99.0, True), "lpips": (0.0, 1.0, False),
                 "lpips_worst": (0.0, 1.0, False), "eyes_ssim": (0.0, 1.0, True)}  # (low, high, higher is better)
ORDERS = ("cost", "gain", "cost_per_mac", "gain_per_mac")


@dataclass(frozen=True)
class MixedInt8Config:
    output_path: str | None = path_field()  # .tflite to write (None: a new temporary folder)
    floor: float = 40.0
    floor_metric: str = "psnr"
    float_layers: tuple = ()  # given: no search, exactly these stay float (the floor is then only reported)
    order: str = "cost"  # rank by the cost alone INT8 ("cost"), the gain alone float ("gain"), or per float MAC
    search_width: int = 1  # candidates tried per step (1: follow the ranking)
    calibration_images: int = CALIBRATION_IMAGES
    calibration_size: int = CALIBRATION_SIZE
    calibration_seed: int = 0
    calibration_crop: str = "centre"
    calibration_range: str = "minmax"  # or "p99.99" (docs/compression.md: calibration that pays)
    score_images: int = 8
    score_size: int = 512
    per_channel: bool = True
    threads: int = 2
    latency_runs: int = 3

    def __post_init__(self):
        if self.output_path is not None:
            require(isinstance(self.output_path, str) and self.output_path.endswith(".tflite"), "output_path",
                    self.output_path, "must be a path ending in .tflite")
        require(self.floor_metric in FLOOR_METRICS, "floor_metric", self.floor_metric,
                f"must be one of {tuple(FLOOR_METRICS)}")
        low, high, _ = FLOOR_METRICS[self.floor_metric]
        require(isinstance(self.floor, (int, float)) and not isinstance(self.floor, bool)
                and low < self.floor <= high, "floor", self.floor,
                f"must be a number in ({low}, {high}] for floor_metric={self.floor_metric!r}")
        require(isinstance(self.float_layers, tuple) and all(isinstance(n, str) for n in self.float_layers),
                "float_layers", self.float_layers, "must be a tuple of layer names")
        require(self.order in ORDERS, "order", self.order, f"must be one of {ORDERS}")
        for name in ("search_width", "threads", "latency_runs"):
            value = getattr(self, name)
            require(isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 64, name, value,
                    "must be an int in [1, 64]")
        require(isinstance(self.per_channel, bool), "per_channel", self.per_channel, "must be a bool")
        self.calibration(), self.scoring()  # validate those fields

    def calibration(self):
        from models.int8_selective import Calibration

        return Calibration(self.calibration_images, self.calibration_size, self.calibration_seed,
                           self.calibration_crop, self.calibration_range)

    def scoring(self):
        from models.sensitivity import ScoringSet

        return ScoringSet(self.score_images, self.score_size, self.calibration_crop)

    def meets(self, quality):
        _, _, higher = FLOOR_METRICS[self.floor_metric]
        value = quality.get(self.floor_metric)
        return value is not None and (value >= self.floor if higher else value <= self.floor)


def _margin(config, quality):
    """How far past the floor (positive = met), in the metric's own direction."""
    value = quality.get(config.floor_metric)
    if value is None:
        return -np.inf
    return value - config.floor if FLOOR_METRICS[config.floor_metric][2] else config.floor - value


def latencies(contents, threads, size, runs):
    """{name: median seconds} for model bytes, interleaved run by run after a warm-up at the same shape."""
    from models.litert import LiteRTNetwork

    x = np.random.default_rng(0).uniform(-1, 1, (1, size, size, 3)).astype(np.float32)
    times = {name: [] for name in contents}
    with tempfile.TemporaryDirectory(prefix="dctnet-int8-lat-") as tmp:
        nets = {}
        for name, content in contents.items():
            path = Path(tmp) / f"{name}.tflite"
            path.write_bytes(content)
            nets[name] = LiteRTNetwork(path, threads=threads)
            nets[name](x)  # warm-up: allocation and XNNPACK weight packing at this shape
        for _ in range(runs):
            for name, net in nets.items():
                t = time.perf_counter()
                net(x)
                times[name].append(time.perf_counter() - t)
    return {name: float(np.median(v)) for name, v in times.items()}


def search(config, calibrated, nodes, scorer, ranking, run):
    """Greedy growth of the float set along `ranking`; returns (float groups, quality, steps)."""
    from models.int8_selective import float_nodes_for, quantize

    def measure(float_groups):
        return run(quantize(calibrated, float_nodes_for(nodes, float_groups), config.per_channel))

    chosen, quality = [], measure([])
    steps = [{"float": [], "quality": quality}]
    remaining = list(ranking)
    while not config.meets(quality) and remaining:
        tried = [(g, measure(chosen + [g])) for g in remaining[:config.search_width]]
        best, quality = max(tried, key=lambda t: _margin(config, t[1]))
        chosen.append(best)
        remaining.remove(best)
        steps.append({"float": list(chosen), "quality": quality,
                      "tried": {g: q[config.floor_metric] for g, q in tried if config.floor_metric in q}})
    return chosen, quality, steps


class MixedInt8Method:
    name = "tflite_int8_mixed"
    config_class = MixedInt8Config
    training = "calibration"  # calibration + a search scored on calibration-side photos, no gradients
    artifact = "tflite"

    def photos(self, values):
        return "calibration"

    def apply(self, source, config, lpips_metric=None):
        from models.complexity import model_bytes
        from models.dctnet import layer_names
        from models.int8_selective import (GUIDED_FILTER_SCOPE, calibrated_model, float_model, float_nodes_for,
                                           groups, layer_nodes, quantize)
        from models.litert import tflite_info
        from models.sensitivity import Scorer, int8_sensitivity, run_tflite

        require(isinstance(config, MixedInt8Config), "config", type(config).__name__, "must be a MixedInt8Config")
        if config.floor_metric.startswith("lpips"):
            require(lpips_metric is not None, "floor_metric", config.floor_metric,
                    "needs an LPIPS metric from the caller (models/ does not import evaluation/): use "
                    "`python -m evaluation sensitivity --floor-metric lpips` or the registry build")
        start = time.perf_counter()
        layers = layer_names(source.architecture.num_blocks)
        calibration, scoring = config.calibration(), config.scoring()
        calibrated = calibrated_model(source.model, calibration)
        nodes = layer_nodes(calibrated, source.model, layers)
        scorer = Scorer(source.model, scoring, calibration, lpips_metric)
        if config.floor_metric == "eyes_ssim":
            require(scorer.faces > 0, "floor_metric", config.floor_metric,
                    f"needs faces on the scoring photos; none were found on the {scoring.images} photos")

        def run(content):
            return run_tflite(content, scorer, config.threads)

        if config.float_layers:
            float_nodes_for(nodes, config.float_layers)  # names each unknown layer
            chosen = list(config.float_layers)
            quality = run(quantize(calibrated, float_nodes_for(nodes, chosen), config.per_channel))
            steps, sensitivity = [{"float": chosen, "quality": quality}], None
        else:
            ceiling = run(quantize(calibrated, float_nodes_for(nodes, groups(nodes)), config.per_channel))
            if not config.meets(ceiling):
                raise ValueError(
                    f"floor {config.floor_metric} {'>=' if FLOOR_METRICS[config.floor_metric][2] else '<='} "
                    f"{config.floor} cannot be met: with every layer and the glue float (all of {groups(nodes)}) "
                    f"the best reached is {config.floor_metric}={ceiling.get(config.floor_metric)} on "
                    f"{scoring.images} calibration-side photos at {scoring.size} px. Received: floor={config.floor!r}")
            sensitivity = int8_sensitivity(source.model, layers, calibration, scoring, lpips_metric,
                                           config.threads, config.per_channel, progress=False,
                                           modes=("alone_int8",) if config.order.startswith("cost")
                                           else ("alone_float",))  # what the ranking needs
            ranking = rank(sensitivity, config, source.model)
            chosen, quality, steps = search(config, calibrated, nodes, scorer, ranking, run)
        content = quantize(calibrated, float_nodes_for(nodes, chosen), config.per_channel)
        fp32, full = float_model(source.model), quantize(calibrated, float_nodes_for(nodes, []), config.per_channel)
        latency = latencies({"fp32": fp32, "full_int8": full, "mixed": content}, config.threads,
                            config.score_size, config.latency_runs)

        path = Path(config.output_path) if config.output_path else \
            Path(tempfile.mkdtemp(prefix="dctnet-tflite-")) / f"{source.name.replace('/', '_')}_int8_mixed.tflite"
        path.parent.mkdir(parents=True, exist_ok=True)
        facts = {"float_layers": chosen, "floor": {"metric": config.floor_metric, "value": config.floor,
                                                   "met": config.meets(quality)},
                 "quality": quality, "steps": steps, "latency_s": latency,
                 "speed_vs_fp32": latency["fp32"] / latency["mixed"],
                 "speed_vs_full_int8": latency["full_int8"] / latency["mixed"],
                 "ranking": sensitivity and sensitivity["ranking"], "sensitivity_cache": sensitivity and sensitivity["cache"],
                 "calibration": asdict(calibration), "scoring": asdict(scoring),
                 "seconds": round(time.perf_counter() - start, 1)}
        for target, data in ((path, content), (path.with_suffix(".json"), json.dumps(facts, indent=2).encode())):
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{target.name}.", suffix=".part")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)

        info = tflite_info(path)
        report = base_report(self.name, config, source)
        report.bytes_before, report.bytes_after = model_bytes(source.model), info["bytes"]
        report.changed.append(f"float (left out of quantization): {', '.join(chosen) or 'nothing'} "
                              f"+ {GUIDED_FILTER_SCOPE}; every other layer INT8")
        report.changed.append(f"conv weights stored as {info['conv_weight_dtypes']}")
        q = ", ".join(f"{k} {v:.4g}" for k, v in quality.items() if isinstance(v, float))
        report.notes.append(f"quality on {scoring.images} calibration-side photos at {scoring.size} px vs FP32 "
                            f"Keras: {q}; floor {config.floor_metric} {config.floor}: "
                            f"{'met' if config.meets(quality) else 'NOT met (float_layers given)'}")
        report.notes.append(f"latency at {config.score_size}x{config.score_size}, {config.threads} threads, one run "
                            f"interleaved: FP32 {latency['fp32'] * 1e3:.0f} ms, full INT8 {latency['full_int8'] * 1e3:.0f}"
                            f" ms, mixed {latency['mixed'] * 1e3:.0f} ms ({facts['speed_vs_fp32']:.2f}x FP32 speed, "
                            f"{facts['speed_vs_full_int8']:.2f}x full INT8)")
        report.notes.append(f"search: {len(steps) - 1} steps; calibration {calibration.images} photos at "
                            f"{calibration.size} px ({calibration.crop}); facts in {path.with_suffix('.json').name}")
        report.details = {"mix": facts, "sensitivity": sensitivity and {
            k: sensitivity[k] for k in ("rows", "full_int8", "all_float", "fp32", "ranking", "calibration", "scoring",
                                        "seconds")}}  # logged with the variant (report.json)
        result = CompressionResult(report=report, artifact=path)
        result.facts = facts
        return result


def rank(sensitivity, config, model):
    """Groups by their measured sensitivity in the floor's metric, most sensitive first: "cost" = what a
    group loses when it alone is INT8 (the rest float), "gain" = what it buys back when it alone stays
    float (the rest INT8); "_per_mac" divides by the float MACs it would add (glue counts as 1 kMAC/px).
    "cost" is the default: on DCT-Net leaving `Conv` float alone gains nothing (its output is requantized
    for Conv_1 and the x0 skip), while quantizing it alone costs 10 dB."""
    metric = config.floor_metric  # every metric has its row entry (summarize: psnr, psnr_worst, lpips, ...)
    higher = FLOOR_METRICS[config.floor_metric][2]
    mode, ends = ("alone_int8", "all_float") if config.order.startswith("cost") else ("alone_float", "full_int8")
    base = sensitivity[ends]
    per_px = {}
    if config.order.endswith("_per_mac"):  # MACs per input pixel, a low-rank pair summed under its layer
        from models.complexity import layer_macs

        for name, macs in layer_macs(model, 64, 64).items():
            per_px[name.removesuffix("_lowrank_a")] = per_px.get(name.removesuffix("_lowrank_a"), 0) + macs / 4096

    def score(row):
        value, ref = row[mode].get(metric), base.get(metric)
        if value is None or ref is None:  # e.g. eyes SSIM where a table has no faces: fall back to PSNR
            value, ref, sign = row[mode]["psnr"], base["psnr"], 1
        else:
            sign = 1 if higher else -1
        s = sign * (ref - value) if mode == "alone_int8" else sign * (value - ref)
        return s / (1.0 + per_px.get(row["layer"], 0.0) / 1000.0) if per_px else s

    return [r["layer"] for r in sorted(sensitivity["rows"], key=lambda r: -score(r))]


register(MixedInt8Method())
