"""Time the Compare page's work after its models are loaded: the original plus N variants on one photo,
with PSNR / SSIM / LPIPS against the original's output, exactly as the page does (dashboard_pages/live.py).

    python scripts/bench_compare.py [--size 512] [--repeats 5] [--photo face_crop.jpg]
                                            [--entries int8-full,int8-dynamic,fp16,fp32,prune-t375,svd-trunk]

Reads the registry the dashboard reads ($DCTNET_LAB_DATA / MLFLOW_TRACKING_URI); loads every variant
first (not timed), runs one warm-up pass, then times `repeats` passes and prints the median and each
variant's median share. No streamlit import.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboard_pages.live import TIMED_RUNS  # noqa: E402  (cv2 and numpy only)

DEFAULT_ENTRIES = ("int8-full", "int8-dynamic", "fp16", "fp32", "prune-t375", "svd-trunk")  # registry/catalogue.py names


def main(argv=None):
    parser = argparse.ArgumentParser(prog="scripts/bench_compare.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--style", default="anime")
    parser.add_argument("--size", type=int, default=512, help="short side of the working photo (px)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--runs", type=int, default=TIMED_RUNS,
                        help="timed calls per variant in a pass, after its untimed warm-up (as the page)")
    parser.add_argument("--photo", default="face_crop.jpg", help="a bundled sample name")
    parser.add_argument("--entries", default=",".join(DEFAULT_ENTRIES), help="catalogue entries to compare")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1. Received: {args.repeats}")

    import registry
    from tqdm import tqdm

    from dashboard_pages.live import compare, load, load_lpips
    from models.fitting import shrink_to_serve
    from evaluation.environment import describe, fingerprint
    from models.samples import load_sample

    table = registry.versions(args.style)
    if table.empty:
        print(f"no {args.style} versions registered: run `python -m registry build --quick` first", file=sys.stderr)
        return 2
    by_entry = {r.entry: int(r.version) for r in table.itertuples()}
    wanted = [e.strip() for e in args.entries.split(",") if e.strip()]
    missing = [e for e in wanted + ["original"] if e not in by_entry]
    if missing:
        print(f"not registered: {missing}. Registered entries: {sorted(by_entry)}", file=sys.stderr)
        return 2
    photo = shrink_to_serve(load_sample(args.photo), args.size)
    lives = []
    for entry in tqdm(["original"] + wanted, desc="loading variants"):
        lives.append(load(args.style, by_entry[entry]))
    metric, note = load_lpips()
    compare(photo, lives[0], lives[1:], metric, runs=1)  # a first pass: LPIPS and every model at this shape

    totals, per = [], {live.label: [] for live in lives}
    for _ in tqdm(range(args.repeats), desc="timed passes"):
        start = time.perf_counter()
        _, ref_timing, rows = compare(photo, lives[0], lives[1:], metric, runs=args.runs)
        totals.append(time.perf_counter() - start)
        per[lives[0].label].append(ref_timing.median_ms)
        for row in rows:
            per[row["live"].label].append(row["ms"])
    print(f"Compare of the original + {len(wanted)} variants on {args.photo} at {photo.shape[1]}x{photo.shape[0]} px, "
          f"PSNR/SSIM{'/LPIPS' if metric else ''} included ({note or 'LPIPS with the real AlexNet backbone'})")
    print(f"  total per pass: median {statistics.median(totals):.2f} s, min {min(totals):.2f} s, "
          f"max {max(totals):.2f} s over {len(totals)} passes")
    for live in lives:
        print(f"  {live.label:<24} {live.runtime:<17} {live.precision:<13} median {statistics.median(per[live.label]):7.0f} ms")
    print(describe(fingerprint(threads=os.cpu_count(), delegate="xnnpack")).splitlines()[0])
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (1 min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
