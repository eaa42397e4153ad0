"""Structured channel pruning of the real anime DCT-Net: exact no-op, hand counts, norms, coupling, errors."""

import numpy as np
import pytest

from models.variant import KerasVariant
from models.dctnet import Architecture, build_generator, layer_names, uniform_channels


@pytest.fixture(scope="module")
def original(anime_model):
    return KerasVariant(anime_model, Architecture(), name="anime/original")


@pytest.fixture(scope="module")
def halved(original):
    from models.compression.pruning import PruneConfig, PruneMethod

    return PruneMethod().apply(original, PruneConfig(ratio=0.5))


def test_zero_ratio_pruning_is_noop(original, rng):
    from models.compression.pruning import PruneConfig, PruneMethod

    result = PruneMethod().apply(original, PruneConfig(ratio=0.0))
    assert result.variant.architecture.channels == original.architecture.channels
    for a, b in zip(result.variant.model.get_weights(), original.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    x = rng.uniform(-1, 1, (1, 64, 48, 3)).astype("float32")
    np.testing.assert_array_equal(np.asarray(result.variant.model(x)), np.asarray(original.model(x)))
    assert result.report.changed == [] and result.report.params_after == result.report.params_before


# Hand count for ratio 0.5 (keep ceil(c / 2)), S0 floor 60 % (x0 group and Conv_8 keep ceil(0.6 c) = 20).
HALVED = {"Conv": 20, "Conv_1": 16, "Conv_2": 32, "Conv_3": 32, "Conv_4": 64,
          **{f"block_{i}_conv{j}": 64 for i in range(4) for j in (1, 2)},
          "Conv_5": 32, "Conv_6": 32, "Conv_7": 20, "Conv_8": 20, "Conv_9": 3}
# (kernel, input channels, output grid divisor) of each conv, read off the paper's wiring.
WIRING = {"Conv": (7, 3, 1), "Conv_1": (3, "Conv", 2), "Conv_2": (3, "Conv_1", 2), "Conv_3": (3, "Conv_2", 4),
          "Conv_4": (3, "Conv_3", 4), "block_0_conv1": (3, "Conv_4", 4), "block_0_conv2": (3, "block_0_conv1", 4),
          "block_1_conv1": (3, "Conv_4", 4), "block_1_conv2": (3, "block_1_conv1", 4),
          "block_2_conv1": (3, "Conv_4", 4), "block_2_conv2": (3, "block_2_conv1", 4),
          "block_3_conv1": (3, "Conv_4", 4), "block_3_conv2": (3, "block_3_conv1", 4),
          "Conv_5": (3, "Conv_4", 4), "Conv_6": (3, "Conv_5", 2), "Conv_7": (3, "Conv_6", 2),
          "Conv_8": (3, "Conv_7", 1), "Conv_9": (7, "Conv_8", 1)}


def test_pruned_params_and_macs_equal_hand_count(halved):
    params = macs = 0
    for name, (k, src, div) in WIRING.items():
        cin = src if isinstance(src, int) else HALVED[src]
        cout = HALVED[name]
        params += k * k * cin * cout + cout
        macs += (64 // div) * (96 // div) * k * k * cin * cout
    from models.complexity import count_macs, count_params

    assert dict(halved.variant.architecture.channels) == HALVED
    assert count_params(halved.variant.model) == params == halved.report.params_after
    assert count_macs(halved.variant.model, 64, 96) == macs
    assert halved.report.params_before == 1_467_075
    assert len(halved.report.changed) == 17 and any("Conv_9" in s for s in halved.report.skipped)


def test_pruning_keeps_highest_norm_filters_and_coupled_groups_agree(original, halved):
    from models.compression.pruning import PruneConfig, select_channels

    for criterion in ("l1", "l2"):
        keep = select_channels(original, PruneConfig(ratio=0.5, criterion=criterion))
        w = original.model.get_layer("Conv_1").get_weights()[0].reshape(-1, 32)
        norm = np.abs(w).sum(0) if criterion == "l1" else np.sqrt((w ** 2).sum(0))
        np.testing.assert_array_equal(keep["Conv_1"], np.sort(np.argsort(-norm)[:16]))
        for group in (("Conv", "Conv_7"), ("Conv_2", "Conv_5"), ("Conv_4", "block_0_conv2", "block_3_conv2")):
            for member in group[1:]:
                np.testing.assert_array_equal(keep[group[0]], keep[member])
    # the thinner model holds exact slices of the original's weights
    keep = select_channels(original, PruneConfig(ratio=0.5))
    kernel, bias = original.model.get_layer("Conv_1").get_weights()
    new_kernel, new_bias = halved.variant.model.get_layer("Conv_1").get_weights()
    np.testing.assert_array_equal(new_kernel, kernel[:, :, keep["Conv"]][..., keep["Conv_1"]])
    np.testing.assert_array_equal(new_bias, bias[keep["Conv_1"]])


def test_stage_ratios_prune_only_their_stage(original, rng):
    from models.compression.pruning import PruneConfig, PruneMethod

    result = PruneMethod().apply(original, PruneConfig(ratio=0.0, trunk_ratio=0.25))
    changed = {n for n in layer_names() if result.variant.architecture.channels[n] != original.architecture.channels[n]}
    assert changed == {"Conv_4", *[f"block_{i}_conv{j}" for i in range(4) for j in (1, 2)]}
    assert all(result.variant.architecture.channels[n] == 96 for n in changed)
    x = rng.uniform(-1, 1, (1, 32, 32, 3)).astype("float32")
    assert np.asarray(result.variant.model(x)).shape == x.shape


def test_inner_ratio_prunes_only_the_blocks_inner_channels(original, rng):
    """The residual stream (Conv_4 + every block's conv2) stays whole; each block's conv1 loses 62.5%; the
    block's conv2 takes the matching inputs (its kernel is 3x3x48x128)."""
    from models.compression.pruning import PruneConfig, PruneMethod

    result = PruneMethod().apply(original, PruneConfig(ratio=0.0, inner_ratio=0.625))
    channels = result.variant.architecture.channels
    changed = {n for n in layer_names() if channels[n] != original.architecture.channels[n]}
    assert changed == {f"block_{i}_conv1" for i in range(4)} and {channels[n] for n in changed} == {48}
    assert result.variant.model.get_layer("block_2_conv2").get_weights()[0].shape == (3, 3, 48, 128)
    x = rng.uniform(-1, 1, (1, 32, 32, 3)).astype("float32")
    assert np.asarray(result.variant.model(x)).shape == x.shape


def test_pruning_a_factorised_or_foreign_model_fails_loudly(original):
    from models.compression.pruning import PruneConfig, PruneMethod
    from models.compression.surgery import UnsupportedLayerError

    arch = Architecture(kinds={"Conv_4": "lowrank"}, ranks={"Conv_4": 8})
    lowrank = KerasVariant(build_generator(arch), arch)
    with pytest.raises(UnsupportedLayerError, match="'Conv_4' is 'lowrank'"):
        PruneMethod().apply(lowrank, PruneConfig())
    arch = Architecture(channels=uniform_channels(4, 1), num_blocks=1, kinds={"Conv_6": "separable"})
    separable = KerasVariant(build_generator(arch), arch)
    with pytest.raises(UnsupportedLayerError, match="'Conv_6' is a SeparableConv2D"):
        PruneMethod().apply(separable, PruneConfig())


@pytest.mark.parametrize("kwargs, message", [
    ({"ratio": 1.0}, "ratio=1.0"), ({"ratio": -0.1}, "ratio=-0.1"), ({"trunk_ratio": 2}, "trunk_ratio=2"),
    ({"inner_ratio": 1}, "inner_ratio=1"),
    ({"criterion": "l3"}, "criterion='l3'"), ({"min_channels": 0}, "min_channels=0"),
    ({"s0_min_keep": 0}, "s0_min_keep=0"), ({"finetune_steps": -1}, "finetune_steps=-1"),
    ({"finetune_crop": 30}, "finetune_crop=30"),
])
def test_invalid_prune_config_names_the_value(kwargs, message):
    from models.compression.pruning import PruneConfig

    with pytest.raises(ValueError, match=message):
        PruneConfig(**kwargs)


@pytest.mark.slow
def test_recovery_finetune_brings_pruned_model_closer_to_source(original, tmp_path):
    from models.compression.pruning import PruneConfig, PruneMethod

    result = PruneMethod().apply(original, PruneConfig(ratio=0.5, finetune_steps=40, finetune_crop=96,
                                                       finetune_batch=2, finetune_lr=1e-3,
                                                       finetune_dir=str(tmp_path / "ft")))
    note = next(n for n in result.report.notes if n.startswith("recovery fine-tune"))
    before, after = (float(v) for v in note.split("PSNR vs source ")[1].replace(" dB", "").split(" -> "))
    assert after > before + 0.5, note
