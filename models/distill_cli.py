"""`python -m models distill`: train a student DCT-Net from the original and save it as a variant.

    python -m models distill --student slim --width 16 --blocks 2 --steps 4000 \
        --out models/weights/students/slim-w16-b2

Writes <out>.weights.h5 + <out>.json (architecture, student spec, train config, the command, training
time, hardware, held-out photos, a thinned loss / validation curve). Checkpoints and the full history
go to --work-dir (default lab_data/training/<student name>); running the same command again resumes.
`--stop-at K` ends the run after step K (checkpointed) and still writes <out>: use it to ship the
latest checkpoint of a run that cannot finish in time.
"""

import dataclasses
import json
import os
import platform
import shlex
import sys
from pathlib import Path

from models.compression.base import REPORT_RESOLUTION

CURVE_POINTS = 200  # the shipped .json keeps about this many points of the training curve


def register(subparsers):
    from models.student_fit import FIT_IMAGES
    from models.students import FAMILIES, INITS
    from models.training import DEFAULT_LAB, TrainConfig
    from models.weights import STYLES

    d = TrainConfig()
    p = subparsers.add_parser("distill", help="train a small student DCT-Net from the original (teacher)")
    p.add_argument("--student", default="slim", choices=FAMILIES, help="student family")
    p.add_argument("--width", type=int, default=16, help="base channel width (teacher: 32)")
    p.add_argument("--blocks", type=int, default=2, help="residual blocks (teacher: 4)")
    p.add_argument("--inner", type=int, default=0,
                   help="bottleneck / fullres families: the residual blocks' inner width (teacher: 128); 0 otherwise")
    p.add_argument("--style", default="anime", choices=STYLES, help="teacher style")
    p.add_argument("--steps", type=int, default=d.steps)
    p.add_argument("--out", required=True, help="output path stem: writes OUT.weights.h5 and OUT.json")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--crop", type=int, default=d.crop)
    p.add_argument("--image-side", type=int, default=d.image_side)
    p.add_argument("--lr", type=float, default=d.learning_rate)
    p.add_argument("--l1", type=float, default=d.l1_weight, help="weight of the pixel L1 loss")
    p.add_argument("--ssim", type=float, default=d.ssim_weight, help="weight of the 1 - SSIM loss")
    p.add_argument("--lpips", type=float, default=d.lpips_weight,
                   help="weight of the LPIPS loss (the metric's AlexNet, as a Keras loss; 0: off)")
    p.add_argument("--init-from", default=None, metavar="STEM",
                   help="start from saved weights of the same architecture (STEM.weights.h5 + STEM.json, "
                        "e.g. a shipped student), e.g. to fine-tune it with another loss")
    p.add_argument("--feature-weight", type=float, default=d.feature_weight,
                   help="weight of feature-map distillation (0: off; the teacher then runs every step)")
    p.add_argument("--feature-layers", default=",".join(d.feature_layers))
    p.add_argument("--views", type=int, default=d.views, help="cached teacher views per photo")
    p.add_argument("--crops-per-view", type=int, default=d.crops_per_view, help="cached crops per view")
    p.add_argument("--face-crops", type=int, default=d.face_crops,
                   help="face-centred crops per view (faces found by models.faces; 0: none)")
    p.add_argument("--face-share", type=float, default=d.face_share,
                   help="share of every batch drawn from the face crops")
    p.add_argument("--val-full", action="store_true",
                   help="validate on whole held-out photos at --image-side with eyes/nose/mouth SSIM")
    p.add_argument("--init", default="teacher", choices=INITS,
                   help="start from the teacher's weights (strongest channels, first blocks, separable "
                        "convs by rank-1 SVD), from random weights, or 'fit': the teacher's weights with "
                        "every conv refitted by least squares to the teacher's activations on portraits "
                        "(models/student_fit.py; a 3x trunk student starts at 20.6 dB instead of 14.4)")
    p.add_argument("--fit-images", type=int, default=FIT_IMAGES,
                   help="calibration portraits (512 px) the 'fit' start is fitted on")
    p.add_argument("--from-method", default=None, choices=("prune", "svd"),
                   help="instead of a student family: compress the teacher with this method first "
                        "(--method-config) and train the result (the long recovery of pruning / SVD)")
    p.add_argument("--method-config", default="{}",
                   help="JSON of the --from-method config, e.g. '{\"trunk_ratio\": 0.5, \"ratio\": 0}'")
    p.add_argument("--data-dir", default=d.data_dir)
    p.add_argument("--holdout", type=int, default=d.holdout)
    p.add_argument("--max-images", type=int, default=None)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--val-every", type=int, default=d.val_every)
    p.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every)
    p.add_argument("--work-dir", default=None, help=f"checkpoints + history (default {DEFAULT_LAB}/<name>)")
    p.add_argument("--cache-dir", default=d.cache_dir)
    p.add_argument("--stop-at", type=int, default=None, help="end after this step (resumable)")
    p.add_argument("--max-minutes", type=float, default=None,
                   help="end after this many minutes of training (resumable; for a leased GPU's time)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_distill)


def config_from_args(args, name):
    from models.training import DEFAULT_LAB, TrainConfig

    return TrainConfig(
        steps=args.steps, batch_size=args.batch_size, crop=args.crop, image_side=args.image_side,
        learning_rate=args.lr, l1_weight=args.l1, ssim_weight=args.ssim, lpips_weight=args.lpips,
        feature_weight=args.feature_weight,
        feature_layers=tuple(x for x in args.feature_layers.split(",") if x), views=args.views,
        crops_per_view=args.crops_per_view, face_crops=args.face_crops, face_share=args.face_share,
        val_full=args.val_full,
        data_dir=args.data_dir, holdout=args.holdout, max_images=args.max_images, seed=args.seed,
        val_every=args.val_every, checkpoint_every=args.checkpoint_every,
        work_dir=args.work_dir or str(DEFAULT_LAB / name), cache_dir=args.cache_dir)


def environment():
    """Where the training ran: enough to say what hardware the quoted training time is for."""
    import keras

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "gpu": _gpu_name(), "python": platform.python_version(),
            "keras": keras.__version__, "backend": keras.backend.backend(), "platform": platform.platform()}


