"""Measure every trained variant (students and recovered pruned / SVD models) the way the lab measures
everything: through `python -m evaluation run`, on the evaluation split, against the FP32 original.

    python scripts/recipe_table.py --out lab_data/recipe        # then copy the tables into docs/

1. Each shipped trained variant (models/weights/students/, models/weights/recovered/) is saved as a
   `.keras` file with a sidecar, and exported to full INT8 (calibrated on the calibration split at
   the serving size); the original is exported to LiteRT FP32 and full INT8 the same way.
   `--candidate NAME=STEM` adds weights a run wrote elsewhere (lab_data/training/<run>/student), so a
   candidate is measured beside the shipped variant it would replace, in the same run, before any copy.
2. One `python -m evaluation run --holdout` over all of them at 512 and 720 px (quality, face-region
   quality, latency, static): every number in one process and one run, so latency ratios are fair.
3. A markdown table (quality at 512, INT8 loss against the float self, LiteRT latency as a ratio to
   the FP32 original's at 720) and a quality-vs-MACs chart (PNG) per family.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

FAMILY_OF = {"distill": "distillation", "prune": "pruning", "svd": "SVD"}


def method_of(info):
    """'distill' for a student's .json, the compression method's name for a recovered variant's."""
    return info["method"]["name"] if info.get("method") else "distill"


def trained_variants(candidates=(), only=None):
    """[(name, method, stem)] of every shipped trained variant, then each (name, stem) candidate: weights
    a run wrote outside the shipped folders (lab_data/training/<run>/student), measured beside the shipped
    ones in the same run before anything is copied over them. `only`: a set of names to keep (None: all)."""
    from models.students import STUDENTS_DIR, shipped_students

    out = [(n, "distill", STUDENTS_DIR / n) for n in shipped_students()]
    recovered = ROOT / "models" / "weights" / "recovered"
    for meta in sorted(recovered.glob("*.json")):
        out.append((meta.stem, method_of(json.loads(meta.read_text())), recovered / meta.stem))
    for name, stem in candidates:
        out.append((name, method_of(json.loads(Path(f"{stem}.json").read_text())), Path(stem)))
    return [v for v in out if only is None or v[0] in only]


def parse_candidates(parser, specs):
    """--candidate NAME=STEM values -> [(name, stem)], each checked: both files there, a name of its own."""
    shipped = {name for name, _, _ in trained_variants()}
    out = []
    for spec in specs:
        name, sep, stem = spec.partition("=")
        if not (sep and name and stem):
            parser.error(f"--candidate {spec!r}: write NAME=STEM, e.g. trunk-w16-b2-next="
                         "lab_data/training/trunk-w16-fit-lpips/student")
        missing = [f"{stem}{ext}" for ext in (".weights.h5", ".json") if not Path(f"{stem}{ext}").exists()]
        if missing:
            parser.error(f"--candidate {spec!r}: {', '.join(missing)} missing (STEM names a .weights.h5 + "
                         ".json pair, as `python -m models distill --out STEM` writes)")
        if name in shipped or name in {n for n, _ in out}:
            parser.error(f"--candidate {spec!r}: {name!r} is already a variant's name; give the candidate "
                         "its own (it is measured beside the shipped one)")
        out.append((name, stem))
    return out


def export_all(work, calibration_images, calibration_size, only=None, calibration_range=None, candidates=()):
    """Write NAME.keras (+ sidecar) and NAME-int8.tflite for every variant; returns --variant args."""
    from models.export import ExportConfig, export_tflite
    from models.students import load_student_file
    from models.weights import load_model

    work.mkdir(parents=True, exist_ok=True)
    int8 = ExportConfig(precision="int8_full", calibration_images=calibration_images,
                        calibration_size=calibration_size,
                        calibration_range=calibration_range or ExportConfig.calibration_range)
    args = ["original"]
    teacher = load_model("anime")
    for precision, config in (("fp32", ExportConfig(precision="fp32")), ("int8-full", int8)):
        path = work / f"original-{precision}.tflite"
        if not path.exists():
            export_tflite(teacher, path, config)
        args.append(f"anime/{precision}={path}")
    for name, method, stem in trained_variants(candidates, only):
        variant = load_student_file(stem, name)
        keras_path = work / f"{name}.keras"
        if not keras_path.exists():
            variant.model.save(keras_path)
        sidecar = {"name": f"anime/{name}", "style": "anime", "method": method, "parent": "anime/original"}
        keras_path.with_suffix(".json").write_text(json.dumps(sidecar))
        tfl = work / f"{name}-int8.tflite"
        if not tfl.exists():
            export_tflite(variant.model, tfl, int8)
        tfl.with_suffix(".json").write_text(json.dumps(
            {**sidecar, "name": f"anime/{name}+int8-full", "method": f"{method}+tflite_int8_full",
             "parent": f"anime/{name}"}))
        args += [str(keras_path), str(tfl)]
    return args


