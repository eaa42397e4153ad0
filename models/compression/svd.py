"""SVD low-rank factorisation of convolutions.

mode "channel": a k x k Cin -> Cout conv, seen as the matrix W[(kh, kw, cin), cout] = U S V^T, becomes
a k x k Cin -> r conv (U_r sqrt(S_r), no bias, same stride) then a 1 x 1 r -> Cout conv
(sqrt(S_r) V_r^T, the bias). mode "spatial": W[(kh, cin), (kw, cout)] = U S V^T gives a k x 1 Cin -> r
conv then a 1 x k r -> Cout conv (the stride split across the two). Truncating to rank r is the best
rank-r approximation of that matrix (Eckart-Young).

Rank per layer: `rank` (fixed), or the smallest rank keeping `energy` of the squared singular values,
or the largest rank whose MACs are at most `mac_ratio` of the layer's, or ranks shared out under one budget
for the whole model (`model_mac_ratio`, models.compression.svd_activations.allocate). A layer whose
factorisation would not cut MACs is left as it is and listed in the report's `skipped` with the numbers.

fit "weights" factorises the kernel; fit "activations" (channel mode) projects each layer's outputs on
calibration portraits onto their principal axes (models.compression.svd_activations): the best rank-r
reconstruction of what the next layer sees, a far better start for the recovery than the kernel's SVD.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from models.compression import register
from models.compression.base import REPORT_RESOLUTION, CompressionResult, base_report, path_field
from models.compression.svd_activations import allocate, factor_kernels_to_outputs, output_statistics, principal_axes
from models.compression.finetune import recover, shipped_recovery, validate_finetune
from models.compression.surgery import build_like, check_supported
from models.dctnet import Architecture, kernel_size, layer_names, stride
from models.validation import require
from models.variant import KerasVariant

MODES = ("channel", "spatial")
FITS = ("weights", "activations")
DEFAULT_ENERGY = 0.9
FIT_SIZE = 512  # activation statistics at the product's serving scale (models.export.CALIBRATION_SIZE)
RULES = ("energy", "mac_ratio", "rank", "model_mac_ratio", "layer_ranks")


@dataclass(frozen=True)
class SVDConfig:
    energy: float | None = None  # kept fraction of sum(S^2) (DEFAULT_ENERGY when no rule is set)
    mac_ratio: float | None = None  # target MACs of each factorised layer / its original MACs
    rank: int | None = None  # one fixed rank for every layer (capped at the layer's full rank)
    model_mac_ratio: float | None = None  # target MACs of the whole model / the source's, ranks allocated
    layer_ranks: dict | None = None  # {conv: rank}: exactly these layers at these ranks (a pinned allocation)
    mode: str = "channel"
    fit: str = "weights"  # "activations": PCA of each layer's outputs on calibration portraits (channel mode)
    fit_images: int = 16  # calibration portraits (512 px squares) the activation statistics are taken on
    layers: tuple | None = None  # conv names to consider (None: all)
    skip_if_no_gain: bool = True  # False factorises even when MACs would not drop (tests, studies)
    finetune_steps: int = 0
    finetune_crop: int = 128
    finetune_batch: int = 4
    finetune_lr: float = 5e-4
    finetune_dir: str | None = path_field()

    def __post_init__(self):
        chosen = [n for n in RULES if getattr(self, n) is not None]
        if not chosen:
            object.__setattr__(self, "energy", DEFAULT_ENERGY)
            chosen = ["energy"]
        require(len(chosen) == 1, "/".join(RULES), chosen, "must set exactly one rank rule")
        if self.energy is not None:
            require(isinstance(self.energy, (int, float)) and 0 < self.energy <= 1, "energy", self.energy,
                    "must be a number in (0, 1]")
        if self.mac_ratio is not None:
            require(isinstance(self.mac_ratio, (int, float)) and 0 < self.mac_ratio <= 1, "mac_ratio",
                    self.mac_ratio, "must be a number in (0, 1]")
        if self.rank is not None:
            require(isinstance(self.rank, int) and not isinstance(self.rank, bool) and self.rank >= 1, "rank",
                    self.rank, "must be an int >= 1")
        if self.model_mac_ratio is not None:
            require(isinstance(self.model_mac_ratio, (int, float)) and 0 < self.model_mac_ratio <= 1,
                    "model_mac_ratio", self.model_mac_ratio, "must be a number in (0, 1]")
        if self.layer_ranks is not None:
            require(isinstance(self.layer_ranks, Mapping), "layer_ranks", self.layer_ranks,
                    "must be a mapping {conv name: rank}")
            object.__setattr__(self, "layer_ranks", dict(self.layer_ranks))
            bad = {n: r for n, r in self.layer_ranks.items() if n not in layer_names()
                   or not isinstance(r, int) or isinstance(r, bool) or r < 1}
            require(self.layer_ranks and not bad, "layer_ranks", self.layer_ranks,
                    "must map DCT-Net conv names to ranks >= 1")
            require(self.layers is None, "layers", self.layers, "must be None with layer_ranks (its keys are the layers)")
        require(self.mode in MODES, "mode", self.mode, f"must be one of {MODES}")
        require(self.fit in FITS, "fit", self.fit, f"must be one of {FITS}")
        require(self.fit == "weights" or self.mode == "channel", "fit", self.fit,
                "'activations' projects a layer's output channels, so it needs mode='channel'")
        require(isinstance(self.fit_images, int) and not isinstance(self.fit_images, bool) and self.fit_images >= 1,
                "fit_images", self.fit_images, "must be an int >= 1")
        if self.layers is not None:
            object.__setattr__(self, "layers", tuple(self.layers))
            unknown = [n for n in self.layers if n not in layer_names()]
            require(self.layers and not unknown, "layers", self.layers,
                    f"must name convs of DCT-Net ({', '.join(layer_names())})")
        require(isinstance(self.skip_if_no_gain, bool), "skip_if_no_gain", self.skip_if_no_gain, "must be a bool")
        validate_finetune(self)


def as_matrix(kernel, mode):
    """HWIO kernel -> the matrix that is factorised."""
    k, _, cin, cout = kernel.shape
    if mode == "channel":
        return kernel.reshape(k * k * cin, cout)
    return kernel.transpose(0, 2, 1, 3).reshape(k * cin, k * cout)  # rows (kh, cin), cols (kw, cout)


def factor_kernels(kernel, rank, mode):
    """(first kernel, second kernel) whose composition is the rank-`rank` approximation of `kernel`."""
    k, _, cin, cout = kernel.shape
    u, s, vt = np.linalg.svd(as_matrix(kernel, mode).astype(np.float64), full_matrices=False)
    root = np.sqrt(s[:rank])
    a, b = u[:, :rank] * root, root[:, None] * vt[:rank]
    if mode == "channel":
        return a.reshape(k, k, cin, rank).astype(np.float32), b.reshape(1, 1, rank, cout).astype(np.float32)
    first = a.reshape(k, cin, rank)[:, None]  # (k, 1, cin, r)
    second = b.reshape(rank, k, cout).transpose(1, 0, 2)[None]  # (1, k, r, cout)
    return first.astype(np.float32), second.astype(np.float32)


def macs_per_output_pixel(k, s, cin, cout, rank=None, mode="channel"):
    """MACs per output pixel of the plain conv (rank None) or of its factorisation."""
    if rank is None:
        return k * k * cin * cout
    if mode == "channel":
        return k * k * cin * rank + rank * cout
    return s * k * cin * rank + k * rank * cout  # the k x 1 conv runs at s x the output's width


def choose_rank(singular, k, s, cin, cout, config):
    full = len(singular)
    if config.rank is not None:
        return min(config.rank, full)
    if config.mac_ratio is not None:
        target = config.mac_ratio * macs_per_output_pixel(k, s, cin, cout)
        per_rank = macs_per_output_pixel(k, s, cin, cout, 1, config.mode)
        return int(max(1, min(full, target // per_rank)))
    energy = np.cumsum(singular ** 2) / np.sum(singular ** 2)
    return int(min(full, np.searchsorted(energy, config.energy - 1e-12) + 1))


def _spectra(variant, names, config):
    """{name: (energy per rank, descending)} and, for fit "activations", {name: (mean, axes)}."""
    if config.fit == "weights":
        return {n: np.linalg.svd(as_matrix(variant.model.get_layer(n).get_weights()[0], config.mode),
                                 compute_uv=False) ** 2 for n in names}, {}
    from models.export import calibration_batches

    try:
        batches = calibration_batches(config.fit_images, FIT_SIZE)
    except ValueError as e:  # too few calibration portraits: say which setting to change
        raise ValueError(f"fit='activations' with fit_images={config.fit_images}: {e}. Lower fit_images or point "
                         f"$DCTNET_PORTRAITS at a larger portrait folder") from None
    stats = output_statistics(variant.model, names, batches)
    spectra, axes = {}, {}
    for name, (mean, covariance) in stats.items():
        values, vectors = principal_axes(covariance)
        cin = variant.model.get_layer(name).get_weights()[0].shape[2]
        full = min(len(values), kernel_size(name) ** 2 * cin)  # the rank of W x cannot exceed k*k*Cin
        spectra[name], axes[name] = values[:full], (mean, vectors)
    return spectra, axes


def _allocated_ranks(variant, names, spectra, config):
    """Ranks under config.model_mac_ratio of the whole model's MACs (untouched layers count in full)."""
    from models.complexity import layer_macs

    h, w = REPORT_RESOLUTION
    macs = layer_macs(variant.model, h, w)
    layers = {}
    for name in names:
        k, s, (cin, cout) = kernel_size(name), stride(name), variant.model.get_layer(name).get_weights()[0].shape[2:]
        pixels = macs[name] / macs_per_output_pixel(k, s, cin, cout)
        layers[name] = (spectra[name], macs[name], pixels * macs_per_output_pixel(k, s, cin, cout, 1, config.mode))
    fixed = sum(macs.values()) - sum(macs[n] for n in names)
    return allocate(layers, config.model_mac_ratio * sum(macs.values()) - fixed)


