"""Train a Keras DCT-Net (a distillation student, or a pruned / SVD variant) to imitate the original.

`train(student, teacher, TrainConfig(...))` is the one loop behind knowledge distillation and the
recovery fine-tune after pruning / SVD. Contract: both networks map float32 BGR (N, H, W, 3) in
[-1, 1] to the same; the student's weights are updated in place.

Data (`models.training_data`): photos at a short side of `image_side` (the product's scale), `views`
copies each (as-is; mirrored and / or mildly colour-jittered), `crops_per_view` random crops and
`face_crops` face-centred crops per view; the teacher runs ONCE per crop and its output is cached, so a
step costs only the student; `face_share` of every batch comes from the face crops. A step's batch is a
function of (seed, step) alone, so a resumed run sees exactly the batches an uninterrupted run would.

Loss (`models.losses`): l1_weight * |y - t| + ssim_weight * (1 - SSIM) + lpips_weight * LPIPS, optionally
+ feature_weight * L1 between the teacher's intermediate activations and the student's (through a
learned 1x1 adapter when the widths differ): the "distill" term of feature-map distillation. Teacher
features are not cached (they are large): with feature_weight > 0 the teacher runs on every batch.

Validation: centre crops of held-out photos, or (`val_full`) whole held-out photos with eyes / nose /
mouth SSIM; the weights of the best validation are kept beside the checkpoint (`best.weights.h5`).

Backend-agnostic: it uses `compile` + `train_on_batch` only, so it runs on TensorFlow (CPU here) and on
JAX / torch (GPU boxes) alike. Checkpoints (weights + optimizer state + history) go to `work_dir`
every `checkpoint_every` steps, written to a temp folder then renamed, so an interruption never leaves
a half-written checkpoint; `train` resumes from it when present.
"""