def evaluate(variant_args, out_json, limit, runs):
    """Quality, face quality and latency at 512 for every variant; then latency at 720 for the LiteRT
    files (the serving comparison); both runs' records in out_json."""
    records = []
    for size, groups, variants in (("512", "static,latency,quality,face_quality", variant_args),
                                   ("720", "latency", [v for v in variant_args if v.endswith(".tflite")])):
        part = out_json.with_name(f"{out_json.stem}-{size}.json")
        cmd = [sys.executable, "-m", "evaluation", "run", "--holdout", "--sizes", size, "--groups", groups,
               "--runs", str(runs), "--json", str(part), "--markdown", str(part.with_suffix(".md"))]
        if limit:
            cmd += ["--limit", str(limit)]
        for v in variants:
            cmd += ["--variant", v]
        print(" ".join(cmd), flush=True)
        subprocess.run(cmd, check=True, cwd=ROOT)
        records += json.loads(part.read_text())
    out_json.write_text(json.dumps(records))


def table(records, meta):
    """Markdown rows: one per trained variant (float and INT8), plus the original's INT8 and FP32."""
    def get(variant, group, size, key):
        for r in records:
            if r["variant"] == variant and r["group"] == group and r.get("size") == size:
                return r["metrics"].get(key)
        return None

    fp32_720 = get("anime/fp32", "latency", 720, "p50_ms")
    orig_macs = get("anime/original", "static", None, "macs")
    head = ("| variant | family | MACs @512 | fewer MACs | PSNR dB mean / worst | LPIPS mean | SSIM mean | "
            "eyes SSIM mean / worst | nose / mouth SSIM | INT8: PSNR loss vs float | INT8 LiteRT @720 vs FP32 "
            "original | training |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    rows = []
    for name, info in meta.items():
        v, q = f"anime/{name}", f"anime/{name}+int8-full"
        macs = get(v, "static", None, "macs")
        psnr, psnr_i8 = get(v, "quality", 512, "psnr_mean"), get(q, "quality", 512, "psnr_mean")
        lat = get(q, "latency", 720, "p50_ms")
        row = {"name": name, "family": info["family"], "macs": macs, "mac_ratio": orig_macs / macs,
               "psnr": psnr, "psnr_worst": get(v, "quality", 512, "psnr_worst"),
               "lpips": get(v, "quality", 512, "lpips_mean"), "ssim": get(v, "quality", 512, "ssim_mean"),
               "eyes": get(v, "face_quality", 512, "eyes_ssim_mean"),
               "eyes_worst": get(v, "face_quality", 512, "eyes_ssim_worst"),
               "nose": get(v, "face_quality", 512, "nose_ssim_mean"),
               "mouth": get(v, "face_quality", 512, "mouth_ssim_mean"),
               "int8_loss": None if psnr is None or psnr_i8 is None else psnr - psnr_i8,
               "int8_speedup_720": None if not lat or not fp32_720 else fp32_720 / lat,
               "training": info["training"]}
        rows.append(row)

    def f(x, fmt):
        return "-" if x is None else format(x, fmt)

    for r in sorted(rows, key=lambda r: (r["family"], r["mac_ratio"])):
        lines.append(
            f"| {r['name']} | {r['family']} | {r['macs'] / 1e9:.2f} G | {r['mac_ratio']:.2f}x | "
            f"{f(r['psnr'], '.2f')} / {f(r['psnr_worst'], '.2f')} | {f(r['lpips'], '.3f')} | {f(r['ssim'], '.4f')} | "
            f"{f(r['eyes'], '.3f')} / {f(r['eyes_worst'], '.3f')} | {f(r['nose'], '.3f')} / {f(r['mouth'], '.3f')} | "
            f"{f(r['int8_loss'], '.2f')} dB | {f(r['int8_speedup_720'], '.2f')}x | {r['training']} |")
    orig_i8 = get("anime/int8-full", "latency", 720, "p50_ms")
    lines += ["", f"Reference rows, same run: the original full INT8: PSNR "
                  f"{f(get('anime/int8-full', 'quality', 512, 'psnr_mean'), '.2f')} dB, "
                  f"{f(fp32_720 / orig_i8 if orig_i8 and fp32_720 else None, '.2f')}x the FP32 original's "
                  f"speed at 720 ({f(orig_i8, '.0f')} vs {f(fp32_720, '.0f')} ms p50, LiteRT)."]
    return "\n".join(lines), rows


def chart(rows, path):
    """Quality (PSNR and eyes SSIM at 512) against fewer-MACs ratio, one line per family (its best at each cost)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from decisions.pareto import best_at_their_cost

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for family in sorted({r["family"] for r in rows}):
        part = sorted((r for r in rows if r["family"] == family), key=lambda r: r["mac_ratio"])
        for ax, key in zip(axes, ("psnr", "eyes")):
            # the line joins the points nothing of the family beats at their cost; open circles: beaten
            best = set(best_at_their_cost([(r["mac_ratio"], r[key]) for r in part]))
            line = ax.plot([r["mac_ratio"] for i, r in enumerate(part) if i in best],
                           [r[key] for i, r in enumerate(part) if i in best], "o-", label=family)[0]
            beaten = [r for i, r in enumerate(part) if i not in best]
            ax.plot([r["mac_ratio"] for r in beaten], [r[key] for r in beaten], "o", mfc="none",
                    color=line.get_color())
            for r in part:
                ax.annotate(r["name"], (r["mac_ratio"], r[key]), fontsize=7, xytext=(3, 3),
                            textcoords="offset points")
    axes[0].set(xlabel="fewer MACs than the original (x)", ylabel="PSNR vs original, dB (512 px)")
    axes[1].set(xlabel="fewer MACs than the original (x)", ylabel="eyes SSIM vs original (512 px)")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def contact_sheet(names, path, photos=4, side=384, candidates=()):
    """Rows: 4 evaluation portraits; columns: photo, original, each trained variant (Keras float)."""
    import cv2
    import numpy as np

    from models.images import load_image
    from models.portraits import portrait_files
    from models.processing import Cartoonizer, ProcessingConfig, keras_network
    from models.students import load_student_file
    from models.weights import load_model

    files = portrait_files("evaluation")[:photos]
    nets = [("original", load_model("anime"))]
    for name, _, stem in trained_variants(candidates, names):
        nets.append((name, load_student_file(stem, name).model))
    config = ProcessingConfig(max_side=None)
    rows = []
    for f in files:
        rgb = load_image(f)
        h, w = rgb.shape[:2]
        s = side / min(h, w)
        rgb = cv2.resize(rgb, (round(w * s) // 4 * 4, round(h * s) // 4 * 4), interpolation=cv2.INTER_AREA)
        y, x = (rgb.shape[0] - side) // 2, (rgb.shape[1] - side) // 2
        rgb = np.ascontiguousarray(rgb[y:y + side, x:x + side])
        rows.append(np.concatenate([rgb] + [Cartoonizer(keras_network(m), config)(rgb) for _, m in nets], axis=1))
    sheet = np.concatenate(rows, axis=0)
    header = np.full((28, sheet.shape[1], 3), 255, np.uint8)
    for i, label in enumerate(["photo"] + [n for n, _ in nets]):
        cv2.putText(header, label, (i * side + 6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.imwrite(str(path), cv2.cvtColor(np.concatenate([header, sheet]), cv2.COLOR_RGB2BGR))


def spent(info):
    """(steps, seconds, hardware) of training behind shipped weights, counting the runs they were continued
    from; hardware: the GPU or CPU of each stage, in order, each named once."""
    steps, seconds, hardware, link = 0, 0.0, [], info
    while link:
        steps, seconds = steps + (link.get("steps_done") or 0), seconds + (link.get("train_time_s") or 0.0)
        env = link.get("environment") or {}
        hardware.insert(0, env.get("gpu") or env.get("cpu") or "?")
        link = link.get("continued_from")
    return steps, seconds, " + ".join(dict.fromkeys(hardware))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="lab_data/recipe", help="work folder (exports, records, table, chart)")
    parser.add_argument("--only", default=None, help="comma-separated trained variant names (default: all)")
    parser.add_argument("--limit", type=int, default=None, help="evaluation photos (default: the whole split)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per latency measurement")
    from models.export import CALIBRATION_IMAGES, CALIBRATION_RANGE, CALIBRATION_SIZE

    # the product's full-INT8 defaults (models.export); the 2026-12-02/03 runs before the p99.999 default
    # used min/max ranges (docs/distillation.md says which run used which)
    parser.add_argument("--calibration-images", type=int, default=CALIBRATION_IMAGES)
    parser.add_argument("--calibration-size", type=int, default=CALIBRATION_SIZE)
    parser.add_argument("--calibration-range", default=CALIBRATION_RANGE,
                        help="full INT8 activation ranges: minmax or a percentile (models.export.CALIBRATION_RANGES)")
    parser.add_argument("--export-only", action="store_true", help="write the exports, measure nothing")
    parser.add_argument("--reuse-records", action="store_true",
                        help="table, chart and sheet from the records.json this --out already holds (no measuring)")
    parser.add_argument("--sheet", default=None, help="comma-separated variants for the contact sheet "
                        "(default: every variant of the chart)")
    parser.add_argument("--merge-rows", nargs="*", default=[], metavar="ROWS_JSON",
                        help="rows.json of earlier runs: their variants not measured here join the chart and "
                             "the contact sheet (later files win; this run wins over all)")
    parser.add_argument("--candidate", action="append", default=[], metavar="NAME=STEM",
                        help="also measure weights a run wrote outside the shipped folders, under NAME "
                             "(repeatable; e.g. trunk-w16-b2-next=lab_data/training/trunk-w16-fit-lpips/student)")
    args = parser.parse_args(argv)

    out = Path(args.out)
    only = set(args.only.split(",")) if args.only else None
    candidates = parse_candidates(parser, args.candidate)
    if only:  # a candidate is always measured: it was named to be
        only |= {name for name, _ in candidates}
    variant_args = export_all(out, args.calibration_images, args.calibration_size, only, args.calibration_range,
                              candidates)
    if args.export_only:
        return
    records_path = out / "records.json"
    if not (args.reuse_records and records_path.exists()):
        evaluate(variant_args, records_path, args.limit, args.runs)
    records = json.loads(records_path.read_text())
    meta = {}
    for name, method, stem in trained_variants(candidates, only):
        info = json.loads(Path(f"{stem}.json").read_text())
        steps, seconds, hardware = spent(info)
        meta[name] = {"family": FAMILY_OF.get(method, method),
                      "training": f"{steps} steps, {seconds / 60:.0f} min, {hardware}"}
    text, rows = table(records, meta)
    (out / "table.md").write_text(text + "\n")
    (out / "rows.json").write_text(json.dumps(rows, indent=1))
    earlier = {}
    for path in args.merge_rows:
        earlier.update({r["name"]: r for r in json.loads(Path(path).read_text())})
    measured = {r["name"] for r in rows}
    shown = rows + [r for name, r in earlier.items() if name not in measured]
    chart(shown, out / "quality_vs_macs.png")
    # the chart's data, committed beside it in docs/images (recipe_quality_vs_macs.json): the next run
    # merges it with --merge-rows, so a point measured in an earlier session stays on the chart
    (out / "chart_rows.json").write_text(json.dumps(shown, indent=1))
    contact_sheet(set(args.sheet.split(",")) if args.sheet else {r["name"] for r in shown}, out / "contact_sheet.jpg",
                  candidates=candidates)
    print(text)


if __name__ == "__main__":
    main()
