"""Results table of the compression methods on real portraits (docs/compression.md).

    nice -n 10 python scripts/compression_table.py --style anime --images 20 --sizes 512 720 \
        --threads 2 --finetune-steps 200 --out lab_data/compression/table.md

Every variant is made with the library (`models.compression.METHODS`), exported to TFLite and run with
LiteRT (XNNPACK, `--threads`). Quality: PSNR and SSIM (scikit-image, data_range 255, channel_axis) of
each variant's uint8 RGB output against the FP32 Keras original's, on the evaluation portraits
(`models.portraits.portrait_files("evaluation")`: never used for calibration or fine-tuning), each a
centre square crop at the table's size. Latency: median wall time per image, as a ratio to the FP32
TFLite of the original measured in the same run, variants interleaved image by image so drifting
machine load hits them all alike.
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402


def variant_plan(finetune_steps):
    """(row name, keras recipe, tflite method, method options) — recipes chain library methods."""
    ft = {"finetune_steps": finetune_steps}
    # SVD on the quarter-resolution trunk (Conv_4, the residual blocks, Conv_5: ~70% of the MACs), spatial
    # k x 1 / 1 x k factors: the full-resolution decoder convs lose ~20 dB from a 3% energy cut alone.
    trunk = ("Conv_4", *[f"block_{i}_conv{j}" for i in range(4) for j in (1, 2)], "Conv_5")
    svd75 = {"mac_ratio": 0.75, "mode": "spatial", "layers": trunk}
    svd50 = {"mac_ratio": 0.5, "mode": "spatial", "layers": trunk}
    return [
        ("original FP32 TFLite", [], "tflite_fp32", {}),
        ("FP16", [], "tflite_fp16", {}),
        ("INT8 dynamic-range", [], "tflite_int8_dynamic", {}),
        ("INT8 full (float guided filter)", [], "tflite_int8_full", {}),
        ("INT8 full, guided filter int8 too", [], "tflite_int8_full", {"float_guided_filter": False}),
        ("INT8 full, per-tensor weights", [], "tflite_int8_full", {"per_channel": False}),
        ("prune 25%", [("prune", {"ratio": 0.25})], "tflite_fp32", {}),
        ("prune 50%", [("prune", {"ratio": 0.5})], "tflite_fp32", {}),
        (f"prune 25% + fine-tune {finetune_steps}", [("prune", {"ratio": 0.25, **ft})], "tflite_fp32", {}),
        (f"prune 50% + fine-tune {finetune_steps}", [("prune", {"ratio": 0.5, **ft})], "tflite_fp32", {}),
        ("SVD trunk 75% MACs/layer", [("svd", svd75)], "tflite_fp32", {}),
        ("SVD trunk 50% MACs/layer", [("svd", svd50)], "tflite_fp32", {}),
        (f"prune 25% + FT {finetune_steps} -> INT8 full", [("prune", {"ratio": 0.25, **ft})], "tflite_int8_full", {}),
        ("SVD trunk 75% MACs/layer -> FP16", [("svd", svd75)], "tflite_fp16", {}),
        (f"SVD trunk 50% MACs/layer + FT {finetune_steps}", [("svd", {**svd50, **ft})], "tflite_fp32", {}),
        ("INT8 full, 96 calibration portraits at 512 px", [], "tflite_int8_full",
         {"calibration_images": 96, "calibration_size": 512}),
        ("INT8 full, 32 calibration portraits at 512 px", [], "tflite_int8_full",
         {"calibration_images": 32, "calibration_size": 512}),
        # mixed precision: float layers chosen on 8 calibration-side photos at 512 px (docs/compression.md)
        ("INT8 mixed, floor 38 dB", [], "tflite_int8_mixed", {"floor": 38.0}),
        ("INT8 mixed, floor 42 dB", [], "tflite_int8_mixed", {"floor": 42.0}),
        ("INT8 mixed, floor 40 dB", [], "tflite_int8_mixed", {"floor": 40.0}),
        ("INT8 full, 32 calibration portraits at 720 px", [], "tflite_int8_full",
         {"calibration_images": 32, "calibration_size": 720}),
        ("INT8 full, min/max ranges", [], "tflite_int8_full", {"calibration_range": "minmax"}),
    ]


def environment(threads):
    import ai_edge_litert
    import keras
    import tensorflow as tf

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "threads": threads, "python": platform.python_version(),
            "keras": keras.__version__, "tensorflow": tf.__version__,
            "ai_edge_litert": getattr(ai_edge_litert, "__version__", "2.3.0"), "delegate": "XNNPACK (LiteRT default)"}


def build_variants(style, plan, work):
    """Keras variants (cached by recipe) and their .tflite exports; returns rows with static facts."""
    from models.complexity import count_params
    from models.compression import METHODS
    from models.variant import KerasVariant
    from models.dctnet import Architecture
    from models.weights import load_model

    original = KerasVariant(load_model(style), Architecture(), name=f"{style}/original")
    keras_cache, rows = {}, []
    for name, recipe, tflite_method, options in tqdm(plan, desc="variants", file=sys.stderr):
        key = json.dumps(recipe, sort_keys=True)
        notes = []
        if key not in keras_cache:
            variant = original
            for method, cfg in recipe:
                m = METHODS[method]
                result = m.apply(variant, m.config_class(**cfg))
                variant = result.variant
                notes += result.report.notes + [f"skipped {s}" for s in result.report.skipped]
            keras_cache[key] = (variant, notes)
        variant, notes = keras_cache[key]
        m = METHODS[tflite_method]
        path = work / f"{len(rows):02d}_{tflite_method}.tflite"
        result = m.apply(variant, m.config_class(output_path=str(path), **options))
        rows.append({"name": name, "recipe": recipe, "tflite": tflite_method, "options": options,
                     "path": str(path), "bytes": path.stat().st_size, "params": count_params(variant.model),
                     "macs": {}, "notes": notes + result.report.notes[:-1], "variant": variant})
    return original, rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--style", default="anime")
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 720])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--finetune-steps", type=int, default=200)
    parser.add_argument("--rows", default=None, help="comma list of plan row indices to run (default: all)")
    parser.add_argument("--out", default=str(ROOT / "lab_data" / "compression" / "table.md"))
    args = parser.parse_args(argv)

    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    from models.complexity import count_macs
    from models.fitting import square_input
    from models.processing import to_network
    from models.portraits import portrait_files
    from models.images import load_image
    from models.litert import LiteRTNetwork
    from models.processing import from_network

    out = Path(args.out)
    work = out.parent / "artifacts"
    work.mkdir(parents=True, exist_ok=True)
    files = portrait_files("evaluation")
    if len(files) < args.images:
        raise SystemExit(f"only {len(files)} evaluation portraits, --images {args.images} asked")
    files = files[: args.images]
    started = time.time()
    plan = variant_plan(args.finetune_steps)
    if args.rows:
        plan = [plan[int(i)] for i in args.rows.split(",")]  # row 0 must stay the FP32 baseline
    original, rows = build_variants(args.style, plan, work)
    nets = [LiteRTNetwork(r["path"], threads=args.threads) for r in rows]
    results = {}
    for size in args.sizes:
        for r in rows:
            r["macs"][size] = count_macs(r["variant"].model, size, size)
        photos = [to_network(square_input(load_image(f), size))[None] for f in files]
        refs = [from_network(np.asarray(original.model(x, training=False))[0]) for x in
                tqdm(photos, desc=f"Keras FP32 reference {size}px", file=sys.stderr)]
        for net in nets:  # warm-up (allocation for this size, XNNPACK packing)
            net(photos[0])
        times = [[] for _ in rows]
        psnr = [[] for _ in rows]
        ssim = [[] for _ in rows]
        for x, ref in tqdm(list(zip(photos, refs)), desc=f"LiteRT variants {size}px", file=sys.stderr):
            for i, net in enumerate(nets):
                t = time.perf_counter()
                y = net(x)
                times[i].append(time.perf_counter() - t)
                rgb = from_network(y[0])
                psnr[i].append(peak_signal_noise_ratio(ref, rgb, data_range=255))
                ssim[i].append(structural_similarity(ref, rgb, data_range=255, channel_axis=2))
        base = float(np.median(times[0]))
        results[size] = [{"psnr_mean": float(np.mean(np.minimum(p, 99.0))), "psnr_worst": float(np.min(p)),
                          "ssim_mean": float(np.mean(s)), "p50_ms": 1000 * float(np.median(t)),
                          "latency_ratio": float(np.median(t)) / base} for p, s, t in zip(psnr, ssim, times)]

    env = environment(args.threads)
    lines = [f"Command: `nice -n 10 python scripts/compression_table.py --style {args.style} --images {args.images} "
             f"--sizes {' '.join(map(str, args.sizes))} --threads {args.threads} --finetune-steps {args.finetune_steps}"
             + (f" --rows {args.rows}" if args.rows else "") + "`",
             "",
             f"Environment: {env['cpu']}, {env['cores']} cores, LiteRT threads {env['threads']}, {env['delegate']}; "
             f"Python {env['python']}, keras {env['keras']}, tensorflow {env['tensorflow']}, "
             f"ai-edge-litert {env['ai_edge_litert']}. {args.images} evaluation portraits, centre square crops; "
             f"quality vs the FP32 Keras original's uint8 output (PSNR capped at 99 dB for identical images). "
             f"Run took {(time.time() - started) / 60:.1f} min.", ""]
    for size in args.sizes:
        lines += [f"**{size} x {size} px**", "",
                  "| variant | params | GMAC | file MB | PSNR dB (worst) | SSIM | p50 ms | latency vs FP32 TFLite |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for r, q in zip(rows, results[size]):
            lines.append(f"| {r['name']} | {r['params']:,} | {r['macs'][size] / 1e9:.2f} | {r['bytes'] / 1e6:.2f} | "
                         f"{q['psnr_mean']:.2f} ({q['psnr_worst']:.2f}) | {q['ssim_mean']:.4f} | {q['p50_ms']:.0f} | "
                         f"{q['latency_ratio']:.2f}x |")
        lines.append("")
    lines += ["Notes per variant:", ""]
    for r in rows:
        lines.append(f"- {r['name']}: " + " | ".join(r["notes"]))
    text = "\n".join(lines) + "\n"
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(out)
    raw = {"env": env, "images": [str(f) for f in files], "sizes": args.sizes,
           "rows": [{k: v for k, v in r.items() if k != "variant"} for r in rows],
           "results": {str(s): v for s, v in results.items()}}
    out.with_suffix(".json").write_text(json.dumps(raw, indent=1, default=str))
    print(text)


if __name__ == "__main__":
    main()
