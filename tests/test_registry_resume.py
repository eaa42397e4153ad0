"""Killing a build mid-way and building again leaves no duplicate version and no version without its
metrics. The build is a real subprocess killed with SIGKILL (no cleanup code runs) at two moments:
while a variant is being published (its build run is open), and right after a version appeared."""

import os
import signal
import subprocess
import sys
import time

import pytest

from registry import keys
from tests.conftest import ROOT
from tests.test_registry_build import cli_env, run_cli

pytestmark = pytest.mark.slow
ONLY = "original,fp16,int8-dynamic"
BUILD = ["build", "--quick", "--only", ONLY, "--sizes", "128", "--latency-runs", "2"]


def start_build(data):
    return subprocess.Popen([sys.executable, "-m", "registry", *BUILD], cwd=ROOT, env=cli_env(data),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def kill_when(proc, condition, timeout=600):
    """Poll `condition()` every 0.2 s; SIGKILL the build's process group when it holds."""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"the build ended (exit {proc.returncode}) before the kill point")
            if condition():
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(30)
                return
            time.sleep(0.2)
        pytest.fail("the kill point never came")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)


def open_build_runs(store):
    exp = store.client.get_experiment_by_name("dctnet-anime")
    if exp is None:
        return []
    return store.client.search_runs([exp.experiment_id],
                                    f"tags.`{keys.KIND}` = 'build' and attributes.status = 'RUNNING'")


def test_killed_builds_resume_without_duplicates_or_versions_lacking_metrics(tmp_path):
    from registry.queries import latest_metrics, versions
    from registry.store import Store

    data = tmp_path / "lab_data"
    store = Store(data=data)
    store.client.search_experiments()  # create the tables now: polling must not race the build's migration

    # 1. kill while the first variant is being published: its build run is open, no version yet
    kill_when(start_build(data), lambda: bool(open_build_runs(store)))
    interrupted = [r.info.run_id for r in open_build_runs(store)]
    assert interrupted

    # 2. resume, and kill again as soon as a version exists (the next variant is mid-way)
    kill_when(start_build(data), lambda: not versions("anime", store).empty)

    # 3. finish
    proc = run_cli(BUILD, data)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    table = versions("anime", store)
    assert sorted(table["entry"]) == sorted(ONLY.split(","))  # every variant, once
    assert table["config_hash"].is_unique
    metrics = latest_metrics("anime", store=store)
    assert sorted(metrics["version"]) == sorted(table["version"])  # every version has its evaluation
    assert metrics["latency.128.p50_ms"].notna().all() and metrics["static.file_bytes"].notna().all()
    for run_id in interrupted:  # what the first kill left open is marked FAILED, never half-registered
        status = store.client.get_run(run_id).info.status
        has_version = run_id in set(table["run_id"])
        # (FINISHED only when SIGKILL landed in the instant after the version was created)
        assert (status, has_version) in (("FAILED", False), ("FINISHED", True)), (status, has_version)
    assert not open_build_runs(store)

    proc = run_cli(BUILD, data)  # and a last build has nothing to do
    assert proc.returncode == 0 and "done: 3 skipped" in proc.stdout, proc.stdout[-2000:]
    assert len(versions("anime", store)) == len(table)
