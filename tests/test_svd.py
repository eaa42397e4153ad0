"""SVD low-rank factorisation: full rank is the identity, truncation is Eckart-Young, skips are reported."""

import numpy as np
import pytest

from models.variant import KerasVariant
from models.dctnet import Architecture, build_generator


@pytest.fixture(scope="module")
def original(anime_model):
    return KerasVariant(anime_model, Architecture(), name="anime/original")


def reconstruct(first, second, mode):
    """Compose the two factor kernels back into one HWIO kernel (independent NumPy formula)."""
    if mode == "channel":  # (k, k, cin, r) @ (1, 1, r, cout)
        return np.einsum("hwir,ro->hwio", first, second[0, 0])
    return np.einsum("hir,wro->hwio", first[:, 0], second[0])  # (k, 1, cin, r), (1, k, r, cout)


@pytest.mark.parametrize("mode", ["channel", "spatial"])
def test_full_rank_svd_is_identity(original, mode, rng):
    from models.compression.svd import SVDConfig, SVDMethod

    names = ("Conv", "Conv_3", "block_2_conv1", "Conv_7", "Conv_9")  # 7x7, strided, trunk, decoder, output
    result = SVDMethod().apply(original, SVDConfig(rank=10_000, mode=mode, skip_if_no_gain=False, layers=names))
    model = result.variant.model
    assert set(result.variant.architecture.kinds) == set(names)
    for name in names:
        w = original.model.get_layer(name).get_weights()[0]
        rebuilt = reconstruct(model.get_layer(f"{name}_lowrank_a").get_weights()[0],
                              model.get_layer(name).get_weights()[0], mode)
        np.testing.assert_allclose(rebuilt, w, atol=1e-5)
    x = rng.uniform(-1, 1, (1, 48, 64, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(original.model(x)), atol=1e-4)


@pytest.mark.parametrize("mode", ["channel", "spatial"])
def test_truncation_error_is_the_dropped_singular_energy(original, mode):
    from models.compression.svd import factor_kernels

    w = original.model.get_layer("block_1_conv2").get_weights()[0]
    matrix = w.reshape(-1, 128) if mode == "channel" else w.transpose(0, 2, 1, 3).reshape(3 * 128, 3 * 128)
    s = np.linalg.svd(matrix.astype(np.float64), compute_uv=False)
    rank = 40
    rebuilt = reconstruct(*factor_kernels(w, rank, mode), mode)
    assert np.linalg.norm(rebuilt - w) == pytest.approx(np.sqrt(np.sum(s[rank:] ** 2)), rel=1e-4)


def test_layer_without_mac_saving_is_skipped_and_reported(original):
    from models.compression.svd import SVDConfig, SVDMethod

    result = SVDMethod().apply(original, SVDConfig(rank=3, layers=("Conv_9", "Conv_4")))
    # Conv_9 (7x7, 32 -> 3): rank 3 costs 7*7*32*3 + 3*3 > 7*7*32*3 MAC/px, so it stays a plain conv
    assert "Conv_9" not in result.variant.architecture.kinds
    assert any(s.startswith("Conv_9:") and "no saving" in s for s in result.report.skipped)
    assert result.variant.architecture.ranks == {"Conv_4": 3}
    np.testing.assert_array_equal(result.variant.model.get_layer("Conv_9").get_weights()[0],
                                  original.model.get_layer("Conv_9").get_weights()[0])


def test_rank_rules_and_hand_counted_macs(original):
    from models.complexity import count_macs, count_params
    from models.compression.svd import SVDConfig, SVDMethod

    result = SVDMethod().apply(original, SVDConfig(mac_ratio=0.5, layers=("block_0_conv1",)))
    # channel mode: per output pixel 9*128*r + r*128 <= 0.5 * 9*128*128  ->  r = floor(73728 / 1280) = 57
    assert result.variant.architecture.ranks == {"block_0_conv1": 57}
    saved_macs = 128 * 128 // 16 * (9 * 128 * 128 - (9 * 128 * 57 + 57 * 128))  # trunk runs at 1/4 x 1/4
    assert count_macs(original.model, 128, 128) - count_macs(result.variant.model, 128, 128) == saved_macs
    saved_params = 9 * 128 * 128 - (9 * 128 * 57 + 57 * 128)
    assert count_params(original.model) - count_params(result.variant.model) == saved_params

    w = original.model.get_layer("Conv_6").get_weights()[0].reshape(-1, 64)
    energy = np.cumsum(np.linalg.svd(w, compute_uv=False) ** 2)
    energy /= energy[-1]
    rank = SVDMethod().apply(original, SVDConfig(energy=0.8, layers=("Conv_6",))).variant.architecture.ranks["Conv_6"]
    assert energy[rank - 1] >= 0.8 > energy[rank - 2]


def test_svd_of_a_pruned_model_combines(original, rng):
    from models.compression.pruning import PruneConfig, PruneMethod
    from models.compression.svd import SVDConfig, SVDMethod

    pruned = PruneMethod().apply(original, PruneConfig(ratio=0.25)).variant
    both = SVDMethod().apply(pruned, SVDConfig(rank=10_000, skip_if_no_gain=False, layers=("Conv_4", "Conv_5")))
    x = rng.uniform(-1, 1, (1, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(both.variant.model(x)), np.asarray(pruned.model(x)), atol=1e-4)
    assert both.variant.architecture.channels == pruned.architecture.channels


def test_factorising_a_factorised_model_fails_loudly():
    from models.compression.surgery import UnsupportedLayerError
    from models.compression.svd import SVDConfig, SVDMethod

    arch = Architecture(kinds={"Conv_4": "lowrank_spatial"}, ranks={"Conv_4": 8})
    with pytest.raises(UnsupportedLayerError, match="'Conv_4' is 'lowrank_spatial'"):
        SVDMethod().apply(KerasVariant(build_generator(arch), arch), SVDConfig())


@pytest.mark.parametrize("kwargs, message", [
    ({"energy": 0}, "energy=0"), ({"energy": 1.5}, "energy=1.5"), ({"rank": 0}, "rank=0"),
    ({"mac_ratio": 1.2}, "mac_ratio=1.2"), ({"rank": 4, "energy": 0.9}, "exactly one rank rule"),
    ({"mode": "tucker"}, "mode='tucker'"), ({"layers": ("Conv_99",)}, "Conv_99"),
])
def test_invalid_svd_config_names_the_value(kwargs, message):
    from models.compression.svd import SVDConfig

    with pytest.raises(ValueError, match=message):
        SVDConfig(**kwargs)
