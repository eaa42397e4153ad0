"""Command line of the evaluation module.

    python -m evaluation run --variant PATH_OR_NAME_OR_URI [--variant ...] --images DIR --sizes 512,720
        [--reference original] --json OUT [--markdown OUT.md] [--groups ...] [--runs 10]

Writes plain records (one per variant x size x metric group, docs/contracts.md) that the registry
logs to MLflow; `python -m decisions` judges them (stars, Pareto fronts, scenario recommendations).
"""

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}
ALL_GROUPS = ("static", "latency", "throughput", "memory", "quality", "face_quality", "stages")


def _int_list(name):
    def parse(text):
        try:
            values = tuple(int(v) for v in text.split(",") if v.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"--{name} must be comma-separated integers. Received: {text!r}")
        if not values or any(v < 1 for v in values):
            raise argparse.ArgumentTypeError(f"--{name} must hold positive integers. Received: {text!r}")
        return values
    return parse


def _groups(text):
    groups = tuple(g.strip() for g in text.split(",") if g.strip())
    unknown = [g for g in groups if g not in ALL_GROUPS]
    if unknown or not groups:
        raise argparse.ArgumentTypeError(f"--groups must be among {','.join(ALL_GROUPS)}. Received: {text!r}")
    return groups


def image_files(folder):
    root = Path(folder)
    if not root.is_dir():
        raise SystemExit(f"--images {folder!r}: not a folder")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise SystemExit(f"--images {folder!r}: no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) inside")
    return root, files


def load_images(args):
    from models.images import ImageError, load_image

    if args.holdout:
        from models.portraits import portrait_files

        files = portrait_files("evaluation", args.images)
        root = Path(args.images) if args.images else files[0].parent.parent
    else:
        if not args.images:
            raise SystemExit("give --images DIR (or --holdout for the portraits no calibration saw)")
        root, files = image_files(args.images)
    if args.limit is not None and args.limit < 1:
        raise SystemExit(f"--limit must be >= 1. Received: {args.limit}")
    files = files[: args.limit] if args.limit else files
    images = []
    for path in files:
        try:
            images.append((str(path.relative_to(root)) if path.is_relative_to(root) else path.name,
                           load_image(path)))
        except ImageError as exc:
            raise SystemExit(f"--images: {exc}") from None
    return images


def cmd_run(args):
    from tqdm import tqdm

    from evaluation.performance import TimingConfig
    from evaluation.records import save_records
    from evaluation.report import environments, markdown_table, notes
    from evaluation.runner import RunConfig, run_evaluation, total_steps
    from evaluation.variants import resolve_variant

    try:
        specs = [resolve_variant(v, style=args.style, threads=args.threads, mixed_precision=args.mixed_precision,
                                 mode=args.mode, tracking_uri=args.tracking_uri) for v in args.variant]
        config = RunConfig(sizes=args.sizes, groups=args.groups, batches=args.batches,
                           timing=TimingConfig(warmup=args.warmup, min_runs=args.runs, min_time_s=args.min_time,
                                               max_runs=max(args.runs, 1000)),
                           reference=args.reference)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    images = load_images(args)
    with tqdm(total=total_steps(len(specs), config), desc="evaluating", unit="step",
              disable=args.quiet) as bar:
        records = run_evaluation(specs, images, config, progress=bar, lpips=not args.no_lpips)
    save_records(records, args.json)
    table = markdown_table(records)
    text = "\n\n".join([table, environments(records)] + (["Notes:\n" + "\n".join(f"- {n}" for n in notes(records))]
                                                         if notes(records) else []))
    if args.markdown:
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(text + "\n")
    print(text)
    print(f"\n{len(records)} records -> {args.json}")


def add_run(sub):
    p = sub.add_parser("run", help="measure variants (latency, throughput, memory, size, quality)")
    p.add_argument("--variant", action="append", required=True,
                   help="original | STYLE/original | PATH.tflite | PATH.keras | NAME=PATH | a registered version: "
                        "models:/dctnet-anime/5, models:/dctnet-anime@realtime, registry:anime/int8-full "
                        "(repeatable)")
    p.add_argument("--tracking-uri", help="where registered versions live (default: $MLFLOW_TRACKING_URI or the "
                                          "embedded store in lab_data/)")
    p.add_argument("--images", help="folder of photos (searched recursively, sorted by path)")
    p.add_argument("--holdout", action="store_true",
                   help="use the evaluation split of the portraits (never trained or calibrated on)")
    p.add_argument("--limit", type=int, default=None, help="use only the first N photos")
    p.add_argument("--sizes", type=_int_list("sizes"), default=(256, 512, 720, 1024),
                   help="square input sides in px (default 256,512,720,1024)")
    p.add_argument("--reference", default="original", help="what quality is measured against (default: "
                   "the original FP32 Keras network of the variant's style)")
    p.add_argument("--style", default="anime", help="style of 'original' and of files without a sidecar")
    p.add_argument("--json", required=True, help="where to write the records (JSON list)")
    p.add_argument("--markdown", help="also write the summary table + environment to this file")
    p.add_argument("--groups", type=_groups, default=ALL_GROUPS, help=f"subset of {','.join(ALL_GROUPS)}")
    p.add_argument("--batches", type=_int_list("batches"), default=(1, 4, 8), help="throughput batch sizes")
    p.add_argument("--runs", type=int, default=10, help="minimum timed runs per latency measurement")
    p.add_argument("--warmup", type=int, default=2, help="untimed runs first")
    p.add_argument("--min-time", type=float, default=0.0, help="keep timing until this many seconds passed")
    p.add_argument("--threads", type=int, default=None, help="LiteRT threads (default: all usable cores)")
    p.add_argument("--mode", choices=("full", "portrait"), default="full")
    p.add_argument("--mixed-precision", action="store_true", help="Keras on GPU: mixed float16")
    p.add_argument("--no-lpips", action="store_true", help="skip LPIPS (it needs torch)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_run)


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m evaluation", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    add_run(sub)
    from evaluation import sensitivity_cli

    sensitivity_cli.register(sub)  # python -m evaluation sensitivity: per-layer INT8 sensitivity
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
