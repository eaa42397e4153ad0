"""The build pipeline for real: a quick build of the original and its FP16 export into a fresh
embedded store (the CLI, as a user runs it), then idempotency, read-back, aliases and loading.

Outputs are checked against an independent reference: the models package's own pipeline on the
bundled weights, compared with the NumPy PSNR of tests/conftest.py.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from registry import keys
from tests.conftest import ROOT, psnr_uint8

pytestmark = pytest.mark.slow  # ~1.5-2 min on 2 shared cores: a real build (TensorFlow, TFLite, MLflow)
ONLY = "original,fp16"
BUILD = ["build", "--quick", "--only", ONLY, "--sizes", "128", "--latency-runs", "2"]


CODE_VERSION = keys.code_version()  # taken once: parallel edits of models/ must not rebuild mid-test


def cli_env(data):
    env = {**os.environ, "DCTNET_LAB_DATA": str(data), "TF_CPP_MIN_LOG_LEVEL": "2",
           "MLFLOW_DISABLE_TELEMETRY": "true", "DCTNET_CODE_VERSION": CODE_VERSION}
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


def run_cli(args, data, timeout=600):
    return subprocess.run([sys.executable, "-m", "registry", *args], cwd=ROOT, env=cli_env(data),
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    data = tmp_path_factory.mktemp("lab") / "lab_data"
    proc = run_cli(BUILD, data)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "done: 2 registered" in proc.stdout, proc.stdout[-2000:]
    return data


@pytest.fixture(scope="module")
def store(built):
    from registry.store import Store

    return Store(data=built)


def test_list_shows_every_built_variant_with_metrics(built, store, capsys):
    from registry.__main__ import main

    assert main(["--tracking-uri", store.uri, "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["variant"] for r in rows] == ["anime/original", "anime/fp16"]
    assert [r["method"] for r in rows] == ["original", "tflite_fp16"]
    assert rows[1]["parent"] == "anime/original"
    for row in rows:
        assert row["latency.128.p50_ms"] > 0 and row["static.params"] == 1_467_075
        assert row["quality.128.ssim_mean"] > 0.99
        assert row["env_id"]


def test_building_again_adds_no_version(built, store, capsys, monkeypatch):
    from registry.__main__ import main
    from registry.queries import versions

    monkeypatch.setenv("DCTNET_CODE_VERSION", CODE_VERSION)

    before = versions("anime", store)
    assert main(["--tracking-uri", store.uri, *BUILD]) == 0
    assert "done: 2 skipped" in capsys.readouterr().out
    after = versions("anime", store)
    assert list(after["version"]) == list(before["version"]) == [1, 2]


def test_registered_versions_predict_like_the_original_pipeline(built, store, anime_model):
    from models.processing import Cartoonizer, ProcessingConfig, keras_network
    from models.samples import load_sample
    from registry.aliasing import load_predictor, set_alias

    photo = load_sample("astronaut.png")[:192, :160]  # a non-square size the build never saw
    expected = Cartoonizer(keras_network(anime_model), ProcessingConfig(max_side=None))(photo)
    original = load_predictor("anime", 1, store)
    assert original.variant == "anime/original"
    assert np.array_equal(original(photo), expected)

    assert set_alias("anime", "mobile", 2, store) == 2
    fp16 = load_predictor("anime", "mobile", store)
    assert fp16.variant == "anime/fp16" and fp16.manifest["artifact"] == "model.tflite"
    out = fp16(photo)
    assert out.dtype == np.uint8 and out.shape == photo.shape
    assert psnr_uint8(out, expected) > 40  # fp16 weights: near-identical cartoons, not equal ones


def test_version_carries_signature_records_and_a_working_pyfunc(built, store):
    import mlflow

    from evaluation.records import validate_record
    from models.samples import load_sample
    from registry.aliasing import load_predictor
    from registry.queries import records

    recs = records("anime", version=2, store=store)
    assert {r["group"] for r in recs} >= {"static", "quality", "latency"}
    for r in recs:
        validate_record({k: v for k, v in r.items() if k != "registry"})
    fp16 = load_predictor("anime", 2, store)
    static = next(r for r in recs if r["group"] == "static")
    assert static["metrics"]["file_bytes"] == (fp16.folder / "model.tflite").stat().st_size

    store.activate()
    model = mlflow.pyfunc.load_model("models:/dctnet-anime/2")
    inputs = model.metadata.signature.inputs.to_dict()
    assert inputs[0]["tensor-spec"]["dtype"] == "uint8" and list(inputs[0]["tensor-spec"]["shape"]) == [-1, -1, 3]
    photo = load_sample("face_crop.jpg")[::8, ::8]
    assert np.array_equal(model.predict(photo), fp16(photo))


def test_recommend_sets_the_scenario_alias_on_the_winner(built, store, capsys):
    from decisions.recommend import recommend
    from decisions.scenarios import get_scenario
    from registry.__main__ import main
    from registry.queries import aliases, records

    assert main(["--tracking-uri", store.uri, "recommend", "--scenario", "balanced", "--set-alias", "balanced"]) == 0
    out = capsys.readouterr().out
    winner = recommend(records("anime", store=store), get_scenario("balanced")).winner
    assert winner in out
    table = aliases("anime", store).set_index("alias")
    assert table.loc["balanced", "variant"] == winner


def test_a_registered_keras_variant_can_seed_a_later_chain(built, store, anime_model):
    from models.dctnet import Architecture
    from registry.measure import registered_keras

    seed = registered_keras(store, "anime", keys.config_hash("anime", []), CODE_VERSION)
    assert seed is not None and seed.architecture == Architecture() and seed.name == "anime/original"
    for a, b in zip(seed.model.get_weights(), anime_model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert registered_keras(store, "anime", keys.config_hash("anime", []), "other-code") is None
