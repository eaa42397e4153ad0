"""Longer checks (CI runs them with `-m slow`): the full int8 export's labels and counts, and a CLI run
with every metric group including the isolated memory pass."""

import shutil

import pytest

from evaluation.__main__ import main
from evaluation.records import load_records
from tests.conftest import shared_or_skip

pytestmark = pytest.mark.slow


def test_full_int8_export_is_labelled_int8_full_and_counted_like_the_original(tmp_path, anime_model):
    from evaluation.predictors import LiteRTPredictor
    from models.export import ExportConfig, export_tflite

    shared_or_skip("portraits")  # calibration photos
    path = export_tflite(anime_model, tmp_path / "int8.tflite",
                         ExportConfig(precision="int8_full", calibration_images=2, calibration_size=64))
    predictor = LiteRTPredictor(path)
    assert predictor.precision == "int8-full"
    static = predictor.static(256, 256)
    assert static["macs"] == 124_608 * 256 * 256 and static["params"] == 1_467_075


def test_cli_runs_every_group_including_memory(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy("models/samples/face_crop.jpg", photos / "face_crop.jpg")
    out = tmp_path / "r.json"
    main(["run", "--variant", "original", "--images", str(photos), "--sizes", "256", "--runs", "3",
          "--batches", "1,2", "--json", str(out), "--quiet"])
    records = load_records(out)
    groups = {r["group"] for r in records}
    assert {"static", "latency", "throughput", "memory", "quality", "face_quality"} <= groups
    memory = next(r for r in records if r["group"] == "memory")
    # activations of one 256x256 image: the 128-channel trunk alone is 64*64*128*4 B = 2 MiB per tensor
    assert 2 < memory["metrics"]["peak_mb"] < 2000
