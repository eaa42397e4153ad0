"""Registry logic that needs no TensorFlow: identity hashes, the catalogue, metric keys, noise bands,
and the read-back tables over a real (temporary, SQLite) MLflow store filled with hand-made records."""

import pandas as pd
import pytest

from registry import keys
from registry.catalogue import DEFAULT_CATALOGUE, ORIGINAL, Entry, parent_name, select
from registry.metrics import direction, flatten
from registry.queries import find_regressions

ENV_A = {"env_id": "aaaa1111", "cpu": "cpu A", "threads": 2, "gpu": None, "packages": {"keras": "3.13.2"}}
ENV_B = {"env_id": "bbbb2222", "cpu": "cpu B", "threads": 8, "gpu": None, "packages": {"keras": "3.13.2"}}


def record(group, metrics, size=512, env=ENV_A, variant="anime/fp16", **extra):
    base = {"record_version": 1, "variant": variant, "style": "anime", "method": "tflite_fp16",
            "parent": "anime/original", "runtime": "litert", "precision": "fp16", "device": "cpu",
            "mode": "full", "size": size, "group": group, "metrics": metrics, "per_image": None,
            "env": env, "timestamp": "2026-11-23T06:00:00Z", "notes": []}
    base.update(extra)
    return base


def test_config_hash_ignores_key_order_and_tells_configs_apart():
    a = keys.config_hash("anime", [("prune", {"ratio": 0.5, "finetune_steps": 10})])
    b = keys.config_hash("anime", [("prune", {"finetune_steps": 10, "ratio": 0.5})])
    assert a == b
    assert a != keys.config_hash("anime", [("prune", {"ratio": 0.25, "finetune_steps": 10})])
    assert a != keys.config_hash("3d", [("prune", {"ratio": 0.5, "finetune_steps": 10})])
    chain = [("prune", {"ratio": 0.5}), ("tflite_int8_full", {})]
    assert keys.config_hash("anime", chain) != keys.config_hash("anime", chain[::-1])  # order is identity


def test_code_version_changes_with_a_models_file(tmp_path, monkeypatch):
    monkeypatch.delenv("DCTNET_CODE_VERSION", raising=False)
    (tmp_path / "models" / "compression").mkdir(parents=True)
    (tmp_path / "models" / "compression" / "m.py").write_text("x = 1\n")
    (tmp_path / "models" / "faces.py").write_text("y = 1\n")
    before = keys.code_version(tmp_path)
    (tmp_path / "models" / "faces.py").write_text("y = 2\n")  # cannot change a variant: same version
    assert keys.code_version(tmp_path) == before
    (tmp_path / "models" / "compression" / "m.py").write_text("x = 2\n")
    assert keys.code_version(tmp_path) != before


def test_catalogue_names_are_unique_and_chains_find_their_parent():
    entries = {e.name: e for e in select()}
    assert entries[ORIGINAL].method == ORIGINAL and parent_name(entries[ORIGINAL]) is None
    assert parent_name(entries["int8-full"]) == ORIGINAL
    assert parent_name(entries["prune-i625-int8"]) == "prune-i625"
    assert entries["prune-i625-int8"].method == "prune+tflite_int8_full"
    quick = entries["prune-i625-int8"].chain(quick=True)
    assert quick[1][1]["calibration_images"] < 32  # a quick calibration...
    # ...but the quick chain of a combination starts with its parent's quick chain (so the build reuses
    # it), and a recovered model is never swapped for a short fine-tune in a quick build
    assert quick[0] == entries["prune-i625"].chain(quick=True)[0] == entries["prune-i625"].chain()[0]
    assert entries["svd-trunk"].chain(quick=True) == entries["svd-trunk"].chain()


def test_every_shipped_recovered_model_is_registered_with_its_shipped_config():
    """What is trained and shipped reaches the dashboard: each models/weights/recovered/NAME has a catalogue
    entry whose first step is exactly its method and config (so the build loads those weights)."""
    import json

    from models.compression.finetune import RECOVERED_DIR
    from registry.catalogue import recovered

    shipped = sorted(RECOVERED_DIR.glob("*.json"))
    assert len(shipped) >= 6
    first_steps = [e.chain()[0] for e in select() if e.steps]
    for meta_path in shipped:
        method = json.loads(meta_path.read_text())["method"]["name"]
        assert (method, recovered(meta_path.stem)) in first_steps, \
            f"{meta_path.stem} is shipped but not in the catalogue"