import dataclasses
import json
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.validation import require
from models.losses import image_loss, l1, ssim
from models.portraits import EVAL_HOLDOUT, resize_short_side, split_images
from models.training_data import cache_pairs, centre_batch, model_fingerprint, progress_bar, sample_batch, to_numpy
from models.samples import photo_dir

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = photo_dir()  # $DCTNET_PORTRAITS, the shared portraits, or the bundled samples
DEFAULT_LAB = ROOT / "lab_data" / "training"
CHECKPOINT = "checkpoint"
# Settings that may change between a run and its resumption (everything else must match).
RESUMABLE_CHANGES = ("steps", "checkpoint_every", "val_every")


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 2000
    batch_size: int = 8
    crop: int = 160  # training crop side (px, multiple of 4)
    image_side: int = 512  # photos are resized to this short side before cropping
    learning_rate: float = 2e-3  # Adam, cosine-decayed to lr * lr_floor over `steps`
    lr_floor: float = 0.05
    l1_weight: float = 1.0
    ssim_weight: float = 0.5
    lpips_weight: float = 0.0  # > 0: + LPIPS (models.lpips_loss: the metric's AlexNet, any backend)
    feature_weight: float = 0.0  # > 0: feature-map distillation on `feature_layers`
    feature_layers: tuple = ("Conv_4", "Conv_6")
    views: int = 2  # cached teacher views per photo (0 as-is; >= 1 mirrored and/or colour-jittered)
    crops_per_view: int = 4  # crops per view the teacher runs on (and the student trains on)
    face_crops: int = 0  # face-centred crops per view (faces found by models.faces at image_side)
    face_share: float = 0.0  # share of every batch drawn from the face crops (needs face_crops >= 1)
    jitter: float = 0.1  # colour jitter strength of views >= 1 (brightness / contrast / saturation)
    data_dir: str = str(DEFAULT_DATA)
    holdout: int = EVAL_HOLDOUT  # photos held back (never trained on) for validation and the final table
    max_images: int | None = None  # cap on training photos (None: all the rest)
    val_images: int | None = None  # held-back photos the periodic validation uses (None: min(8, holdout))
    val_crop: int = 256  # centre crop side of the periodic validation
    val_full: bool = False  # validate on whole held-out photos at image_side, with eyes/nose/mouth SSIM
    val_every: int = 100
    checkpoint_every: int = 100
    seed: int = 0
    work_dir: str = str(DEFAULT_LAB / "run")
    cache_dir: str = str(DEFAULT_LAB / "cache")

    def __post_init__(self):
        object.__setattr__(self, "feature_layers", tuple(self.feature_layers))
        for name in ("steps", "batch_size", "views", "crops_per_view", "val_every", "checkpoint_every"):
            value = getattr(self, name)
            require(isinstance(value, int) and value >= 1, name, value, "must be an int >= 1")
        for name in ("crop", "val_crop"):
            value = getattr(self, name)
            require(isinstance(value, int) and value >= 16 and value % 4 == 0, name, value,
                    "must be an int >= 16 and a multiple of 4")
        require(isinstance(self.image_side, int) and self.image_side >= self.crop, "image_side",
                self.image_side, f"must be an int >= crop ({self.crop})")
        require(self.learning_rate > 0, "learning_rate", self.learning_rate, "must be > 0")
        require(0 <= self.lr_floor <= 1, "lr_floor", self.lr_floor, "must be in [0, 1]")
        for name in ("l1_weight", "ssim_weight", "lpips_weight", "feature_weight"):
            value = getattr(self, name)
            require(isinstance(value, (int, float)) and value >= 0, name, value, "must be a number >= 0")
        require(self.l1_weight + self.ssim_weight > 0, "l1_weight + ssim_weight",
                self.l1_weight + self.ssim_weight, "must be > 0 (the image loss needs a term)")
        require(0 <= self.jitter < 0.5, "jitter", self.jitter, "must be in [0, 0.5)")
        require(isinstance(self.face_crops, int) and self.face_crops >= 0, "face_crops", self.face_crops,
                "must be an int >= 0")
        require(isinstance(self.face_share, (int, float)) and 0 <= self.face_share <= 1, "face_share",
                self.face_share, "must be a number in [0, 1]")
        require(self.face_share == 0 or self.face_crops >= 1, "face_share", self.face_share,
                "needs face_crops >= 1 (there are no face crops to draw from)")
        require(isinstance(self.holdout, int) and self.holdout >= 1, "holdout", self.holdout,
                "must be an int >= 1")
        if self.val_images is None:
            object.__setattr__(self, "val_images", min(8, self.holdout) if isinstance(self.holdout, int)
                               else 8)
        require(isinstance(self.val_images, int) and 1 <= self.val_images <= self.holdout, "val_images",
                self.val_images, f"must be an int in [1, holdout={self.holdout}]")
        require(self.max_images is None or (isinstance(self.max_images, int) and self.max_images >= 1),
                "max_images", self.max_images, "must be None or an int >= 1")
        require(isinstance(self.seed, int), "seed", self.seed, "must be an int")
        require(Path(self.data_dir).is_dir(), "data_dir", self.data_dir, "must be an existing folder")

    def to_dict(self):
        d = dataclasses.asdict(self)
        d["feature_layers"] = list(self.feature_layers)
        return d


# ------------------------------------------------------------------------------------------ training

def _feature_name(layer):
    return f"{layer}_lrelu"  # activations after the leaky ReLU, as the next layer sees them


def build_train_model(student, teacher, config):
    """Student with its image output and (feature distillation) adapted intermediate activations."""
    import keras

    outputs = {"image": student.output}
    if config.feature_weight > 0:
        for layer in config.feature_layers:
            name = _feature_name(layer)
            for net, label in ((student, "student"), (teacher, "teacher")):
                try:
                    net.get_layer(name)
                except ValueError:
                    raise ValueError(f"feature_layers names {layer!r}, but the {label} has no layer "
                                     f"{name!r}. Received: feature_layers={config.feature_layers!r}")
            feat = student.get_layer(name).output
            width = teacher.get_layer(name).output.shape[-1]
            outputs[f"feat_{layer}"] = keras.layers.Conv2D(width, 1, name=f"adapter_{layer}")(feat)
    return keras.Model(student.input, outputs, name=f"{student.name}_train")


