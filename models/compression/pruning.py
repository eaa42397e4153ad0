"""Structured channel pruning: remove whole output channels (and the next convs' matching inputs).

Filters are ranked by the L1 (or L2) norm of their weights. DCT-Net adds some outputs together, so
channels are pruned per *unit*: a coupled group (`models.dctnet.coupled_groups`: x0 = Conv + Conv_7,
x1 = Conv_2 + Conv_5, trunk = Conv_4 + every block's conv2) keeps the same channel indices in all its
members, scored by the sum of the members' norms (each member normalised by its mean filter norm, so
a layer with larger weights does not dominate); every other conv is a unit of its own. Conv_9 makes
the RGB image and is never pruned.

Stages: a unit belongs to the stage of its first conv. encoder = Conv, Conv_1, Conv_2, Conv_3 (so the
x0 and x1 groups), trunk = Conv_4 + the residual blocks, decoder = Conv_6, Conv_8 (Conv_5 and Conv_7 follow
their groups). Full-resolution units (S0: x0 and Conv_8) keep at least `s0_min_keep` of their channels.
`inner_ratio` prunes only the residual blocks' inner channels (each block's conv1), leaving the residual
stream whole: measured, it costs far less quality than pruning the trunk group at the same MACs
(docs/compression.md, "Where the methods stand").
"""

import math
from dataclasses import dataclass

import numpy as np

from models.compression import register
from models.compression.base import CompressionResult, base_report, path_field
from models.compression.finetune import recover, validate_finetune
from models.compression.surgery import build_like, check_supported
from models.dctnet import Architecture, coupled_groups, layer_names
from models.validation import require
from models.variant import KerasVariant

CRITERIA = ("l1", "l2")
FULL_RES_UNITS = ("x0", "Conv_8")  # S0: their outputs are at the input's resolution
FROZEN = ("Conv_9",)  # produces the 3-channel image


@dataclass(frozen=True)
class PruneConfig:
    ratio: float = 0.25  # fraction of channels removed in every stage without its own ratio
    encoder_ratio: float | None = None
    trunk_ratio: float | None = None
    decoder_ratio: float | None = None
    inner_ratio: float | None = None  # the residual blocks' conv1 units only (None: their stage's ratio)
    criterion: str = "l1"
    min_channels: int = 4  # never keep fewer channels in a unit
    s0_min_keep: float = 0.6  # full-resolution units keep at least this fraction
    finetune_steps: int = 0  # > 0: recovery fine-tune against the source's outputs (models.training)
    finetune_crop: int = 128
    finetune_batch: int = 4
    finetune_lr: float = 5e-4
    finetune_dir: str | None = path_field()  # work/cache folder of the fine-tune (None: a temporary one)

    def __post_init__(self):
        for name in ("ratio", "encoder_ratio", "trunk_ratio", "decoder_ratio", "inner_ratio"):
            value = getattr(self, name)
            if value is None and name != "ratio":
                continue
            require(isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1,
                    name, value, "must be a number in [0, 1)")
        require(self.criterion in CRITERIA, "criterion", self.criterion, f"must be one of {CRITERIA}")
        require(isinstance(self.min_channels, int) and self.min_channels >= 1, "min_channels",
                self.min_channels, "must be an int >= 1")
        require(isinstance(self.s0_min_keep, (int, float)) and 0 < self.s0_min_keep <= 1, "s0_min_keep",
                self.s0_min_keep, "must be a number in (0, 1]")
        validate_finetune(self)

    def stage_ratio(self, stage):
        value = getattr(self, f"{stage}_ratio")
        return self.ratio if value is None else value

    def unit_ratio(self, unit, stage):
        if self.inner_ratio is not None and is_inner(unit):
            return self.inner_ratio
        return self.stage_ratio(stage)


def is_inner(unit):
    """A residual block's first conv: its outputs never leave the block."""
    return unit.startswith("block_") and unit.endswith("_conv1")


def units(num_blocks):
    """Pruning units in execution order: name -> (stage, member convs)."""
    groups = coupled_groups(num_blocks)
    grouped = {m: g for g, members in groups.items() for m in members}
    out = {}
    for name in layer_names(num_blocks):
        if name in FROZEN:
            continue
        unit = grouped.get(name, name)
        if unit in out:
            continue
        members = groups.get(unit, (name,))
        if name in ("Conv", "Conv_1", "Conv_2", "Conv_3"):
            stage = "encoder"
        elif name.startswith("block_") or name == "Conv_4":
            stage = "trunk"
        else:
            stage = "decoder"
        out[unit] = (stage, members)
    return out