def test_every_shipped_student_is_registered():
    """Each models/weights/students/NAME has a catalogue entry distilling exactly its family / width /
    blocks / inner width (the build then loads the shipped weights), so a newly trained student reaches the dashboard."""
    from models.students import STUDENTS_DIR, shipped_students, student_metadata

    names = shipped_students(STUDENTS_DIR)
    assert len(names) >= 3
    specs = {(c["student"], c["width"], c["blocks"], c.get("inner", 0))
             for e in select() for m, c in e.chain() if m == "distill"}
    for name in names:
        spec = student_metadata(name)["spec"]
        key = (spec["family"], spec["width"], spec["blocks"], spec.get("inner", 0))
        assert key in specs, f"{name} is shipped but not in the catalogue"


def test_unknown_entries_and_bad_steps_are_named():
    with pytest.raises(ValueError, match=r"Unknown catalogue entries \['nope'\].*original"):
        select(DEFAULT_CATALOGUE, ["original", "nope"])
    with pytest.raises(ValueError, match=r"steps\[0\].*Received"):
        Entry("bad", ("prune",))
    with pytest.raises(ValueError, match="name"):
        Entry("a/b")
    with pytest.raises(ValueError, match="unique"):
        select((Entry("x"), Entry("x")))


def test_flatten_keys_records_and_drops_what_mlflow_cannot_hold():
    flat = flatten([
        record("latency", {"p50_ms": 812.5, "std_ms": 9.0, "count": 20, "threads": 2}),
        record("static", {"file_bytes": 1000, "params": 10, "macs": 99, "macs_resolution": [512, 512]}, size=None),
        record("quality", {"psnr_mean": float("inf"), "ssim_mean": 0.99, "images": 3}),
        record("throughput", {"batch": 4, "images_per_s": 2.5}),
        record("memory", {"peak_mb": 300.0, "method": "rss"}, mode="portrait"),
    ])
    assert flat == {"latency.512.p50_ms": 812.5, "latency.512.std_ms": 9.0, "latency.512.count": 20.0,
                    "latency.512.threads": 2.0, "static.file_bytes": 1000.0, "static.params": 10.0,
                    "static.macs": 99.0, "quality.512.ssim_mean": 0.99, "quality.512.images": 3.0,
                    "throughput.512.b4.images_per_s": 2.5, "portrait.memory.512.peak_mb": 300.0}
    assert direction("latency.512.p50_ms") == -1 and direction("quality.512.psnr_mean") == 1
    assert direction("quality.512.lpips_worst") == -1 and direction("static.params") == 0
    assert direction("latency.512.std_ms") == 0


def _history(values, metric, env="aaaa1111", version=1):
    times = pd.date_range("2026-11-01", periods=len(values), freq="D", tz="UTC")
    return pd.DataFrame({"style": "anime", "version": version, "variant": "anime/fp16", "env_id": env,
                         "evaluated_at": times, "eval_run_id": [f"r{i}" for i in range(len(values))],
                         "metric": metric, "value": values})


def test_regression_needs_a_worse_value_outside_the_noise_band():
    slow = _history([800.0, 810.0, 1000.0], "latency.512.p50_ms")  # +24% vs ~805 ms: outside 10%
    found = find_regressions(slow)
    assert list(found["metric"]) == ["latency.512.p50_ms"]
    assert found["baseline"].iloc[0] == pytest.approx(805.0)
    assert found["worse_by"].iloc[0] == pytest.approx(195.0)
    assert find_regressions(_history([800.0, 810.0, 850.0], "latency.512.p50_ms")).empty  # +5.6%: noise
    assert find_regressions(_history([800.0, 810.0, 500.0], "latency.512.p50_ms")).empty  # faster: fine
    assert find_regressions(_history([30.00, 30.05, 29.98], "quality.512.psnr_mean")).empty  # < 0.1 dB
    assert len(find_regressions(_history([30.0, 30.0, 29.5], "quality.512.psnr_mean"))) == 1
    assert find_regressions(_history([100.0, 2000.0], "static.params")).empty  # not a judged metric