def factorise(variant, config):
    check_supported(variant, "SVD")
    arch = variant.architecture
    names = layer_names(arch.num_blocks)
    targets = [n for n in names if n in (config.layer_ranks or config.layers or names)]
    spectra, fitted = _spectra(variant, targets, config)
    allocated = _allocated_ranks(variant, targets, spectra, config) if config.model_mac_ratio else None
    kinds, ranks, factors, changed, skipped = {}, {}, {}, [], []
    for name in targets:
        kernel, bias = variant.model.get_layer(name).get_weights()
        k, s, cin, cout = kernel_size(name), stride(name), kernel.shape[2], kernel.shape[3]
        energy = spectra[name]
        if allocated is not None:
            if name not in allocated:
                skipped.append(f"{name}: kept whole (the MAC budget is better spent on other layers)")
                continue
            rank = allocated[name]
        elif config.layer_ranks is not None:
            rank = min(config.layer_ranks[name], len(energy))
        else:
            rank = choose_rank(np.sqrt(energy), k, s, cin, cout, config)
        before = macs_per_output_pixel(k, s, cin, cout)
        after = macs_per_output_pixel(k, s, cin, cout, rank, config.mode)
        kept = float(np.sum(energy[:rank]) / np.sum(energy))
        if after >= before and config.skip_if_no_gain:
            useful = (before - 1) // macs_per_output_pixel(k, s, cin, cout, 1, config.mode)
            skipped.append(f"{name}: rank {rank} of {len(energy)} would cost {after} MAC/px vs {before} "
                           f"(no saving; max useful rank {useful})")
            continue
        kinds[name] = "lowrank" if config.mode == "channel" else "lowrank_spatial"
        ranks[name] = rank
        if name in fitted:
            mean, axes = fitted[name]
            factors[name] = factor_kernels_to_outputs(kernel, bias, mean, axes, rank)
        else:
            factors[name] = (*factor_kernels(kernel, rank, config.mode), bias)
        what = "output variance" if name in fitted else "energy"
        changed.append(f"{name}: {k}x{k} {cin}->{cout} -> rank {rank}/{len(energy)} ({kept:.1%} {what}), "
                       f"{before} -> {after} MAC/px")
    new_arch = Architecture(channels=dict(arch.channels), num_blocks=arch.num_blocks, kinds=kinds, ranks=ranks)
    model = build_like(variant.model, new_arch, name=f"{variant.model.name}_svd")
    for name in names:
        kernel, bias = variant.model.get_layer(name).get_weights()
        if name in factors:
            first, second, second_bias = factors[name]
            model.get_layer(f"{name}_lowrank_a").set_weights([first])
            model.get_layer(name).set_weights([second, second_bias])
        else:
            model.get_layer(name).set_weights([kernel, bias])
    return KerasVariant(model, new_arch, name=f"{variant.name}+svd"), changed, skipped


