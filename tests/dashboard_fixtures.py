"""Session fixtures for the dashboard tests: a quick-built registry in a temporary store (built once).

Loaded for every test module through `pytest_plugins` in tests/conftest.py, so the AppTest tests, the
concurrency test and the browser tests share one build.
"""

import tempfile
from pathlib import Path

import pytest

ENTRIES = ("original", "fp16", "int8-dynamic")  # cheap: no training, no calibration


def _use_store(monkeypatch, data):
    monkeypatch.setenv("DCTNET_LAB_DATA", str(data))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


# original + three shipped distilled students + a recovered pruned model (shipped weights, no training);
# student-bottleneck-w16 beats student-trunk at 128 px (more savings, higher PSNR): both kinds of chart point
TRAINED_ENTRIES = ("original", "student-trunk", "student-bottleneck", "student-bottleneck-w16", "prune-i625")


def _quick_build(prefix, entries):
    """A quick 128 px build of `entries` into a new temporary store: {"data", "store", "versions"}."""
    from registry.pipeline import BuildOptions, build
    from registry.queries import versions
    from registry.store import Store

    data = Path(tempfile.mkdtemp(prefix=prefix))
    store = Store(data=data)
    outcomes = build(BuildOptions(styles=("anime",), quick=True, only=entries, sizes=(128,), latency_runs=2),
                     store=store, log=lambda text: None)
    failed = [f"{o.entry}: {o.message}" for o in outcomes if o.status not in ("registered", "skipped")]
    assert not failed, failed
    table = versions("anime", store)
    return {"data": data, "store": store, "versions": {r.entry: int(r.version) for r in table.itertuples()}}


@pytest.fixture(scope="session")
def _built_registry():
    """Build once per session: {"data": Path, "store": Store, "versions": {entry: version}}."""
    return _quick_build("dctnet-dashboard-registry-", ENTRIES)


@pytest.fixture(scope="session")
def _built_trained_registry():
    return _quick_build("dctnet-trained-registry-", TRAINED_ENTRIES)


@pytest.fixture
def trained_registry(_built_trained_registry, monkeypatch):
    """The registry of TRAINED_ENTRIES, selected for the app for the duration of one test."""
    _use_store(monkeypatch, _built_trained_registry["data"])
    return _built_trained_registry


@pytest.fixture
def dashboard_registry(_built_registry, monkeypatch):
    """The quick registry, selected for the app (DCTNET_LAB_DATA) for the duration of one test."""
    _use_store(monkeypatch, _built_registry["data"])
    return _built_registry


@pytest.fixture
def empty_registry(monkeypatch):
    data = Path(tempfile.mkdtemp(prefix="dctnet-dashboard-empty-"))
    _use_store(monkeypatch, data)
    return data