def _gpu_name():
    """The accelerator the Keras backend trains on (None on CPU), so a shipped model names its hardware."""
    import keras

    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax

            gpus = [d for d in jax.devices() if d.platform == "gpu"]
            return gpus[0].device_kind if gpus else None
        if backend == "torch":
            import torch

            return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            return tf.config.experimental.get_device_details(gpus[0]).get("device_name") if gpus else None
    except Exception:  # a broken driver must not lose a finished run's weights
        return None
    return None


def thin(records, points=CURVE_POINTS):
    step = max(1, len(records) // points)
    kept = records[::step]
    return kept if not records or kept[-1] is records[-1] else kept + [records[-1]]


def cmd_distill(args):
    from models.complexity import count_macs, count_params
    from models.students import StudentSpec, build_student, init_from_teacher, save_student
    from models.training import has_checkpoint, train
    from models.weights import load_model

    teacher = load_model(args.style)
    method = None
    if args.from_method:
        student, arch, method = _compressed_start(args, teacher)
        name = args.out and Path(args.out).name
        spec = None
    else:
        spec = StudentSpec(args.student, args.width, args.blocks, args.inner)
        name = spec.name
        student, arch = build_student(spec, seed=args.seed)
    config = config_from_args(args, name)
    if spec and args.init == "teacher":
        init_from_teacher(student, arch, teacher)
    elif spec and args.init == "fit" and not has_checkpoint(config.work_dir):  # a resumed run loads its own
        from models.student_fit import fit_start

        try:
            fit_start(student, arch, teacher, images=args.fit_images, progress=not args.no_progress)
        except ValueError as e:
            raise SystemExit(f"--init fit: {e}")
    continued = _load_same_architecture(student, arch, args.init_from) if args.init_from else None
    if args.max_minutes is not None and args.max_minutes <= 0:
        raise SystemExit(f"--max-minutes must be > 0 (received {args.max_minutes}); leave it out to run all steps")
    history = train(student, teacher, config, progress=not args.no_progress, stop_at=args.stop_at,
                    time_limit_s=None if args.max_minutes is None else 60 * args.max_minutes)
    best = Path(config.work_dir) / "best.weights.h5"
    if best.exists():  # ship the weights of the best validation, not merely the last step's
        student.load_weights(best)
    h, w = REPORT_RESOLUTION
    meta = {
        "name": name, "spec": dataclasses.asdict(spec) if spec else None, "method": method, "teacher": {
            "style": args.style, "fingerprint": history["teacher_fingerprint"],
            "params": count_params(teacher), "macs_512": count_macs(teacher, h, w)},
        "params": count_params(student), "macs_512": count_macs(student, h, w),
        "command": "python -m models distill " + " ".join(shlex.quote(a) for a in sys.argv[2:])
        if sys.argv[1:2] == ["distill"] else None,
        "init": args.from_method or args.init, "continued_from": continued, "train_config": config.to_dict(),
        "steps_done": history["steps_done"],
        "complete": history["steps_done"] >= config.steps,
        "train_time_s": round(history["train_time_s"], 1), "environment": environment(),
        "held_out": history["split"]["held_out"],
        "final_val_psnr": history["val"][-1]["val_psnr"] if history["val"] else None,
        "best_val": history.get("best"),
        "curve": {"train": thin(history["train"]), "val": history["val"]},
    }
    weights, meta_path = save_student(student, arch, args.out, meta)
    print(json.dumps({k: meta[k] for k in ("name", "params", "macs_512", "steps_done", "train_time_s",
                                            "final_val_psnr")}))
    print(f"wrote {weights} and {meta_path}")


def _compressed_start(args, teacher):
    """(model, architecture, {"name", "config"}) of the teacher compressed by --from-method, untrained."""
    from models.compression import get_method
    from models.variant import KerasVariant
    from models.dctnet import Architecture

    try:
        fields = json.loads(args.method_config)
    except json.JSONDecodeError as e:
        raise SystemExit(f"--method-config is not valid JSON ({e}). Received: {args.method_config!r}")
    method = get_method(args.from_method)
    try:
        untrained = method.config_class(**{**fields, "finetune_steps": 0})  # this command is the recovery
    except (TypeError, ValueError) as e:
        raise SystemExit(f"--method-config for {args.from_method}: {e}")
    result = method.apply(KerasVariant(model=teacher, architecture=Architecture()), untrained)
    # The config a build asks for to get these weights: the method's, with this run's recovery settings,
    # and its photo-dependent choices pinned (SVD's rank allocation) so any machine rebuilds this shape.
    pinned = method.pinned(untrained, result.variant) if hasattr(method, "pinned") else untrained
    shipped = dataclasses.replace(pinned, finetune_steps=args.steps, finetune_crop=args.crop,
                                  finetune_batch=args.batch_size, finetune_lr=args.lr)
    return result.variant.model, result.variant.architecture, {
        "name": args.from_method, "config": dataclasses.asdict(shipped)}


def _load_same_architecture(model, arch, stem):
    """Load STEM.weights.h5 into `model` after checking STEM.json describes the same architecture; return
    what the shipped weights say was spent on them before (so a continued run's total stays traceable)."""
    from models.dctnet import Architecture

    stem = Path(stem)
    meta_path, weights = stem.with_name(stem.name + ".json"), stem.with_name(stem.name + ".weights.h5")
    for p in (meta_path, weights):
        if not p.exists():
            raise SystemExit(f"--init-from {stem}: {p} is missing (give the stem of a .weights.h5 + .json pair)")
    before = json.loads(meta_path.read_text())
    theirs = Architecture.from_dict(before["architecture"])
    if theirs != arch:
        raise SystemExit(f"--init-from {stem}: its architecture differs from this run's; start from weights "
                         "of the same student family / width / blocks (or the same --from-method config)")
    model.load_weights(weights)
    return {"stem": str(stem), "command": before.get("command"), "steps_done": before.get("steps_done"),
            "train_time_s": before.get("train_time_s"), "environment": before.get("environment"),
            "best_val": before.get("best_val"), "continued_from": before.get("continued_from")}
