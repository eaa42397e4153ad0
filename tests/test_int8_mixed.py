"""Per-layer INT8 sensitivity and the mixed-precision INT8 method, on a tiny seeded DCT-Net."""

import json

import numpy as np
import pytest

from models.variant import KerasVariant
from tests.conftest import psnr_uint8, seeded_tiny_dctnet

CAL = {"images": 2, "size": 64}
SCORE = {"images": 2, "size": 64}


@pytest.fixture(autouse=True)
def lab_data(tmp_path, monkeypatch):
    monkeypatch.setenv("DCTNET_LAB_DATA", str(tmp_path / "lab"))  # caches go to the test's folder


@pytest.fixture(scope="module")
def tiny():
    model, arch = seeded_tiny_dctnet(8, blocks=1, seed=3)
    return KerasVariant(model, arch, name="tiny/original")


@pytest.fixture(scope="module")
def table(tiny, tmp_path_factory):
    import os

    from models.dctnet import layer_names
    from models.int8_selective import Calibration
    from models.sensitivity import ScoringSet, int8_sensitivity

    os.environ["DCTNET_LAB_DATA"] = str(tmp_path_factory.mktemp("lab"))
    return int8_sensitivity(tiny.model, layer_names(1), Calibration(**CAL), ScoringSet(**SCORE), progress=False)


def _alone_int8_by_debugger(model, layer, calibration, scorer):
    """Independent reference: the public QuantizationDebugger route (its own calibration), every op
    denylisted except the conv holding `layer`'s kernel and the LeakyReLU that reads it."""
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    from models.int8_selective import calibration_batches
    from models.sensitivity import run_tflite

    float_bytes = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    interp = Interpreter(model_content=float_bytes)
    name = {t["index"]: t["name"] for t in interp.get_tensor_details()}
    kernel = model.get_layer(layer).get_weights()[0].transpose(3, 0, 1, 2)
    ops = interp._get_ops_details()
    conv = next(op for op in ops if op["op_name"] == "CONV_2D"
                and interp.get_tensor(op["inputs"][1]).shape == kernel.shape
                and np.allclose(interp.get_tensor(op["inputs"][1]), kernel))
    keep = {name[i] for i in conv["outputs"]}
    keep |= {name[i] for op in ops if op["op_name"] == "LEAKY_RELU" and op["inputs"][0] in conv["outputs"]
             for i in op["outputs"]}
    deny = [name[i] for op in ops for i in op["outputs"] if name[i] not in keep]
    batches = calibration_batches(calibration)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([b] for b in batches)
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=converter, debug_dataset=converter.representative_dataset,
        debug_options=tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=deny))
    return run_tflite(debugger.get_nondebug_quantized_model(), scorer)


def test_most_sensitive_layer_costs_more_than_least_when_quantized_alone(tiny, table):
    from models.int8_selective import Calibration
    from models.processing import from_network
    from models.sensitivity import Scorer, ScoringSet

    ranked = table["ranking_alone_int8"]
    convs = [n for n in ranked if n in [r["layer"] for r in table["rows"] if r["kind"] == "conv"]]
    most, least = convs[0], convs[-1]
    scorer = Scorer(tiny.model, ScoringSet(**SCORE), Calibration(**CAL))
    # the scorer's reference is the Keras model itself: check it against an independent PSNR first
    ref = from_network(np.asarray(tiny.model(scorer.inputs[0]))[0])
    assert psnr_uint8(ref, scorer.references[0]) == float("inf")
    reference = {n: _alone_int8_by_debugger(tiny.model, n, Calibration(**CAL), scorer)["psnr"] for n in (most, least)}
    assert reference[most] < reference[least], (most, least, reference)


def test_sensitivity_table_covers_every_conv_both_ways(table):
    from models.dctnet import layer_names

    convs = [r["layer"] for r in table["rows"] if r["kind"] == "conv"]
    assert convs == layer_names(1)
    for row in table["rows"]:
        assert set(row) >= {"alone_int8", "alone_float", "psnr_gain_alone_float", "psnr_cost_alone_int8"}
    # quantizing everything costs more than quantizing any one unit alone
    assert all(r["alone_int8"]["psnr"] > table["full_int8"]["psnr"] for r in table["rows"])
    assert table["fp32"]["psnr"] > 80  # the plain FP32 export matches the Keras reference (~94 dB: rounding)
    assert table["all_float"]["psnr"] > table["full_int8"]["psnr"]


