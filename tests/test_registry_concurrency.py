"""Several writers on one registry at once, with real processes.

Fast (default): four processes opening one fresh SQLite store create its tables once; the
check-after-create keeps the lower of two racing versions; a live writer's open runs are never
marked FAILED; entry locks vanish with a SIGKILLed holder.
Slow: two and then four `python -m registry build --quick` at once on the embedded store (fresh, then
existing): every variant registered exactly once, no traceback, every command working afterwards.
The same against a PostgreSQL-backed `mlflow server` is in tests/test_registry_team.py.
"""

import os
import signal
import subprocess
import sys
import time

import pytest

from registry import keys
from tests.conftest import ROOT
from tests.test_registry_build import cli_env

OPEN_STORE = ("from registry.store import Store; s = Store(); s.client.search_experiments(); "
              "print('experiment', s.experiment_id('anime'), s.ensure_model('anime'))")


def start_all(commands, envs):
    """Start every command at (nearly) the same moment; -> [(returncode, stdout + stderr)]."""
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True) for cmd, env in zip(commands, envs)]
    results = []
    try:
        for proc in procs:
            out, _ = proc.communicate(timeout=1500)
            results.append((proc.returncode, out))
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    return results


def concurrent_builds(args, datas, uri=None):
    """One `python -m registry [--tracking-uri URI] build ...` per data folder, all at once."""
    prefix = [sys.executable, "-m", "registry"] + (["--tracking-uri", uri] if uri else [])
    return start_all([prefix + list(args)] * len(datas), [cli_env(d) for d in datas])


def done_counts(output):
    """`done: 2 registered, 1 skipped` -> {"registered": 2, "skipped": 1}."""
    line = next(ln for ln in output.splitlines()[::-1] if ln.startswith("done: "))
    return {status: int(n) for n, status in (part.split() for part in line[len("done: "):].split(", "))}


def assert_clean(results, n_new, entries):
    """Every build exited 0 without a traceback; together they registered each new entry once."""
    for code, out in results:
        assert code == 0, out[-4000:]
        assert "Traceback" not in out, out[-4000:]
    counts = [done_counts(out) for _, out in results]
    assert sum(c.get("registered", 0) for c in counts) == n_new, counts
    assert all(sum(c.values()) == len(entries) for c in counts), counts


def assert_registered_once(store, style, entries):
    from registry.queries import latest_metrics, versions

    table = versions(style, store)
    assert sorted(table["entry"]) == sorted(entries), table[["version", "entry"]]
    assert table["config_hash"].is_unique
    metrics = latest_metrics(style, store=store)
    assert sorted(metrics["version"].unique()) == sorted(table["version"])  # every version has metrics
    return table


def test_four_processes_opening_a_fresh_store_create_its_tables_once(tmp_path):
    data = tmp_path / "lab_data"
    results = start_all([[sys.executable, "-c", OPEN_STORE]] * 4, [cli_env(data)] * 4)
    outputs = [out for _, out in results]
    for code, out in results:
        assert code == 0 and "Traceback" not in out, out[-3000:]
        assert "experiment 1 dctnet-anime" in out, out[-3000:]  # all four agree on one experiment
    assert sum(out.count("Creating initial MLflow database tables") for out in outputs) == 1, outputs
    waited = [ln for out in outputs for ln in out.splitlines() if ln.startswith("waiting for")]
    assert all("opening" in ln and "mlflow.db" in ln for ln in waited), waited  # one line each, naming it


def _fake_built(style="anime", config_hash="c0ffee", code="code1"):
    from registry.pipeline import Built

    return Built(style, "fp16", [], config_hash, code, "quick", folder=None)


def _fake_version(store, built, tags=None):
    client = store.client
    run = client.create_run(store.experiment_id(built.style),
                            tags={keys.KIND: "build", keys.CONFIG_HASH: built.config_hash})
    client.set_terminated(run.info.run_id, "FINISHED")
    version = client.create_model_version(store.ensure_model(built.style), source="file:///nowhere",
                                          run_id=run.info.run_id,
                                          tags={keys.CONFIG_HASH: built.config_hash,
                                                keys.CODE_VERSION: built.code_version, **(tags or {})})
    return version, run.info.run_id