class SVDMethod:
    name = "svd"
    config_class = SVDConfig
    training = "fine-tune"  # records carry no config: assume the recovery fine-tune ran
    artifact = "keras"

    def photos(self, values):
        if values.get("finetune_steps", 0) > 0:
            return "training"
        return "calibration" if values.get("fit") == "activations" else None  # the output statistics

    def pinned(self, config, variant):
        """The config that rebuilds exactly `variant`'s ranks whatever photos a machine has: an allocation
        (model_mac_ratio) or an energy rule on activations depends on the calibration photos."""
        ranks = dict(variant.architecture.ranks)
        return replace(config, layer_ranks=ranks, layers=None,
                       **{rule: None for rule in RULES if rule != "layer_ranks"})

    def apply(self, source, config):
        require(isinstance(config, SVDConfig), "config", type(config).__name__, "must be an SVDConfig")
        fitted = config
        if config.finetune_steps and config.layer_ranks and shipped_recovery(config, source.model):
            fitted = replace(config, fit="weights")  # the shipped weights replace the fit: no photos needed
        variant, changed, skipped = factorise(source, fitted)
        report = base_report(self.name, config, source, variant.model)
        report.changed, report.skipped = changed, skipped
        if config.finetune_steps:
            report.notes.append(recover(variant.model, source.model, config))
        return CompressionResult(report=report, variant=variant)


register(SVDMethod())
