"""Session fixtures for the dashboard tests: a quick-built registry in a temporary store (built once).

Kept in their own module so the AppTest tests, the concurrency test and the browser tests share one build.
"""

import os
import tempfile
from pathlib import Path

import pytest

ENTRIES = ("original", "fp16", "int8-dynamic")  # cheap: no training, no calibration


def _use_store(data):
    previous = {k: os.environ.get(k) for k in ("DCTNET_LAB_DATA", "MLFLOW_TRACKING_URI")}
    os.environ["DCTNET_LAB_DATA"] = str(data)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    return previous


def _restore(previous):
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


_BUILT = {}  # one build per process even when several test modules import the fixture (each import
             # registers its own fixture definition, so the session scope alone would build once per module)


@pytest.fixture(scope="session")
def _built_registry():
    """Build once per session: {"data": Path, "store": Store, "versions": {entry: version}}."""
    if not _BUILT:
        _BUILT.update(_build())
    return _BUILT


def _build():
    from registry.pipeline import BuildOptions, build
    from registry.queries import versions
    from registry.store import Store

    data = Path(tempfile.mkdtemp(prefix="dctnet-dashboard-registry-"))
    store = Store(data=data)
    outcomes = build(BuildOptions(styles=("anime",), quick=True, only=ENTRIES, sizes=(128,), latency_runs=2),
                     store=store, log=lambda text: None)
    failed = [f"{o.entry}: {o.message}" for o in outcomes if o.status not in ("registered", "skipped")]
    assert not failed, failed
    table = versions("anime", store)
    return {"data": data, "store": store, "versions": {r.entry: int(r.version) for r in table.itertuples()}}


@pytest.fixture
def dashboard_registry(_built_registry):
    """The quick registry, selected for the app (DCTNET_LAB_DATA) for the duration of one test."""
    previous = _use_store(_built_registry["data"])
    yield _built_registry
    _restore(previous)


@pytest.fixture
def empty_registry():
    data = Path(tempfile.mkdtemp(prefix="dctnet-dashboard-empty-"))
    previous = _use_store(data)
    yield data
    _restore(previous)