def kept_count(channels, ratio, unit, config):
    """Channels a unit keeps: ceil(c * (1 - ratio)), floored by min_channels and the S0 floor."""
    keep = math.ceil(channels * (1 - ratio) - 1e-9)
    floor = config.min_channels
    if unit in FULL_RES_UNITS:
        floor = max(floor, math.ceil(channels * config.s0_min_keep - 1e-9))
    return int(min(channels, max(keep, floor)))


def filter_scores(kernel, criterion):
    """One norm per output channel of an HWIO kernel."""
    flat = kernel.reshape(-1, kernel.shape[-1])
    return np.abs(flat).sum(axis=0) if criterion == "l1" else np.sqrt((flat ** 2).sum(axis=0))


def select_channels(variant, config):
    """Layer name -> sorted kept output-channel indices (all layers, unpruned ones keep everything)."""
    arch = variant.architecture
    keep = {n: np.arange(arch.channels[n]) for n in layer_names(arch.num_blocks)}
    for unit, (stage, members) in units(arch.num_blocks).items():
        channels = arch.channels[members[0]]
        k = kept_count(channels, config.unit_ratio(unit, stage), unit, config)
        if k == channels:
            continue
        score = np.zeros(channels)
        for m in members:
            s = filter_scores(variant.model.get_layer(m).get_weights()[0], config.criterion)
            score += s / max(s.mean(), 1e-12)
        chosen = np.sort(np.argsort(-score, kind="stable")[:k])
        for m in members:
            keep[m] = chosen
    return keep


def input_source(arch, name):
    """The conv whose output feeds `name` (its kept channels are `name`'s kept inputs); None = the photo."""
    names = layer_names(arch.num_blocks)
    if name == "Conv":
        return None
    if name == "Conv_5":
        return "Conv_4"  # the trunk, same channel set as the last block's conv2
    return names[names.index(name) - 1]


def prune(variant, config):
    """A genuinely thinner KerasVariant and the per-layer channel changes."""
    check_supported(variant, "pruning")
    arch = variant.architecture
    keep = select_channels(variant, config)
    channels = {n: int(len(idx)) for n, idx in keep.items()}
    new_arch = Architecture(channels=channels, num_blocks=arch.num_blocks)
    model = build_like(variant.model, new_arch, name=f"{variant.model.name}_pruned")
    for name in layer_names(arch.num_blocks):
        kernel, bias = variant.model.get_layer(name).get_weights()
        src = input_source(arch, name)
        in_idx = np.arange(kernel.shape[2]) if src is None else keep[src]
        model.get_layer(name).set_weights([kernel[:, :, in_idx][..., keep[name]], bias[keep[name]]])
    changed = [f"{n}: {arch.channels[n]} -> {channels[n]} output channels" for n in layer_names(arch.num_blocks)
               if channels[n] != arch.channels[n]]
    return KerasVariant(model, new_arch, name=f"{variant.name}+prune"), changed


class PruneMethod:
    name = "prune"
    config_class = PruneConfig
    training = "fine-tune"  # records carry no config: assume the recovery fine-tune ran
    artifact = "keras"

    def photos(self, values):
        return "training" if values.get("finetune_steps", 0) > 0 else None

    def apply(self, source, config):
        require(isinstance(config, PruneConfig), "config", type(config).__name__, "must be a PruneConfig")
        variant, changed = prune(source, config)
        report = base_report(self.name, config, source, variant.model)
        report.changed = changed
        channels = source.architecture.channels
        floors = []
        for unit, (stage, members) in units(source.architecture.num_blocks).items():
            c, ratio = channels[members[0]], config.stage_ratio(stage)
            if kept_count(c, ratio, unit, config) > math.ceil(c * (1 - ratio) - 1e-9):
                floors.append(unit)
        if floors:
            report.notes.append(f"kept more than the ratio asks (min_channels / S0 floor): {', '.join(floors)}")
        report.skipped.append("Conv_9: makes the 3-channel image, never pruned")
        groups = coupled_groups(source.architecture.num_blocks)
        report.notes.append(f"criterion {config.criterion}; coupled groups pruned together: "
                            + "; ".join(f"{g}={'+'.join(m)}" for g, m in groups.items()))
        if config.finetune_steps:
            summary = recover(variant.model, source.model, config)
            report.notes.append(summary)
        return CompressionResult(report=report, variant=variant)


register(PruneMethod())
