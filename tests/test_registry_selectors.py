"""Registered versions named by URI (issue 15, item 5): MLflow's models:/ forms and registry:STYLE/ENTRY,
in `python -m registry` commands and in `python -m evaluation run --variant`, against the session's
quick-built registry (original, fp16, int8-dynamic; tests/dashboard_fixtures.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("text, fields", [
    ("models:/dctnet-anime/5", {"model": "dctnet-anime", "version": 5}),
    ("models:/dctnet-anime@realtime", {"model": "dctnet-anime", "alias": "realtime"}),
    ("models:/dctnet-3d/latest", {"model": "dctnet-3d", "latest": True}),
    ("registry:anime/int8-full", {"model": "dctnet-anime", "entry": "int8-full"}),
])
def test_uri_forms_parse(text, fields):
    from registry.selectors import parse

    sel = parse(text)
    assert {k: getattr(sel, k) for k in fields} == fields and sel.style == sel.model.removeprefix("dctnet-")


@pytest.mark.parametrize("text", ["models:/dctnet-anime", "models:/dctnet-anime/v5", "registry:anime", "model:/x/1"])
def test_malformed_uris_name_the_accepted_forms(text):
    from registry.selectors import parse

    with pytest.raises(ValueError, match=r"not a registered-version URI; use models:/dctnet-STYLE/VERSION"):
        parse(text)


def test_every_form_resolves_and_unknown_names_list_what_exists(_built_registry):
    from registry.aliasing import set_alias
    from registry.queries import resolve_version

    store, versions = _built_registry["store"], _built_registry["versions"]
    fp16 = versions["fp16"]
    set_alias("anime", "selector-test", fp16, store)
    try:  # the alias is this test's own: the session's registry is shared with the dashboard tests
        for text in (f"models:/dctnet-anime/{fp16}", "models:/dctnet-anime@selector-test", "registry:anime/fp16"):
            assert int(resolve_version("3d", text, store).version) == fp16, text  # the URI's style wins
        with pytest.raises(ValueError, match=rf"has no version 99; versions: .*{fp16} anime/fp16 @selector-test"):
            resolve_version("anime", "models:/dctnet-anime/99", store)
    finally:
        store.client.delete_registered_model_alias("dctnet-anime", "selector-test")
    assert int(resolve_version("anime", "models:/dctnet-anime/latest", store).version) == max(versions.values())
    with pytest.raises(ValueError, match=r"has no version of entry 'int8-full'; entries: fp16, int8-dynamic, original"):
        resolve_version("anime", "registry:anime/int8-full", store)
    with pytest.raises(ValueError, match=r"no registered model 'dctnet-3d'; registered: dctnet-anime"):
        resolve_version("anime", "models:/dctnet-3d/1", store)


def _run(args, data):
    env = {**os.environ, "DCTNET_LAB_DATA": str(data), "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)


def test_registry_cli_fetch_and_history_take_uris_and_fail_in_one_line(_built_registry):
    data, fp16 = _built_registry["data"], _built_registry["versions"]["fp16"]
    done = _run(["registry", "fetch", "registry:anime/fp16"], data)
    assert done.returncode == 0, done.stderr
    folder = Path(done.stdout.strip().splitlines()[-1])
    assert json.loads((folder / "variant.json").read_text())["variant"] == "anime/fp16"
    assert (folder / "model.tflite").is_file()
    done = _run(["registry", "history", f"models:/dctnet-anime/{fp16}", "--json"], data)
    assert done.returncode == 0 and json.loads(done.stdout), done.stderr
    done = _run(["registry", "history", "registry:anime/int8-full"], data)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error: registry:anime/int8-full: dctnet-anime has no "
                                                           "version of entry 'int8-full'; entries: fp16")


def test_evaluation_measures_a_registered_version_by_uri_like_its_file(_built_registry, tmp_path):
    """The record of `--variant registry:anime/fp16` is the fp16 version's, and its PSNR equals a NumPy
    PSNR of that version's model.tflite (LiteRT) against the original Keras network on the same input."""
    from evaluation.predictors import KerasPredictor, LiteRTPredictor
    from models.fitting import square_input
    from models.images import load_image
    from models.samples import SAMPLES_DIR
    from models.weights import load_model

    data, fp16 = _built_registry["data"], _built_registry["versions"]["fp16"]
    photos = tmp_path / "photos"
    photos.mkdir()
    photo = sorted(p for p in SAMPLES_DIR.iterdir() if p.suffix in (".jpg", ".png"))[0]
    (photos / photo.name).write_bytes(photo.read_bytes())
    out = tmp_path / "records.json"
    done = _run(["evaluation", "run", "--variant", f"fp16v=models:/dctnet-anime/{fp16}", "--images", str(photos),
                 "--sizes", "128", "--groups", "quality", "--no-lpips", "--quiet", "--json", str(out)], data)
    assert done.returncode == 0, done.stderr[-2000:]
    (record,) = [r for r in json.loads(out.read_text()) if r["group"] == "quality"]
    assert record["variant"] == "fp16v" and record["precision"] == "fp16" and record["method"] == "tflite_fp16"

    folder = Path(_run(["registry", "fetch", "registry:anime/fp16"], data).stdout.strip().splitlines()[-1])
    probe = square_input(load_image(photo), 128)
    mine = LiteRTPredictor(folder / "model.tflite").predict(probe).astype(np.float64)
    ref = KerasPredictor(load_model("anime")).predict(probe).astype(np.float64)
    psnr = 10 * np.log10(255.0 ** 2 / np.mean((mine - ref) ** 2))
    assert record["metrics"]["psnr_mean"] == pytest.approx(psnr, abs=0.05)

    done = _run(["evaluation", "run", "--variant", "registry:anime/int8-full", "--images", str(photos),
                 "--sizes", "128", "--json", str(out)], data)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "--variant registry:anime/int8-full: dctnet-anime has no version of entry 'int8-full'" in done.stderr
