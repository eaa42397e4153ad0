"""Recovery fine-tune of a pruned / factorised model toward its source's outputs (teacher-output loss).

A thin adapter over `models.training.train` (the distillation loop): small crops, few steps, a bounded
set of photos, so it stays a few minutes on a 2-core CPU. The config is any method config with
`finetune_steps`, `finetune_crop`, `finetune_batch`, `finetune_lr`, `finetune_dir`.
"""

import shutil
import tempfile
from pathlib import Path

from models.validation import require

FINETUNE_PHOTOS = 48  # teacher targets are cached once per photo: keep that pass short
FINETUNE_SIDE = 256  # photos resized to this short side before cropping


def validate_finetune(config):
    """Check the fine-tune fields every method with a recovery fine-tune shares."""
    require(isinstance(config.finetune_steps, int) and config.finetune_steps >= 0, "finetune_steps",
            config.finetune_steps, "must be an int >= 0")
    require(isinstance(config.finetune_crop, int) and config.finetune_crop >= 16 and config.finetune_crop % 4 == 0,
            "finetune_crop", config.finetune_crop, "must be an int >= 16 and a multiple of 4")
    require(isinstance(config.finetune_batch, int) and config.finetune_batch >= 1, "finetune_batch",
            config.finetune_batch, "must be an int >= 1")
    require(isinstance(config.finetune_lr, (int, float)) and config.finetune_lr > 0, "finetune_lr",
            config.finetune_lr, "must be > 0")


RECOVERED_DIR = Path(__file__).resolve().parent.parent / "weights" / "recovered"
NOT_MATCHED = ("finetune_dir",)  # where a run keeps its checkpoints does not change its weights


def shipped_recovery(config, teacher, folder=RECOVERED_DIR):
    """The stem of a shipped recovered model trained with exactly this method config from this teacher
    (`python -m models distill --from-method ...` writes them), or None."""
    import dataclasses
    import json

    from models.training_data import model_fingerprint

    # compared as JSON (tuples and lists alike), as the shipped file stores them
    wanted = json.loads(json.dumps({k: v for k, v in dataclasses.asdict(config).items() if k not in NOT_MATCHED}))
    # a field added to the config after the file was shipped takes its default there
    defaults = json.loads(json.dumps({f.name: f.default for f in dataclasses.fields(config)
                                      if f.default is not dataclasses.MISSING and f.name not in NOT_MATCHED}))
    fingerprint = None
    for meta_path in sorted(Path(folder).glob("*.json")):
        meta = json.loads(meta_path.read_text())
        method = meta.get("method") or {}
        shipped = {**defaults, **{k: v for k, v in (method.get("config") or {}).items() if k not in NOT_MATCHED}}
        if shipped != wanted:
            continue
        fingerprint = fingerprint or model_fingerprint(teacher)
        if meta.get("teacher", {}).get("fingerprint") == fingerprint:
            return meta_path.with_suffix(""), meta
    return None


def recover(student, teacher, config, progress=True):
    """Train `student` in place (or load shipped weights trained with this very config from this
    teacher); returns a one-line summary for the compression report."""
    from models.training import TrainConfig, train

    shipped = shipped_recovery(config, teacher)
    if shipped is not None:
        stem, meta = shipped
        student.load_weights(stem.with_name(stem.name + ".weights.h5"))
        best = meta.get("best_val") or {}
        return (f"recovery: loaded the shipped weights {stem.name} ({meta.get('steps_done')} steps, "
                f"{meta.get('train_time_s', 0) / 60:.0f} min on {meta.get('environment', {}).get('cpu')}; "
                f"held-out full-image PSNR vs source {best.get('val_psnr', float('nan')):.2f} dB; "
                f"command: {meta.get('command')})")

    temporary = not config.finetune_dir
    work = Path(config.finetune_dir) if config.finetune_dir else Path(tempfile.mkdtemp(prefix="dctnet-finetune-"))
    steps = config.finetune_steps
    train_config = TrainConfig(
        steps=steps, batch_size=config.finetune_batch, crop=config.finetune_crop,
        image_side=max(FINETUNE_SIDE, config.finetune_crop), learning_rate=config.finetune_lr,
        l1_weight=1.0, ssim_weight=0.0, views=1, max_images=FINETUNE_PHOTOS, val_images=4,
        val_crop=min(192, max(FINETUNE_SIDE, config.finetune_crop)), val_every=steps,
        checkpoint_every=steps, work_dir=str(work / "run"), cache_dir=str(work.parent / "dctnet-finetune-cache"))
    try:
        history = train(student, teacher, train_config, progress=progress)
    finally:
        if temporary:  # checkpoints of a throw-away run; the teacher cache beside it is kept for reuse
            shutil.rmtree(work, ignore_errors=True)
    before, after = history["val"][0]["val_psnr"], history["val"][-1]["val_psnr"]
    return (f"recovery fine-tune: {steps} steps of L1 to the source's outputs, {config.finetune_batch} x "
            f"{config.finetune_crop} px crops from {FINETUNE_PHOTOS} training photos, lr {config.finetune_lr}, "
            f"{history['train_time_s']:.0f} s; held-out centre-crop PSNR vs source {before:.2f} -> {after:.2f} dB")
