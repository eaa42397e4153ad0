"""`python -m evaluation sensitivity`: the per-layer INT8 sensitivity table, scored by LPIPS, PSNR and eyes SSIM.

    python -m evaluation sensitivity --style anime --json lab_data/int8/sensitivity_anime.json \
        [--calibration-images 32 --calibration-size 512 --score-images 8 --score-size 512] [--no-lpips]
        [--mix-out mixed.tflite --floor 40 --floor-metric psnr|psnr_worst|lpips|lpips_worst|eyes_ssim]

Each learned conv (and each glue group: upsampling, skip / residual additions) alone quantized, and alone
left float, on calibration-side photos (never the evaluation split); `models.sensitivity` does the work
(cached in lab_data/int8/), this command adds LPIPS (models/ does not import evaluation/). With
`--mix-out` it then builds the `tflite_int8_mixed` variant at that floor, LPIPS floors included.
"""

import json
import sys
from pathlib import Path


def register(subparsers):
    p = subparsers.add_parser("sensitivity", help="per-layer INT8 sensitivity (LPIPS, PSNR, eyes SSIM) as JSON",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--style", default="anime")
    p.add_argument("--source", help="a saved Keras variant folder (default: the style's original)")
    p.add_argument("--json", required=True, help="where to write the table")
    p.add_argument("--calibration-images", type=int, default=32)
    p.add_argument("--calibration-size", type=int, default=512)
    p.add_argument("--calibration-seed", type=int, default=0)
    p.add_argument("--calibration-crop", default="centre")
    p.add_argument("--score-images", type=int, default=8)
    p.add_argument("--score-size", type=int, default=512)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-lpips", action="store_true", help="score without LPIPS")
    p.add_argument("--mix-out", help="also build tflite_int8_mixed at --floor into this .tflite")
    p.add_argument("--floor", type=float, default=40.0)
    p.add_argument("--floor-metric", default="psnr")
    p.set_defaults(func=cmd_sensitivity)


def _source(args):
    from models.dctnet import Architecture
    from models.variant import KerasVariant

    if args.source:
        from models.variant_io import load_variant

        return load_variant(args.source)
    from models.weights import STYLES, load_model

    if args.style not in STYLES:
        raise ValueError(f"--style must be one of {', '.join(STYLES)}. Received: {args.style!r}")
    return KerasVariant(load_model(args.style), Architecture(), name=f"{args.style}/original")


def run(args):
    from models.dctnet import layer_names
    from models.int8_selective import Calibration
    from models.sensitivity import ScoringSet, int8_sensitivity

    out = Path(args.json)
    if out.suffix != ".json":
        raise ValueError(f"--json must name a .json file. Received: {args.json!r}")
    if args.mix_out and not args.mix_out.endswith(".tflite"):
        raise ValueError(f"--mix-out must name a .tflite file. Received: {args.mix_out!r}")
    calibration = Calibration(args.calibration_images, args.calibration_size, args.calibration_seed,
                              args.calibration_crop)
    scoring = ScoringSet(args.score_images, args.score_size, args.calibration_crop)
    mix_config = None
    if args.mix_out:  # validate before the long run
        from models.compression.int8_mixed import MixedInt8Config

        mix_config = MixedInt8Config(output_path=args.mix_out, floor=args.floor, floor_metric=args.floor_metric,
                                     calibration_images=args.calibration_images,
                                     calibration_size=args.calibration_size, calibration_seed=args.calibration_seed,
                                     calibration_crop=args.calibration_crop, score_images=args.score_images,
                                     score_size=args.score_size, threads=args.threads)
    lpips_metric, lpips_note = None, "LPIPS not asked for (--no-lpips)"
    if not args.no_lpips:
        from evaluation.perceptual import try_load_lpips

        lpips_metric, reason = try_load_lpips()
        lpips_note = reason or lpips_metric.describe()
        if reason:
            print(f"note: {reason}; scoring without LPIPS", file=sys.stderr)
    source = _source(args)
    table = int8_sensitivity(source.model, layer_names(source.architecture.num_blocks), calibration, scoring,
                             lpips_metric, args.threads)
    table.update(variant=source.name, lpips_note=lpips_note)
    if mix_config is not None:
        from models.compression import get_method

        result = get_method("tflite_int8_mixed").apply(source, mix_config, lpips_metric=lpips_metric)
        table["mix"] = {**result.facts, "path": args.mix_out}
        print(result.report.render(), file=sys.stderr)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.part")
    tmp.write_text(json.dumps(table, indent=2))
    tmp.replace(out)
    return table


def cmd_sensitivity(args):
    try:
        table = run(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(render(table))
    print(f"\n-> {args.json} ({table['seconds']} s)")
    return 0


def render(table):
    """The table as markdown: one row per layer, PSNR (mean/worst), LPIPS, eyes SSIM both ways."""
    def cell(q, key, fmt):
        return format(q[key], fmt) if q.get(key) is not None else "-"

    lines = ["| layer | alone INT8: PSNR dB (worst) | LPIPS | eyes SSIM | alone float: PSNR dB (worst) | LPIPS |"
             " eyes SSIM | gain dB |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for end in ("fp32", "all_float", "full_int8"):
        q = table[end]
        lines.append(f"| *{end}* | {cell(q, 'psnr', '.2f')} ({cell(q, 'psnr_worst', '.2f')}) | "
                     f"{cell(q, 'lpips', '.4f')} | {cell(q, 'eyes_ssim', '.4f')} | | | | |")
    for row in table["rows"]:
        a, f = row["alone_int8"], row["alone_float"]
        lines.append(f"| {row['layer']}{' (glue)' if row['kind'] == 'glue' else ''} | {cell(a, 'psnr', '.2f')} "
                     f"({cell(a, 'psnr_worst', '.2f')}) | {cell(a, 'lpips', '.4f')} | {cell(a, 'eyes_ssim', '.4f')} | "
                     f"{cell(f, 'psnr', '.2f')} ({cell(f, 'psnr_worst', '.2f')}) | {cell(f, 'lpips', '.4f')} | "
                     f"{cell(f, 'eyes_ssim', '.4f')} | {row['psnr_gain_alone_float']:+.2f} |")
    return "\n".join(lines)