def test_layer_nodes_match_convs_by_weights(tiny):
    from models.dctnet import layer_names
    from models.int8_selective import Calibration, calibrated_model, layer_nodes

    nodes = layer_nodes(calibrated_model(tiny.model, Calibration(**CAL)), tiny.model, layer_names(1))
    for name in layer_names(1):
        assert nodes[name], name
    seen = [n for group in nodes.values() for n in group]
    assert len(seen) == len(set(seen))  # no op belongs to two groups
    with pytest.raises(ValueError, match="Conv_99"):
        layer_nodes(calibrated_model(tiny.model, Calibration(**CAL)), tiny.model, ["Conv", "Conv_99"])


def _config(tmp_path, **kw):
    from models.compression.int8_mixed import MixedInt8Config

    return MixedInt8Config(output_path=str(tmp_path / "mix.tflite"), calibration_images=2, calibration_size=64,
                           score_images=2, score_size=64, latency_runs=1, **kw)


def test_mixed_meets_a_floor_between_full_int8_and_the_float_ceiling(tiny, table, tmp_path):
    from models.compression import get_method
    from models.litert import tflite_info

    floor = round((table["full_int8"]["psnr"] + table["all_float"]["psnr"]) / 2, 2)
    result = get_method("tflite_int8_mixed").apply(tiny, _config(tmp_path, floor=floor))
    facts = json.loads((tmp_path / "mix.json").read_text())
    assert facts["float_layers"] and facts["quality"]["psnr"] >= floor and facts["floor"]["met"]
    assert set(facts["latency_s"]) == {"fp32", "full_int8", "mixed"}
    assert tflite_info(result.artifact)["conv_weight_dtypes"].get("float32", 0) > 7  # guided filter's 7 + the mix
    assert "float (left out of quantization)" in result.report.render()


def test_bad_floors_and_layers_are_refused_by_name(tiny, tmp_path):
    from models.compression import get_method

    method = get_method("tflite_int8_mixed")
    with pytest.raises(ValueError, match="floor_metric.*'ssim'"):
        _config(tmp_path, floor_metric="ssim")
    with pytest.raises(ValueError, match="floor=1.5"):
        _config(tmp_path, floor=1.5, floor_metric="lpips")
    with pytest.raises(ValueError, match="floor=120"):
        _config(tmp_path, floor=120)
    with pytest.raises(ValueError, match="needs an LPIPS metric"):
        method.apply(tiny, _config(tmp_path, floor=0.1, floor_metric="lpips"))
    with pytest.raises(ValueError, match="Conv_77"):
        method.apply(tiny, _config(tmp_path, float_layers=("Conv", "Conv_77")))
    with pytest.raises(ValueError, match="best reached is psnr="):
        method.apply(tiny, _config(tmp_path, floor=98.0))
    assert not (tmp_path / "mix.tflite").exists()  # nothing half-written


def test_catalogue_has_mixed_int8_at_two_floors_one_in_the_quick_build():
    from registry.catalogue import DEFAULT_CATALOGUE

    mixed = {e.name: e for e in DEFAULT_CATALOGUE if e.methods == ("tflite_int8_mixed",)}
    floors = {e.chain()[0][1]["floor"]: e.in_quick for e in mixed.values()}
    assert sorted(floors) == [40.0, 42.0] and floors[40.0] and not floors[42.0]


def test_sensitivity_cli_refuses_bad_paths_by_name(capsys):
    from evaluation.__main__ import main

    assert main(["sensitivity", "--json", "out.txt"]) == 2
    assert "--json must name a .json file. Received: 'out.txt'" in capsys.readouterr().err
    assert main(["sensitivity", "--json", "o.json", "--calibration-size", "500"]) == 2
    assert "calibration_size=500" in capsys.readouterr().err


def test_lab_page_shows_the_sensitivity_chart_and_the_floor():
    from streamlit.testing.v1 import AppTest

    from dashboard_pages import sensitivity_chart
    from tests.conftest import ROOT

    table = sensitivity_chart.load_table("anime")
    assert len([r for r in table["rows"] if r["kind"] == "conv"]) == 18  # the original's table is shipped
    df = sensitivity_chart.frame(table)
    assert {n.removesuffix(" (glue)") for n in df.loc[df["kept float"], "layer"]} == set(table["mix"]["float_layers"])
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.switch_page("dashboard_pages/lab.py")
    at.run()
    at.selectbox(key="lab_method").set_value("tflite_int8_mixed").run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.get("plotly_chart")
    assert any(n.label == "floor" for n in at.number_input)
