"""Measure the shipped distillation students against the teacher and print the docs table.

    python scripts/student_table.py --out lab_data/training/student_table.md

For each shipped student, on the photos its training held back (never trained on): each photo resized
so its short side is 512 px and centre-cropped to 512 x 512, teacher and student run in the same
process; params, MACs at 512 x 512, PSNR / SSIM (scikit-image, uint8 RGB, the product's output) and
LPIPS (when the AlexNet backbone is on this machine) against the teacher, and CPU latency as a ratio to
the teacher, timed interleaved in the same run (warm-up, then rounds of teacher, student, ... so load
from other processes hits both alike).
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.modules.setdefault("triton", None)  # torch (LPIPS) after TensorFlow: keep triton's LLVM out
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402


def held_out_photo(data_dir, name, side):
    from models.images import load_image
    from models.portraits import resize_short_side

    rgb = resize_short_side(load_image(Path(data_dir) / name), side)
    h, w = rgb.shape[:2]
    top, left = (h - side) // 8 * 4, (w - side) // 8 * 4
    return np.ascontiguousarray(rgb[top:top + side, left:left + side])


def keras_net(model):
    return lambda batch: np.asarray(model(batch, training=False))


def run(net, rgb):
    from models.processing import from_network, to_network

    return from_network(net(to_network(rgb)[None])[0])


def latencies(nets, x, rounds, warmup=2):
    """label -> list of seconds; the networks take turns within each round."""
    for net in nets.values():
        for _ in range(warmup):
            net(x)
    times = {label: [] for label in nets}
    for _ in tqdm(range(rounds), desc="latency rounds"):
        for label, net in nets.items():
            start = time.perf_counter()
            net(x)
            times[label].append(time.perf_counter() - start)
    return times


def litert_rows(teacher, students, precisions, work, threads):
    """(label, network, keras model, student name or None, precision) for LiteRT exports."""
    from models.export import ExportConfig, export_tflite
    from models.litert import LiteRTNetwork

    rows = []
    for label, model, student in [("teacher", teacher, None), *[(n, m, n) for n, m in students.items()]]:
        for precision in precisions:
            cfg = ExportConfig(precision=precision, calibration_images=16) if precision == "int8_full" \
                else ExportConfig(precision=precision)
            path = export_tflite(model, Path(work) / f"{label}-{precision}.tflite", cfg)
            rows.append((f"{label} (LiteRT {precision})", LiteRTNetwork(path, threads=threads), model,
                         student, precision, path.stat().st_size))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", default=None, help="comma-separated names (default: all shipped)")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--images", type=int, default=24, help="held-out photos per student (max)")
    parser.add_argument("--rounds", type=int, default=10, help="latency rounds (every network once per round)")
    parser.add_argument("--litert", default="", help="also export teacher and students to LiteRT in these "
                        "precisions (comma-separated, e.g. fp32,int8_full) and measure them too")
    parser.add_argument("--litert-threads", type=int, default=2)
    parser.add_argument("--out", default=None, help="also write the markdown here (and .json beside it)")
    args = parser.parse_args(argv)

    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    from evaluation.environment import describe, fingerprint
    from evaluation.perceptual import try_load_lpips
    from models.complexity import count_macs, count_params
    from models.students import load_student, shipped_students, student_metadata
    from models.weights import load_model

    names = args.students.split(",") if args.students else shipped_students()
    if not names:
        parser.error("no shipped students in models/weights/students/")
    size = args.size
    teacher = load_model("anime")
    metas = {n: student_metadata(n) for n in names}
    students = {n: load_student(n).model for n in names}
    held = {tuple(m["held_out"][: args.images]) for m in metas.values()}
    if len(held) != 1:
        parser.error("the students were trained with different held-out photos; measure them separately")
    photos, data_dir = list(held.pop()), metas[names[0]]["train_config"]["data_dir"]

    # label, network, keras model (params / MACs), student name, runtime / precision, file bytes
    entries = [("teacher (Keras fp32)", keras_net(teacher), teacher, None, "keras fp32", None)]
    entries += [(f"{n} (Keras fp32)", keras_net(m), m, n, "keras fp32", None) for n, m in students.items()]
    precisions = [p for p in args.litert.split(",") if p]
    if precisions:
        import tempfile

        entries += litert_rows(teacher, students, precisions, tempfile.mkdtemp(prefix="student-table-"),
                               args.litert_threads)

    lpips_metric, lpips_note = try_load_lpips()
    notes = [lpips_note] if lpips_note else []
    per = {e[0]: [] for e in entries[1:]}
    for photo in tqdm(photos, desc="quality"):
        rgb = held_out_photo(data_dir, photo, size)
        ref = run(entries[0][1], rgb)
        for label, net, *_ in entries[1:]:
            out = run(net, rgb)
            rec = {"image": photo, "psnr": float(peak_signal_noise_ratio(ref, out, data_range=255)),
                   "ssim": float(structural_similarity(ref, out, channel_axis=-1, data_range=255))}
            if lpips_metric is not None:
                rec["lpips"] = lpips_metric(out, ref)
            per[label].append(rec)
    x = np.random.default_rng(0).uniform(-1, 1, (1, size, size, 3)).astype("float32")
    times = latencies({e[0]: e[1] for e in entries}, x, args.rounds)
    t_med = statistics.median(times[entries[0][0]])
    t_macs = count_macs(teacher, size, size)

    rows = []
    for label, _, model, student, runtime, nbytes in entries:
        r = {"label": label, "student": student, "runtime": runtime, "params": count_params(model),
             "macs": count_macs(model, size, size), "file_bytes": nbytes,
             "latency_ms": 1000 * statistics.median(times[label]),
             "speedup": t_med / statistics.median(times[label]), "per_image": per.get(label)}
        for k in ("psnr", "ssim", "lpips"):
            values = [p[k] for p in per.get(label) or [] if k in p]
            if values:
                r[f"{k}_mean"], r[f"{k}_worst"] = statistics.mean(values), (max if k == "lpips" else min)(values)
        if student:
            m = metas[student]
            r.update(steps=m["steps_done"], complete=m["complete"], train_time_s=m["train_time_s"])
        rows.append(r)

    env = fingerprint(threads=None)
    has_lpips = all("lpips_mean" in r for r in rows[1:])
    head = (f"| variant | params | MACs @{size} | MAC ratio | PSNR vs teacher dB (mean / worst) | "
            "SSIM (mean / worst) |" + (" LPIPS (mean / worst) |" if has_lpips else "") +
            " latency ms (median) | speed-up vs teacher Keras | training |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        if "psnr_mean" in r:
            q = f"{r['psnr_mean']:.2f} / {r['psnr_worst']:.2f} | {r['ssim_mean']:.4f} / {r['ssim_worst']:.4f} |"
            q += f" {r['lpips_mean']:.3f} / {r['lpips_worst']:.3f} |" if has_lpips else ""
        else:
            q = " reference | reference |" + (" reference |" if has_lpips else "")
        done = "-" if not r["student"] else (f"{r['steps']} steps, {r['train_time_s'] / 60:.0f} min"
                                            + ("" if r["complete"] else " (cut short)"))
        lines.append(f"| {r['label']} | {r['params']:,} | {r['macs'] / 1e9:.2f} G | {t_macs / r['macs']:.2f}x | "
                     f"{q} {r['latency_ms']:.0f} | {r['speedup']:.2f}x | {done} |")
    footer = ["", f"{len(photos)} held-out portraits (never trained on) at {size} x {size} (short side "
              f"resized to {size}, centre crop); quality of the product's uint8 output against the teacher "
              f"Keras model's; latency: batch 1, {args.rounds} interleaved rounds after 2 warm-up runs, "
              f"median; Keras on {env['keras_backend']}" + (f", LiteRT with {args.litert_threads} threads "
                                                              "(XNNPACK)" if precisions else "") + ".",
              *(f"Note: {n}" for n in notes), "", "Environment:", "```", describe(env), "```"]
    text = "\n".join(lines + footer)
    print(text)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")
        out.with_suffix(".json").write_text(json.dumps({"rows": rows, "env": env, "times": times}, indent=1))


if __name__ == "__main__":
    main()
