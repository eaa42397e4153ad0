"""Generic checks over every registered compression method, the variant folder format and the CLI."""

import dataclasses
import json

import numpy as np
import pytest

from models.compression import METHODS, get_method
from models.compression.base import CompressionResult
from models.variant import KerasVariant
from tests.conftest import seeded_tiny_dctnet, shared_or_skip

# Per-method settings that keep this generic run fast; every other method runs its default config.
# ("work_dir" / "finetune_dir" fields, when a method has them, are pointed at the test's tmp folder.)
FAST = {"tflite_int8_full": {"calibration_images": 2, "calibration_size": 64},
        "tflite_int8_mixed": {"calibration_images": 2, "calibration_size": 64, "score_images": 2, "score_size": 64,
                              "floor": 10.0, "latency_runs": 1},
        "distill": {"width": 4, "blocks": 1, "steps": 2, "batch_size": 1, "crop": 32, "image_side": 64,
                    "max_images": 2, "use_shipped": False}}


@pytest.fixture(scope="module")
def tiny():
    """Width-8, 1-block DCT-Net with He-scaled seeded weights (a stand-in source that builds in a second)."""
    model, arch = seeded_tiny_dctnet(8, seed=2)
    return KerasVariant(model, arch, name="tiny/original")


def test_registry_holds_the_methods_of_this_issue():
    assert {"prune", "svd", "tflite_fp32", "tflite_fp16", "tflite_int8_dynamic", "tflite_int8_full"} <= set(METHODS)
    with pytest.raises(ValueError, match="Unknown compression method 'zip'"):
        get_method("zip")


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_has_a_frozen_validating_config(name):
    method = METHODS[name]
    assert method.name == name
    assert dataclasses.is_dataclass(method.config_class)
    config = method.config_class()
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(config, dataclasses.fields(config)[0].name, None)
    with pytest.raises(TypeError):
        method.config_class(no_such_option=1)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_applies_and_reports(name, tiny, tmp_path, rng):
    if name == "tflite_int8_full":
        shared_or_skip("portraits")
    method = METHODS[name]
    fields = {f.name for f in dataclasses.fields(method.config_class)}
    options = dict(FAST.get(name, {}))
    if "output_path" in fields:
        options["output_path"] = str(tmp_path / f"{name}.tflite")
    for folder in ("work_dir", "finetune_dir"):
        if folder in fields:
            options[folder] = str(tmp_path / folder)
    result = method.apply(tiny, method.config_class(**options))
    assert isinstance(result, CompressionResult)
    report = result.report
    assert report.method == name and report.params_before > 0 and report.macs_before > 0
    assert report.resolution == (512, 512)
    assert json.loads(report.to_json())["method"] == name and name in report.render()
    x = rng.uniform(-1, 1, (1, 32, 48, 3)).astype("float32")
    if result.variant is not None:
        from models.complexity import count_params

        # (no "smaller" check: a fixed-size student may exceed this tiny stand-in source)
        assert report.params_after == count_params(result.variant.model)
        assert np.asarray(result.variant.model(x)).shape == x.shape
    else:
        from models.litert import LiteRTNetwork

        assert result.artifact.is_file() and report.bytes_after == result.artifact.stat().st_size
        net = LiteRTNetwork(result.artifact)
        for shape in [(1, 32, 48, 3), (1, 64, 32, 3)]:  # dynamic size survives every export
            assert net(rng.uniform(-1, 1, shape).astype("float32")).shape == shape


def test_variant_folder_roundtrip(tiny, tmp_path, rng):
    from models.compression.pruning import PruneConfig, PruneMethod
    from models.variant_io import load_variant, save_variant

    pruned = PruneMethod().apply(tiny, PruneConfig(ratio=0.5, min_channels=2)).variant
    save_variant(pruned, tmp_path / "v")
    loaded = load_variant(tmp_path / "v")
    assert loaded.architecture == pruned.architecture and loaded.name == pruned.name
    x = rng.uniform(-1, 1, (1, 32, 32, 3)).astype("float32")
    np.testing.assert_array_equal(np.asarray(loaded.model(x)), np.asarray(pruned.model(x)))
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not a saved variant"):
        save_variant(pruned, tmp_path / "other")
    with pytest.raises(FileNotFoundError, match="architecture.json is missing"):
        load_variant(tmp_path / "other")


def test_cli_prunes_then_exports_the_pruned_variant(tmp_path, capsys):
    from models.__main__ import main
    from models.variant_io import load_variant

    assert main(["compress", "prune", "--style", "anime", "--ratio", "0.5", "--out", str(tmp_path / "p"),
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["method"] == "prune" and report["config"]["ratio"] == 0.5
    assert load_variant(tmp_path / "p").model.count_params() == report["params_after"] < report["params_before"]

    out = tmp_path / "p_fp16.tflite"
    assert main(["compress", "tflite_fp16", "--source", str(tmp_path / "p"), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "method: tflite_fp16" in text and out.is_file()
    assert f"bytes: {report['params_after'] * 4:,} -> {out.stat().st_size:,}" in text


@pytest.mark.parametrize("argv, message", [
    (["compress", "prune", "--ratio", "1.5", "--out", "x"], "ratio=1.5"),
    (["compress", "svd", "--ratio", "0.5", "--out", "x"], "--ratio do not apply to method 'svd'"),
    (["compress", "tflite_fp32", "--out", "x.onnx"], "output_path='x.onnx'"),
    (["compress", "prune", "--out", "notes.txt"], "--out notes.txt exists and is not a saved variant"),
    (["compress", "tflite_fp16", "--source", "nowhere", "--out", "x.tflite"], "--source: nowhere is not a saved"),
])
def test_cli_rejects_bad_options_with_a_clear_message(argv, message, capsys, tmp_path, monkeypatch):
    from models.__main__ import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("not a variant")
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
