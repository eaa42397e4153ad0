"""How far from the teacher a student starts, before any training: sliced teacher kernels (init "teacher")
against those refitted to the teacher's activations (init "fit", models/student_fit.py).

    python scripts/fit_start_table.py trunk-w16-b2 fullres-w12-b4-i20 bottleneck-w24-b4-i16

Mean PSNR against the FP32 original on the first --photos evaluation portraits (never fitted on) at
--size px, square inputs as evaluation makes them; the fit uses the first --fit-images calibration portraits.
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def parse_spec(name):
    """'fullres-w12-b4-i20' -> StudentSpec('fullres', 12, 4, 20)."""
    from models.students import StudentSpec

    family, *parts = name.split("-")
    fields = {p[0]: int(p[1:]) for p in parts if p[:1] in "wbi" and p[1:].isdigit()}
    if len(fields) != len(parts) or not {"w", "b"} <= set(fields):
        raise SystemExit(f"{name!r} is not a student name like trunk-w16-b2 or fullres-w12-b4-i20")
    return StudentSpec(family, fields["w"], fields["b"], fields.get("i", 0))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("students", nargs="+", help="student names, e.g. trunk-w16-b2")
    p.add_argument("--photos", type=int, default=6, help="evaluation portraits measured")
    p.add_argument("--fit-images", type=int, default=16, help="calibration portraits the fit uses")
    p.add_argument("--size", type=int, default=512)
    args = p.parse_args(argv)
    specs = [parse_spec(n) for n in args.students]

    from evaluation.quality import psnr
    from models.complexity import count_macs
    from models.fitting import square_input
    from models.images import load_image
    from models.portraits import portrait_files
    from models.processing import from_network, to_network
    from models.student_fit import fit_start
    from models.students import build_student, init_from_teacher
    from models.weights import load_model

    teacher = load_model("anime")
    photos = [to_network(square_input(load_image(f), args.size))[None]
              for f in portrait_files("evaluation")[: args.photos]]
    wanted = [from_network(teacher.predict(x, verbose=0)[0]) for x in photos]

    def mean_psnr(model):
        return sum(psnr(from_network(model.predict(x, verbose=0)[0]), t) for x, t in zip(photos, wanted)) / len(photos)

    teacher_macs = count_macs(teacher, 512, 512)
    print(f"| student | fewer MACs | sliced kernels (teacher) | fitted (fit) | fit time |\n|---|---|---|---|---|")
    for spec in specs:
        model, arch = build_student(spec, seed=0)
        init_from_teacher(model, arch, teacher)
        sliced = mean_psnr(model)
        start = time.perf_counter()
        fit_start(model, arch, teacher, images=args.fit_images)
        print(f"| {spec.name} | {teacher_macs / count_macs(model, 512, 512):.2f}x | {sliced:.2f} dB | "
              f"{mean_psnr(model):.2f} dB | {time.perf_counter() - start:.0f} s |", flush=True)


if __name__ == "__main__":
    main()
