"""SVD fitted to a layer's outputs (PCA) and ranks under one model MAC budget, against NumPy references."""

import itertools

import numpy as np
import pytest

from models.dctnet import Architecture
from models.variant import KerasVariant


@pytest.fixture(scope="module")
def original(anime_model):
    return KerasVariant(anime_model, Architecture(), name="anime/original")


def _conv(x, kernel, bias=None, stride=1):
    import keras

    y = np.asarray(keras.ops.conv(x, kernel, strides=stride, padding="same"))
    return y if bias is None else y + bias


def test_output_fit_is_the_pca_projection_of_the_outputs(original, rng):
    from models.compression.svd_activations import factor_kernels_to_outputs, principal_axes

    kernel, bias = original.model.get_layer("Conv_6").get_weights()  # 3x3, 64 -> 64
    x = rng.normal(0, 0.5, (2, 24, 24, 64)).astype("float32")
    y = _conv(x, kernel, bias).reshape(-1, 64).astype(np.float64)
    mean, cov = y.mean(0), np.cov(y, rowvar=False, bias=True)
    values, axes = principal_axes(cov)
    rank = 12
    first, second, second_bias = factor_kernels_to_outputs(kernel, bias, mean, axes, rank)
    y_hat = _conv(_conv(x, first), second, second_bias).reshape(-1, 64)
    p = axes[:, :rank]
    np.testing.assert_allclose(y_hat, mean + (y - mean) @ p @ p.T, atol=2e-4)  # the NumPy formula
    # PCA: the mean squared error per pixel is the sum of the dropped eigenvalues
    assert np.mean(np.sum((y - y_hat) ** 2, axis=1)) == pytest.approx(values[rank:].sum(), rel=1e-3)


def test_output_statistics_match_numpy(original, rng):
    from models.compression.svd_activations import output_statistics

    batches = [rng.uniform(-1, 1, (1, 32, 48, 3)).astype("float32") for _ in range(2)]
    stats = output_statistics(original.model, ["Conv", "block_1_conv2"], batches)
    kernel, bias = original.model.get_layer("Conv").get_weights()
    y = np.concatenate([_conv(b, kernel, bias).reshape(-1, 32) for b in batches]).astype(np.float64)
    np.testing.assert_allclose(stats["Conv"][0], y.mean(0), atol=1e-5)
    np.testing.assert_allclose(stats["Conv"][1], np.cov(y, rowvar=False, bias=True), atol=1e-5)
    assert stats["block_1_conv2"][1].shape == (128, 128)


