"""Which full-INT8 calibration pays (docs/compression.md, "Calibration that pays").

    nice -n 10 python scripts/int8_calibration.py --style anime --out lab_data/int8/calibration.md

Every option calibrates the same Keras original (`models.int8_selective.calibrated_model`, cached in
lab_data/int8/), is quantized to full INT8 (guided filter float, as `tflite_int8_full`) and scored on
the same 8 calibration-side scoring photos at 512 px (the tail of the seeded order, never calibrated on,
never the evaluation split) against the FP32 Keras output: PSNR mean / worst, LPIPS, eyes SSIM.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OPTIONS = [  # (label, Calibration fields, per-channel weights)
    ("32 photos at 384 px (the tflite_int8_full default)", {"images": 32, "size": 384}, True),
    ("32 photos at 512 px (serving size)", {"images": 32, "size": 512}, True),
    ("32 photos at 720 px (serving size)", {"images": 32, "size": 720}, True),
    ("64 photos at 512 px", {"images": 64, "size": 512}, True),
    ("32 face-centred crops at 512 px", {"images": 32, "size": 512, "crop": "face"}, True),
    ("32 at 512 px, ranges clipped to p99.99", {"images": 32, "size": 512, "range": "p99.99"}, True),
    ("32 at 512 px, per-tensor weights", {"images": 32, "size": 512}, False),
    ("32 at 512 px, ranges clipped to p99.999", {"images": 32, "size": 512, "range": "p99.999"}, True),
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--style", default="anime")
    parser.add_argument("--variant", default=None, metavar="STEM",
                        help="calibrate this trained variant (<STEM>.weights.h5 + <STEM>.json, e.g. "
                             "models/weights/recovered/prune-i625) instead of the original; scores stay "
                             "against the original, and each row adds the loss against the variant's float self")
    parser.add_argument("--rows", default=None, help="comma list of option indices (default: all)")
    parser.add_argument("--out", default=str(ROOT / "lab_data" / "int8" / "calibration.md"))
    args = parser.parse_args(argv)

    from evaluation.perceptual import try_load_lpips
    from models.dctnet import layer_names
    from models.int8_selective import Calibration, calibrated_model, float_nodes_for, layer_nodes, quantize
    from models.sensitivity import Scorer, ScoringSet, run_tflite
    from models.weights import load_model

    original = load_model(args.style)
    lpips_metric, reason = try_load_lpips()
    # the scoring photos are the tail of the seeded order: one set for every option (64 + 8 <= 302)
    scorer = Scorer(original, ScoringSet(8, 512), Calibration(images=64), lpips_metric)
    model, blocks, float_self = original, 4, None
    if args.variant:
        from models.int8_selective import float_model
        from models.students import load_student_file

        variant = load_student_file(args.variant)
        model, blocks = variant.model, variant.architecture.num_blocks
        float_self = run_tflite(float_model(model), scorer)
        print(json.dumps({"option": "float self", **float_self}), file=sys.stderr)
    options = [OPTIONS[int(i)] for i in args.rows.split(",")] if args.rows else OPTIONS
    rows = []
    for label, fields, per_channel in options:
        t = time.perf_counter()
        calibrated = calibrated_model(model, Calibration(**fields))
        seconds = time.perf_counter() - t
        nodes = layer_nodes(calibrated, model, layer_names(blocks))
        quality = run_tflite(quantize(calibrated, float_nodes_for(nodes, []), per_channel), scorer)
        rows.append({"option": label, "calibration": fields, "per_channel": per_channel,
                     "calibration_s": round(seconds, 1), **quality})
        if float_self:
            rows[-1]["loss_vs_float_self_db"] = round(float_self["psnr"] - quality["psnr"], 3)
        print(json.dumps(rows[-1]), file=sys.stderr)
    loss = " | INT8 loss vs float self dB" if float_self else ""
    lines = [f"| calibration | PSNR dB (worst) | LPIPS | eyes SSIM{loss} | calibration s (0 = cached) |",
             "|---|---:|---:|---:|---:|" + ("---:|" if float_self else "")]
    if float_self:
        lines.append(f"| (float self, {args.variant}) | {float_self['psnr']:.2f} ({float_self['psnr_worst']:.2f}) | "
                     f"{float_self.get('lpips', float('nan')):.4f} | {float_self.get('eyes_ssim', float('nan')):.4f} "
                     "| 0.00 | 0 |")
    for r in rows:
        lines.append(f"| {r['option']} | {r['psnr']:.2f} ({r['psnr_worst']:.2f}) | "
                     f"{r.get('lpips', float('nan')):.4f} | {r.get('eyes_ssim', float('nan')):.4f} | "
                     + (f"{r['loss_vs_float_self_db']:.2f} | " if float_self else "")
                     + f"{r['calibration_s']:.0f} |")
    text = "\n".join(lines) + f"\n\nScoring: {[str(f) for f in scorer.files]}; LPIPS: {reason or lpips_metric.describe()}\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    Path(args.out).with_suffix(".json").write_text(json.dumps(rows, indent=1))
    print(text)


if __name__ == "__main__":
    main()
