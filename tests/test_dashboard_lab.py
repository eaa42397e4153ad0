"""Lab page end to end (slow): a variant made from the UI is compressed, evaluated and registered, with
progress, into an empty temporary store, and then is a real model version that loads and runs."""

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, psnr_uint8

pytestmark = pytest.mark.slow


def test_lab_registers_a_new_variant_from_the_ui(empty_registry):
    import registry
    from dashboard_pages.live import load
    from models.fitting import shrink_to_serve
    from models.samples import load_sample
    from models.weights import load_model
    from models.processing import Cartoonizer, ProcessingConfig, keras_network

    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=600)
    at.switch_page("dashboard_pages/lab.py")
    at.run()
    at.selectbox(key="lab_method").set_value("tflite_fp16").run()
    assert not at.exception
    at.text_input(key="lab_name").set_value("lab-fp16-test").run()
    at.button(key="lab_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert any("Registered anime/lab-fp16-test as version 1" in s.value for s in at.success)
    table = registry.versions("anime")
    assert table["entry"].tolist() == ["lab-fp16-test"] and table["method"].tolist() == ["tflite_fp16"]
    # the registered artifact is a real FP16 LiteRT DCT-Net: close to the Keras original on a photo
    photo = shrink_to_serve(load_sample("face_crop.jpg"), 256)
    out, _ = load("anime", 1).run(photo)
    ref = Cartoonizer(keras_network(load_model("anime")), ProcessingConfig(max_side=None))(photo)
    assert psnr_uint8(out, ref) > 35


def test_a_lab_build_during_a_cli_build_registers_everything_once(empty_registry):
    """Issue 15: the Lab page registers a variant while `python -m registry build` writes the same empty
    store from another process: both finish without a traceback, every entry is registered exactly once,
    and the registry's commands work afterwards."""
    import subprocess
    import sys
    import time

    import registry
    from tests.test_registry_build import cli_env

    cli = subprocess.Popen([sys.executable, "-m", "registry", "build", "--quick", "--only", "original,fp16",
                            "--sizes", "128", "--latency-runs", "2"], cwd=ROOT, env=cli_env(empty_registry),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(3)  # the CLI is opening / creating the store when the Lab starts writing
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=900)
        at.switch_page("dashboard_pages/lab.py")
        at.run()
        at.selectbox(key="lab_method").set_value("tflite_int8_dynamic").run()
        at.text_input(key="lab_name").set_value("lab-dynamic").run()
        at.button(key="lab_run").click().run()
        assert not at.exception, [e.message for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        assert any("Registered anime/lab-dynamic as version" in s.value for s in at.success)
        out, err = cli.communicate(timeout=900)
    finally:
        cli.kill()
    assert cli.returncode == 0 and "Traceback" not in err, out[-2000:] + err[-2000:]
    entries = registry.versions("anime")["entry"].tolist()
    assert sorted(entries) == sorted(set(entries)) and {"original", "fp16", "lab-dynamic"} <= set(entries), entries
    listed = subprocess.run([sys.executable, "-m", "registry", "list", "--json"], cwd=ROOT,
                            env=cli_env(empty_registry), capture_output=True, text=True, timeout=300)
    assert listed.returncode == 0 and "lab-dynamic" in listed.stdout, listed.stderr[-2000:]
