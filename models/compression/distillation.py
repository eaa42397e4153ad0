"""Knowledge distillation as a compression method: a smaller student trained to imitate the source.

`apply(source, DistillConfig(...))` returns the student as a `KerasVariant`. When a shipped student
(`models/weights/students/`) matches the requested family / width / blocks and was trained from this
very source (same weights fingerprint), it is loaded instead of trained, because training costs hours
on a CPU; `use_shipped=False` forces training with `models.training.train`.
"""

from dataclasses import dataclass
from pathlib import Path

from models.compression import register
from models.compression.base import CompressionResult, base_report, path_field
from models.student_fit import fit_start
from models.students import FAMILIES, INITS, StudentSpec, build_student, init_from_teacher, load_student, \
    shipped_students, student_metadata
from models.training import DEFAULT_LAB, TrainConfig, has_checkpoint, train
from models.training_data import model_fingerprint
from models.validation import require
from models.variant import KerasVariant


@dataclass(frozen=True)
class DistillConfig:
    student: str = "slim"  # family: slim | separable | trunk | bottleneck
    width: int = 16
    blocks: int = 2
    inner: int = 0  # bottleneck students: the residual blocks' inner width
    steps: int = 2000
    batch_size: int = 8
    crop: int = 160
    learning_rate: float = 2e-3
    l1_weight: float = 1.0
    ssim_weight: float = 0.5
    lpips_weight: float = 0.0  # the perceptual term (models/lpips_loss.py) the trunk students train with
    feature_weight: float = 0.0
    init: str = "teacher"  # teacher: the source's strongest channels; fit: those refitted to its activations
    # on 16 calibration portraits (models/student_fit.py); random: from noise
    use_shipped: bool = True  # load the shipped student of this spec when it was trained from the source
    seed: int = 0
    work_dir: str | None = path_field()  # None: lab_data/training/<student name>
    data_dir: str | None = path_field()  # None: the shared portraits
    image_side: int = 512
    max_images: int | None = None
    holdout: int = 24
    views: int = 2
    crops_per_view: int = 4
    face_crops: int = 0  # the face-aware recipe (docs/distillation.md): 2 face crops per view...
    face_share: float = 0.0  # ...and a quarter of every batch from them
    val_full: bool = False  # validate on whole held-out photos (PSNR + face regions), keep the best

    def __post_init__(self):
        require(self.student in FAMILIES, "student", self.student, f"must be one of {FAMILIES}")
        self.spec  # validates width / blocks
        require(self.init in INITS, "init", self.init, f"must be one of {INITS}")
        require(isinstance(self.use_shipped, bool), "use_shipped", self.use_shipped, "must be a bool")
        self.train_config()  # validates the training settings

    @property
    def spec(self):
        return StudentSpec(self.student, self.width, self.blocks, self.inner)

    def train_config(self):
        extra = {"data_dir": self.data_dir} if self.data_dir is not None else {}
        return TrainConfig(steps=self.steps, batch_size=self.batch_size, crop=self.crop,
                           image_side=self.image_side, learning_rate=self.learning_rate,
                           l1_weight=self.l1_weight, ssim_weight=self.ssim_weight,
                           lpips_weight=self.lpips_weight, feature_weight=self.feature_weight, seed=self.seed,
                           holdout=self.holdout,
                           max_images=self.max_images, views=self.views, crops_per_view=self.crops_per_view,
                           face_crops=self.face_crops, face_share=self.face_share, val_full=self.val_full,
                           work_dir=self.work_dir or str(DEFAULT_LAB / self.spec.name), **extra)


class Distillation:
    name = "distill"
    config_class = DistillConfig
    training = "distillation"
    artifact = "keras"

    def photos(self, values):
        return "training"  # the config checks the photo folder even when it loads a shipped student

    def apply(self, source, config):
        require(isinstance(source, KerasVariant), "source", type(source).__name__, "must be a KerasVariant")
        require(isinstance(config, DistillConfig), "config", type(config).__name__, "must be a DistillConfig")
        spec = config.spec
        notes = []
        fingerprint = model_fingerprint(source.model)
        if config.use_shipped and spec.name in shipped_students():
            meta = student_metadata(spec.name)
            if meta.get("teacher", {}).get("fingerprint") == fingerprint:
                student = load_student(spec.name)
                student.name = f"{source.name}/distill-{spec.name}"
                notes.append(f"loaded the shipped student {spec.name} ({meta.get('steps_done')} steps, "
                             f"{meta.get('train_time_s')} s of training; command: {meta.get('command')})")
                report = base_report(self.name, config, source, student.model)
                report.changed.append(_replaced(spec))
                report.notes.extend(notes)
                return CompressionResult(report=report, variant=student)
            notes.append(f"shipped student {spec.name} was trained from another teacher "
                         f"({meta.get('teacher', {}).get('fingerprint')} != {fingerprint}): training anew")
        model, arch = build_student(spec, seed=config.seed)
        train_config = config.train_config()
        if config.init == "teacher":
            init_from_teacher(model, arch, source.model, teacher_blocks=source.architecture.num_blocks)
        elif config.init == "fit" and not has_checkpoint(train_config.work_dir):  # a resumed run loads its own
            fit_start(model, arch, source.model, portraits_dir=config.data_dir)
        history = train(model, source.model, train_config, progress=True)
        best = Path(train_config.work_dir) / "best.weights.h5"
        if best.exists():  # the weights of the best validation, not merely the last step's
            model.load_weights(best)
        notes.append(f"trained {history['steps_done']} steps in {history['train_time_s']:.0f} s; "
                     f"validation PSNR vs source {history['val'][-1]['val_psnr']:.2f} dB")
        variant = KerasVariant(model=model, architecture=arch, name=f"{source.name}/distill-{spec.name}")
        report = base_report(self.name, config, source, model)
        report.changed.append(_replaced(spec))
        report.notes.extend(notes)
        return CompressionResult(report=report, variant=variant)


def _replaced(spec):
    inner = f", blocks' inner width {spec.inner}" if spec.inner else ""
    return f"replaced by a {spec.family} student (width {spec.width}, {spec.blocks} residual blocks{inner})"


register(Distillation())