def test_regressions_never_compare_two_machines():
    mixed = pd.concat([_history([800.0], "latency.512.p50_ms", env="aaaa1111"),
                       _history([2000.0], "latency.512.p50_ms", env="bbbb2222")])
    assert find_regressions(mixed).empty


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One SQLite store for the module (creating its tables takes seconds); each test uses its own style."""
    from registry.store import Store

    return Store(data=tmp_path_factory.mktemp("registry") / "lab_data")


def test_embedded_store_lives_in_the_data_folder_and_bad_uris_are_named(tmp_path, monkeypatch):
    from registry.store import Store

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("DCTNET_LAB_DATA", str(tmp_path / "data"))
    store = Store()
    assert store.embedded and (tmp_path / "data").is_dir()  # created on first use
    assert store.uri == f"sqlite:///{(tmp_path / 'data' / 'mlflow.db').resolve()}"
    assert store.artifact_root == (tmp_path / "data" / "mlartifacts").resolve().as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    assert Store().uri == "http://127.0.0.1:5999" and Store().artifact_root is None  # the server decides
    assert Store(uri="sqlite:////x/y.db").uri == "sqlite:////x/y.db"  # the flag wins over the variable
    with pytest.raises(ValueError, match="Received: uri='ftp://x'"):
        Store(uri="ftp://x")


def _version_with_runs(store, runs, style):
    """A model version (its build run holds a real small file) and evaluation runs of hand-made records."""
    import mlflow

    from registry.publish import log_evaluation

    client = store.activate()
    name = store.ensure_model(style)
    with mlflow.start_run(experiment_id=store.experiment_id(style), tags={keys.KIND: "build"}) as run:
        mlflow.log_text("{}", "variant/variant.json")
    version = client.create_model_version(name, f"{run.info.artifact_uri}/variant", run.info.run_id,
                                          tags={keys.VARIANT: "anime/fp16", keys.METHOD: "tflite_fp16",
                                                keys.CONFIG_HASH: "c0ffee", keys.CODE_VERSION: "abc"})
    for records in runs:
        log_evaluation(store, style, run.info.run_id, "anime/fp16", records, {"sizes": [512]},
                       version=version.version, config_hash="c0ffee")
    return version


def test_history_latest_and_regressions_read_back_from_mlflow(store):
    from registry import queries

    lat = lambda ms, env=ENV_A: record("latency", {"p50_ms": ms, "p90_ms": ms, "p99_ms": ms, "mean_ms": ms,  # noqa: E731
                                                   "std_ms": 1.0, "count": 5, "threads": 2}, env=env)
    _version_with_runs(store, [[lat(800.0)], [lat(805.0)], [lat(3000.0, ENV_B)], [lat(1100.0)]], "anime")
    hist = queries.history("anime", version=1, metric="p50_ms", store=store)
    assert list(hist[hist.env_id == "aaaa1111"]["value"]) == [800.0, 805.0, 1100.0]  # oldest first
    latest = queries.latest_metrics("anime", store=store)
    assert sorted(zip(latest["env_id"], latest["latency.512.p50_ms"])) == [("aaaa1111", 1100.0),
                                                                          ("bbbb2222", 3000.0)]
    reg = queries.regressions("anime", store=store)
    assert set(reg["env_id"]) == {"aaaa1111"}  # 3000 ms on machine B is no regression of machine A
    assert set(reg["metric"]) == {f"latency.512.{k}" for k in ("p50_ms", "p90_ms", "p99_ms", "mean_ms")}
    assert reg.set_index("metric").loc["latency.512.p50_ms", "baseline"] == pytest.approx(802.5)
    recs = queries.records("anime", store=store)
    assert sorted(r["metrics"]["p50_ms"] for r in recs) == [1100.0, 3000.0]
    assert all(r["registry"] == {"model": "dctnet-anime", "version": 1} for r in recs)


def test_evaluations_of_unregistered_builds_are_invisible(store):
    """A build killed before its version was created left an evaluation run: read-back ignores it."""
    import mlflow

    from registry import queries
    from registry.publish import fail_stale_runs, log_evaluation

    store.activate()
    run = mlflow.start_run(experiment_id=store.experiment_id("3d"),
                           tags={keys.KIND: "build", keys.CONFIG_HASH: "dead"})
    mlflow.end_run("RUNNING")  # what a SIGKILL leaves behind
    store.client.update_run(run.info.run_id, status="RUNNING")
    log_evaluation(store, "3d", run.info.run_id, "3d/x",
                   [record("static", {"file_bytes": 1, "params": 1, "macs": 1}, size=None)], {}, config_hash="dead")
    assert queries.latest_metrics("3d", store=store).empty
    assert fail_stale_runs(store, "3d", "dead") == [run.info.run_id]
    assert store.client.get_run(run.info.run_id).info.status == "FAILED"


def test_aliases_point_at_versions_and_unknown_ones_list_what_exists(store):
    from registry.aliasing import set_alias
    from registry.queries import aliases, resolve_version

    _version_with_runs(store, [], "sketch")
    assert set_alias("sketch", "realtime", "1", store) == 1
    assert set_alias("sketch", "mobile", "@realtime", store) == 1  # an alias may be given by alias
    assert int(resolve_version("sketch", "@mobile", store).version) == 1
    assert list(aliases("sketch", store)["alias"]) == ["mobile", "realtime"]
    with pytest.raises(ValueError, match=r"dctnet-sketch has no alias @fast; versions: 1 anime/fp16 @mobile @realtime"):
        resolve_version("sketch", "fast", store)
    with pytest.raises(ValueError, match="Received: alias='Bad Name'"):
        set_alias("sketch", "Bad Name", 1, store)


def test_build_options_and_catalogue_configs_reject_bad_values_by_name():
    from registry.pipeline import BuildOptions, resolve_chain

    with pytest.raises(ValueError, match=r"styles.*Received: styles=\('cartoon',\)"):
        BuildOptions(styles="cartoon")
    with pytest.raises(ValueError, match=r"sizes.*multiples of 16.*Received: sizes=\(100,\)"):
        BuildOptions(sizes=(100,))
    with pytest.raises(ValueError, match=r"images.*Received: images=\['/no/such.jpg'\]"):
        BuildOptions(images=("/no/such.jpg",))
    quick = BuildOptions(quick=True).eval_settings()
    assert quick["sizes"] == [512] and quick["images"] == ["face_crop.jpg", "half_body.jpg", "astronaut.png"]
    assert "face_quality" in quick["groups"]  # the quick build judges faces at the dashboard's working size
    moved = {**quick, "image_paths": ["/elsewhere/" + n for n in quick["images"]]}
    assert keys.eval_profile(moved) == keys.eval_profile(quick)  # same photos elsewhere: same evaluation
    assert keys.eval_profile(BuildOptions().eval_settings()) != keys.eval_profile(quick)
    with pytest.raises(ValueError, match="does not fit prune's PruneConfig"):
        resolve_chain([("prune", {"ratioo": 0.5})])
    with pytest.raises(ValueError, match="Unknown compression method 'zip'"):
        resolve_chain([("zip", {})])
    (method, config), = resolve_chain([("prune", {"ratio": 0.5})])
    assert method == "prune" and config["ratio"] == 0.5 and "criterion" in config  # defaults are identity too
    assert "finetune_dir" not in config  # where a method writes is not what it makes


def test_every_catalogue_entry_fits_its_methods_configs():
    """The catalogue names config fields of other people's methods: catch drift before a build does."""
    from models.compression import METHODS
    from registry.pipeline import resolve_chain

    for entry in DEFAULT_CATALOGUE:
        if all(m in METHODS for m in entry.methods):
            for quick in (False, True):
                resolved = resolve_chain(entry.chain(quick))
                assert [m for m, _ in resolved] == list(entry.methods), entry.name


def test_chains_that_need_the_portrait_set_say_so_where_it_is_missing(monkeypatch, tmp_path):
    """A fresh clone has no ../shared/portraits: INT8 calibration and fine-tunes are 'unavailable', not crashes."""
    import models.export
    import models.training
    from registry.pipeline import _needs_photos

    monkeypatch.setattr(models.export, "PORTRAITS_DIR", tmp_path / "none")
    monkeypatch.setattr(models.training, "DEFAULT_DATA", tmp_path / "none")
    assert "MANIFEST.csv is missing" in _needs_photos([("tflite_int8_full", {})])
    assert "none is missing" in _needs_photos([("prune", {"ratio": 0.5, "finetune_steps": 10})])
    assert _needs_photos([("prune", {"ratio": 0.5}), ("tflite_fp16", {})]) is None  # no photos needed