def test_full_rank_activation_fit_is_identity(original, rng):
    from models.compression.svd import SVDConfig, SVDMethod

    names = ("Conv_3", "block_2_conv1", "Conv_7")
    config = SVDConfig(rank=10_000, fit="activations", fit_images=2, skip_if_no_gain=False, layers=names)
    model = SVDMethod().apply(original, config).variant.model
    x = rng.uniform(-1, 1, (1, 48, 64, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(original.model(x)), atol=1e-3)


def _brute_force(layers, budget):
    """The best ranks by exhaustive search: max sum of log(kept energy) with cost <= budget."""
    best, best_score = None, -np.inf
    names = list(layers)
    for ranks in itertools.product(*[range(1, len(layers[n][0]) + 1) for n in names]):
        cost = sum(min(layers[n][1], r * layers[n][2]) for n, r in zip(names, ranks))
        if cost > budget:
            continue
        score = sum(np.log(np.sum(layers[n][0][:r]) / np.sum(layers[n][0])) for n, r in zip(names, ranks))
        if score > best_score:
            best, best_score = dict(zip(names, ranks)), score
    return best, best_score


def test_allocation_fits_the_budget_and_nears_the_exhaustive_optimum():
    from models.compression.svd_activations import allocate

    rng = np.random.default_rng(3)
    layers = {}
    for i in range(3):  # decaying spectra; factorising costs a lot per rank near full rank (the cliff)
        spectrum = np.sort(rng.gamma(0.6, 1.0, 8))[::-1] * np.geomspace(1, 0.05, 8)
        layers[f"L{i}"] = (spectrum, 100.0 * (i + 1), 18.0 * (i + 1))
    for budget in (120, 200, 350):
        ranks = allocate(layers, budget)
        cost = sum(min(f, ranks.get(n, len(s)) * per) for n, (s, f, per) in layers.items())
        assert cost <= budget
        score = sum(np.log(np.sum(s[:ranks.get(n, len(s))]) / np.sum(s)) for n, (s, _, _) in layers.items())
        _, optimum = _brute_force(layers, budget)
        assert score >= optimum - 0.25  # greedy: close to the exhaustive optimum on these spectra


def test_a_layer_past_its_cost_cliff_still_gets_cut():
    from models.compression.svd_activations import allocate

    # rank 7 of 8 still costs 7 * 14 = 98 of 100: a one-step greedy sees a tiny saving and never cuts it
    layers = {"cliff": (np.geomspace(1, 1e-3, 8), 100.0, 14.0), "flat": (np.ones(4), 100.0, 25.0)}
    ranks = allocate(layers, 130)
    assert ranks == {"cliff": 2}  # 28 + 100 fits; cutting "flat" loses far more energy per MAC


def test_an_impossible_budget_names_the_fix():
    from models.compression.svd_activations import allocate

    with pytest.raises(ValueError, match="raise model_mac_ratio"):
        allocate({"a": (np.ones(4), 100.0, 30.0)}, 10)


def test_model_mac_ratio_is_met_and_pinning_rebuilds_the_same_shape(original):
    from models.complexity import count_macs
    from models.compression.svd import SVDConfig, SVDMethod

    method = SVDMethod()
    config = SVDConfig(model_mac_ratio=0.6, fit="activations", fit_images=2)
    result = method.apply(original, config)
    ratio = count_macs(result.variant.model, 128, 128) / count_macs(original.model, 128, 128)
    assert 0.55 < ratio <= 0.6
    pinned = method.pinned(config, result.variant)
    assert pinned.model_mac_ratio is None and pinned.layer_ranks == dict(result.variant.architecture.ranks)
    again = method.apply(original, SVDConfig(**{**pinned.__dict__, "fit": "weights"}))
    assert again.variant.architecture == result.variant.architecture  # no photos needed for the shape


@pytest.mark.parametrize("kwargs, message", [
    ({"fit": "gradients"}, "fit='gradients'"), ({"fit": "activations", "mode": "spatial"}, "needs mode='channel'"),
    ({"model_mac_ratio": 0}, "model_mac_ratio=0"), ({"layer_ranks": {"Conv_99": 3}}, "Conv_99"),
    ({"layer_ranks": {"Conv_4": 0}}, "layer_ranks"), ({"layer_ranks": {"Conv_4": 3}, "layers": ("Conv_4",)}, "layers"),
    ({"fit_images": 0}, "fit_images=0"), ({"model_mac_ratio": 0.3, "rank": 3}, "exactly one rank rule"),
])
def test_invalid_fit_config_names_the_value(kwargs, message):
    from models.compression.svd import SVDConfig

    with pytest.raises(ValueError, match=message):
        SVDConfig(**kwargs)


def test_layer_ranks_read_from_text_as_the_cli_and_lab_write_them():
    import dataclasses

    from models.compression.base import config_from
    from models.compression.svd import SVDConfig

    config = config_from(SVDConfig, {"layer_ranks": "Conv_4:32, block_0_conv1:16", "fit": "activations"}, text=True)
    assert config.layer_ranks == {"Conv_4": 32, "block_0_conv1": 16}
    field = next(f for f in dataclasses.fields(SVDConfig) if f.name == "layer_ranks")
    with pytest.raises(ValueError, match="name:int, name:int"):
        config_from(SVDConfig, {field.name: "Conv_4=32"}, text=True)


def test_too_few_fit_photos_names_the_setting(original, tmp_path, monkeypatch):
    import shutil

    import models.export
    from models.compression.svd import SVDConfig, SVDMethod
    from models.samples import SAMPLES_DIR

    for photo in sorted(SAMPLES_DIR.glob("*.jpg"))[:2]:  # 2 photos: 1 held out, 1 to calibrate on
        shutil.copy(photo, tmp_path)
    monkeypatch.setattr(models.export, "PORTRAITS_DIR", tmp_path)
    with pytest.raises(ValueError, match="fit_images=16.*Lower fit_images or point .DCTNET_PORTRAITS"):
        SVDMethod().apply(original, SVDConfig(rank=4, fit="activations", layers=("Conv_4",)))
