"""Records follow docs/contracts.md; bad ones are refused naming the field; files are written atomically."""

import json

import pytest

from evaluation.records import RecordError, load_records, make_record, save_records, validate_record

ENV = {"env_id": "abcd1234", "cpu": "test cpu", "threads": 2}


def _record(**over):
    fields = dict(variant="anime/original", style="anime", method="original", parent=None,
                  runtime="keras-tensorflow", precision="fp32", device="cpu", mode="full", size=512,
                  group="latency", metrics={"p50_ms": 1.0, "p90_ms": 1.0, "p99_ms": 1.0, "mean_ms": 1.0,
                                            "std_ms": 0.0, "count": 3, "threads": 2}, env=ENV)
    fields.update(over)
    return make_record(**fields)


def test_a_record_has_every_contract_field_and_round_trips(tmp_path):
    rec = _record(extra_key="allowed")
    assert rec["record_version"] == 1 and rec["timestamp"].endswith("Z") and rec["notes"] == []
    path = save_records([rec], tmp_path / "out" / "records.json")
    assert load_records(path) == [rec]


def test_infinite_psnr_is_stored_as_null_not_as_invalid_json(tmp_path):
    import numpy as np

    rec = _record(group="quality", metrics={"psnr_mean": float("inf"), "psnr_median": np.float64(3.0),
                                            "psnr_worst": 1.0, "ssim_mean": 1.0, "ssim_median": 1.0,
                                            "ssim_worst": 1.0, "images": np.int64(2)})
    assert rec["metrics"]["psnr_mean"] is None and type(rec["metrics"]["images"]) is int
    text = save_records([rec], tmp_path / "r.json").read_text()
    assert "Infinity" not in text and json.loads(text)[0]["metrics"]["psnr_median"] == 3.0


@pytest.mark.parametrize("over, match", [
    ({"runtime": "onnx"}, "runtime='onnx'"),
    ({"group": "speed"}, "group='speed'"),
    ({"size": -5}, "size=-5"),
    ({"precision": "int4"}, "precision='int4'"),
    ({"metrics": {"p50_ms": 1.0}}, r"lacks \['p90_ms'"),
    ({"env": {"cpu": "x"}}, "env_id"),
])
def test_bad_records_are_refused_naming_the_field(over, match):
    with pytest.raises(RecordError, match=match):
        _record(**over)


def test_a_failed_save_leaves_no_file_behind(tmp_path):
    good = _record()
    bad = dict(good, size="big")
    target = tmp_path / "records.json"
    with pytest.raises(RecordError):
        save_records([good, bad], target)
    assert list(tmp_path.iterdir()) == []


def test_loading_a_non_record_file_says_so(tmp_path):
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(RecordError, match="not a JSON records file"):
        load_records(tmp_path / "x.json")
    with pytest.raises(RecordError, match="not found"):
        load_records(tmp_path / "missing.json")
    missing = {k: v for k, v in _record().items() if k != "variant"}
    with pytest.raises(RecordError, match=r"missing the fields \['variant'\]"):
        validate_record(missing)