def _compile(train_model, config):
    import keras

    schedule = keras.optimizers.schedules.CosineDecay(
        config.learning_rate, decay_steps=config.steps, alpha=config.lr_floor)
    losses = {"image": image_loss(config.l1_weight, config.ssim_weight, config.lpips_weight)}
    weights = {"image": 1.0}
    for layer in config.feature_layers if config.feature_weight > 0 else ():
        losses[f"feat_{layer}"] = "mean_absolute_error"
        weights[f"feat_{layer}"] = config.feature_weight
    train_model.compile(optimizer=keras.optimizers.Adam(schedule), loss=losses, loss_weights=weights,
                        metrics={"image": [l1, ssim]})
    train_model.optimizer.build(train_model.trainable_variables)
    return schedule


def _teacher_features(teacher, config):
    import keras

    layers = [teacher.get_layer(_feature_name(n)).output for n in config.feature_layers]
    return keras.Model(teacher.input, layers)


def psnr_uint8(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def validate(student, val_x, val_y):
    """Mean PSNR (dB) of the student's uint8 output against the teacher's, as the product sees them."""
    from models.processing import from_network

    out = to_numpy(student(val_x, training=False))
    return float(np.mean([psnr_uint8(from_network(o), from_network(t)) for o, t in zip(out, val_y)]))


class FullImageValidation:
    """Validation on whole held-out photos at the product's scale, as the evaluation module scores them:
    PSNR of the uint8 output against the teacher's, and SSIM (scikit-image, the evaluation's settings)
    of the eyes / nose / mouth boxes of the faces found on the photo. Teacher outputs and faces are
    found once per run."""

    def __init__(self, names, teacher, config):
        from models.face_index import faces_of, load_index, view_key
        from models.images import load_image
        from models.processing import from_network, to_network

        index = load_index(config.data_dir)
        self.items = []
        for name in names:
            rgb = resize_short_side(load_image(Path(config.data_dir) / name), config.image_side)
            x = to_network(rgb)[None]
            reference = from_network(to_numpy(teacher(x, training=False))[0])
            key = view_key(name, 0, config.image_side, config.jitter, config.seed)
            regions = [face.regions() for face in faces_of(index, key, rgb)]
            self.items.append((x, reference, regions))

    def __call__(self, student):
        from skimage.metrics import structural_similarity

        from models.processing import from_network

        psnrs, region_ssim = [], {"eyes": [], "nose": [], "mouth": []}
        for x, reference, regions in self.items:
            out = from_network(to_numpy(student(x, training=False))[0])
            psnrs.append(psnr_uint8(out, reference))
            for boxes in regions:
                for region, (x0, y0, x1, y1) in boxes.items():
                    a, b = out[y0:y1, x0:x1], reference[y0:y1, x0:x1]
                    if min(a.shape[:2]) >= 11:
                        region_ssim[region].append(structural_similarity(
                            a, b, channel_axis=2, data_range=255, gaussian_weights=True, sigma=1.5,
                            use_sample_covariance=False))
        row = {"val_psnr": float(np.mean(psnrs)), "val_psnr_worst": float(np.min(psnrs))}
        row.update({f"val_{r}_ssim": float(np.mean(v)) for r, v in region_ssim.items() if v})
        return row


def _save_best(student, work, history, record):
    """Keep the student's weights of the best validation so far (by full-image PSNR) in work/best."""
    best = history.get("best")
    if best is not None and best["val_psnr"] >= record["val_psnr"]:
        return
    tmp = Path(work) / "best.tmp.weights.h5"
    student.save_weights(tmp)
    tmp.replace(Path(work) / "best.weights.h5")
    history["best"] = dict(record)


def train(student, teacher, config=TrainConfig(), progress=True, stop_at=None, time_limit_s=None):
    """Train `student` toward `teacher` (in place); returns the history dict (also written to work_dir).

    stop_at: end this call after that step (checkpointed), as an interruption would; call again with
    the same config to go on. None runs to config.steps.
    time_limit_s: end this call, the same way, after the first step that ends past this many seconds
    of training in this call (a leased GPU's minutes; the last step is validated and checkpointed).

    History: {"config", "train": [{"step", "loss", "l1", "ssim", ["feat_*"], "lr", "time_s"}, ...],
    "val": [{"step", "val_psnr", [full-image validation: "val_psnr_worst", "val_<region>_ssim"]}, ...],
    "best": the val record whose weights are in work_dir/best.weights.h5, "train_time_s", "steps_done",
    "split": {"train", "held_out"}}.
    `step` counts from 1; the loss of step k is the loss on step k's batch before its update.
    """
    import keras

    require(isinstance(config, TrainConfig), "config", type(config).__name__, "must be a TrainConfig")
    work = Path(config.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(config.seed)

    train_names, held = split_images(config.data_dir, config.holdout, config.seed, config.max_images)
    pairs = cache_pairs(train_names, teacher, config, config.views, progress=progress,
                        desc="teacher targets (train)", faces=config.face_crops)
    if config.face_share > 0 and not any(p.face_photo_path for p in pairs):
        raise ValueError(f"face_share={config.face_share} asks for face crops, but no face was found in the "
                         f"{len(train_names)} training photos of {config.data_dir}: use photos with faces "
                         "or set face_share=0")
    if config.val_full:
        measure = FullImageValidation(held[: config.val_images], teacher, config)
    else:
        val_pairs = cache_pairs(held[: config.val_images], teacher, config, 1, crops=0, crop=config.val_crop,
                                progress=progress, desc="teacher targets (val)")
        val_x, val_y = centre_batch(val_pairs)

        def measure(model):
            return {"val_psnr": validate(model, val_x, val_y)}

    train_model = build_train_model(student, teacher, config)
    schedule = _compile(train_model, config)
    teacher_feats = _teacher_features(teacher, config) if config.feature_weight > 0 else None

    history = {"config": config.to_dict(), "train": [], "val": [], "train_time_s": 0.0, "steps_done": 0,
               "split": {"train": train_names, "held_out": held}, "backend": keras.backend.backend(),
               "student": student.name, "teacher_fingerprint": model_fingerprint(teacher)}
    start_step = _resume(train_model, work / CHECKPOINT, config, history)
    if start_step == 0:
        history["val"].append({"step": 0, **measure(student)})
        _save_best(student, work, history, history["val"][-1])

    require(stop_at is None or (isinstance(stop_at, int) and stop_at >= 1), "stop_at", stop_at,
            "must be None or an int >= 1")
    require(time_limit_s is None or (isinstance(time_limit_s, (int, float)) and time_limit_s > 0),
            "time_limit_s", time_limit_s, "must be None or a number of seconds > 0")
    last = config.steps if stop_at is None else min(stop_at, config.steps)
    bar = progress_bar(config.steps, "train", progress, initial=start_step)
    clock, spent = time.perf_counter(), history["train_time_s"]
    for step in range(start_step + 1, last + 1):
        if time_limit_s is not None and time.perf_counter() - clock >= time_limit_s:
            last = step  # this step is the call's last: validated and checkpointed below
        x, y = sample_batch(pairs, config, step)
        targets = {"image": y}
        if teacher_feats is not None:
            feats = teacher_feats(x, training=False)
            feats = feats if isinstance(feats, (list, tuple)) else [feats]
            targets.update({f"feat_{n}": to_numpy(f) for n, f in zip(config.feature_layers, feats)})
        train_model.reset_metrics()  # so the logs are this batch's values, not a running mean
        logs = train_model.train_on_batch(x, targets, return_dict=True)
        record = {"step": step, "lr": float(schedule(step - 1)),
                  "time_s": round(spent + time.perf_counter() - clock, 3)}  # training seconds so far
        record.update({_short(k): float(v) for k, v in logs.items()})
        if not math.isfinite(record["loss"]):
            raise FloatingPointError(f"training diverged at step {step}: loss={record['loss']} "
                                     f"(try a lower learning_rate; received {config.learning_rate})")
        history["train"].append(record)
        postfix = {"loss": f"{record['loss']:.4f}"}
        if step % config.val_every == 0 or step == last:  # always validate the weights a call ends with
            history["val"].append({"step": step, **measure(student)})
            _save_best(student, work, history, history["val"][-1])
        if history["val"]:
            postfix["val_psnr"] = f"{history['val'][-1]['val_psnr']:.2f}"
        bar.set_postfix(postfix)
        bar.update(1)
        if step % config.checkpoint_every == 0 or step == last:
            history["train_time_s"] = spent + time.perf_counter() - clock
            history["steps_done"] = step
            _save_checkpoint(train_model, work / CHECKPOINT, history)
        if step == last:
            break
    bar.close()
    history["train_time_s"] = spent + time.perf_counter() - clock
    history["steps_done"] = max(history["steps_done"], start_step)
    _write_json(work / "history.json", history)
    return history


def _short(key):
    """'image_l1' -> 'l1', 'image_loss' -> 'image_loss', 'loss' -> 'loss'."""
    return key[len("image_"):] if key in ("image_l1", "image_ssim") else key


# --------------------------------------------------------------------------------------- checkpoints

def _write_json(path, obj):
    tmp = Path(path).with_name(Path(path).name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1) + "\n")
    tmp.replace(path)


def _save_checkpoint(train_model, folder, history):
    """weights + optimizer state + history into a temp folder, then swapped in."""
    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    train_model.save_weights(tmp / "model.weights.h5")
    opt = train_model.optimizer
    np.savez(tmp / "optimizer.npz", **{f"v{i:04d}": np.asarray(v) for i, v in enumerate(opt.variables)})
    _write_json(tmp / "history.json", history)
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
    _write_json(folder.parent / "history.json", history)
    _write_json(folder.parent / "config.json", history["config"])


def has_checkpoint(work_dir):
    """Whether `train` with this work_dir resumes from a checkpoint (so a fresh start would be overwritten)."""
    return (Path(work_dir) / CHECKPOINT / "history.json").exists()


def _resume(train_model, folder, config, history):
    """Load a checkpoint into the (compiled, built) train model; returns the step it stopped at."""
    folder = Path(folder)
    if not has_checkpoint(folder.parent):
        return 0
    saved = json.loads((folder / "history.json").read_text())
    mine, theirs = config.to_dict(), saved["config"]
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    # a setting added to TrainConfig after the checkpoint was written counts as its default there
    theirs = {k: theirs.get(k, defaults.get(k)) for k in mine}
    diff = {k: (theirs[k], mine[k]) for k in mine if k not in RESUMABLE_CHANGES and theirs[k] != mine[k]}
    if diff:
        raise ValueError(f"{folder} holds a checkpoint of a different run; differing settings "
                         f"(checkpoint, now): {diff}. Use another work_dir or delete that folder.")
    train_model.load_weights(folder / "model.weights.h5")
    opt = train_model.optimizer
    with np.load(folder / "optimizer.npz") as data:
        arrays = [data[f"v{i:04d}"] for i in range(len(data.files))]
    require(len(arrays) == len(opt.variables), "optimizer state", len(arrays),
            f"must hold {len(opt.variables)} variables")
    for var, value in zip(opt.variables, arrays):
        var.assign(value)
    for key in ("train", "val", "train_time_s", "steps_done", "best"):
        if key in saved:
            history[key] = saved[key]
    return int(saved["steps_done"])