def test_of_two_racing_versions_the_lower_stays_and_the_loser_removes_its_own(tmp_path):
    from registry.publish import settle
    from registry.queries import find_version, versions
    from registry.store import Store

    store = Store(data=tmp_path)
    built = _fake_built()
    first, _ = _fake_version(store, built)
    second, second_run = _fake_version(store, built)  # both writers passed the check before creating
    other, _ = _fake_version(store, _fake_built(config_hash="other"))
    assert int(find_version(store, "anime", built.config_hash, built.code_version).version) == 1  # readers pick the winner

    winner, removed = settle(store, built, second, run_ids=(second_run,))
    assert (int(winner.version), removed) == (1, 2)
    assert settle(store, built, first) == (first, None)
    assert list(versions("anime", store)["version"]) == [1, 3]
    assert store.client.get_run(second_run).info.lifecycle_stage == "deleted"
    assert settle(store, _fake_built(config_hash="other"), other)[1] is None


def test_a_live_writers_open_runs_are_not_marked_failed(tmp_path):
    from registry.locks import writer_id
    from registry.publish import fail_stale_runs
    from registry.store import Store

    store = Store(data=tmp_path)
    exp = store.experiment_id("anime")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    host = writer_id().rpartition(":")[0]
    runs = {name: store.client.create_run(exp, tags={keys.CONFIG_HASH: "h", keys.WRITER: writer}).info.run_id
            for name, writer in (("alive", writer_id()), ("dead", f"{host}:{dead.stdout.strip()}"),
                                 ("elsewhere", "another-host:1"))}
    legacy = store.client.create_run(exp, tags={keys.CONFIG_HASH: "h"}).info.run_id  # before writer tags
    assert sorted(fail_stale_runs(store, "anime", "h")) == sorted([runs["dead"], legacy])
    assert store.client.get_run(runs["alive"]).info.status == "RUNNING"
    assert store.client.get_run(runs["elsewhere"]).info.status == "RUNNING"


def test_an_entry_lock_is_exclusive_and_dies_with_its_holder(tmp_path):
    from registry.locks import FileLock

    path = tmp_path / "locks" / "anime-fp16.lock"
    holder = subprocess.Popen([sys.executable, "-c", f"import sys, time; sys.path.insert(0, {str(ROOT)!r}); "
                               "from registry.locks import FileLock; "
                               f"FileLock({str(path)!r}, 'building anime/fp16').acquire(); print('held', flush=True); "
                               "time.sleep(600)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        lock = FileLock(path)
        assert not lock.try_acquire()
        assert f"pid {holder.pid}" in lock.holder() and "building anime/fp16" in lock.holder()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(30)
    deadline = time.monotonic() + 10
    while not lock.try_acquire():
        assert time.monotonic() < deadline, "the lock outlived its SIGKILLed holder"
        time.sleep(0.1)
    lock.release()


BUILD = ["build", "--quick", "--sizes", "64", "--latency-runs", "1"]
FIRST = ("original", "fp16")
THEN = ("original", "fp16", "int8-dynamic")


@pytest.mark.slow
def test_two_then_four_concurrent_builds_register_every_variant_once(tmp_path):
    """Embedded store: 2 builds on a fresh store, then 4 on the existing one (one entry more)."""
    from registry.__main__ import main
    from registry.store import Store

    data = tmp_path / "lab_data"
    results = concurrent_builds([*BUILD, "--only", ",".join(FIRST)], [data] * 2)
    assert_clean(results, len(FIRST), FIRST)
    store = Store(data=data)
    assert_registered_once(store, "anime", FIRST)

    results = concurrent_builds([*BUILD, "--only", ",".join(THEN)], [data] * 4)
    assert_clean(results, 1, THEN)
    assert any("coming back to it after the others" in out or "waiting for pid" in out for _, out in results)
    table = assert_registered_once(store, "anime", THEN)
    assert not list((data / "staging").iterdir())  # every build removed its private staging folder

    for argv in (["list"], ["history", "1"], ["alias", "mobile", "2"], ["regressions"],
                 ["recommend", "--scenario", "balanced"]):
        assert main(["--tracking-uri", store.uri, *argv]) == 0, argv
    assert len(table) == 3
