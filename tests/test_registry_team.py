"""Team mode for real: PostgreSQL + `mlflow server` on 127.0.0.1, a quick build against the server,
the versions and their metrics read back through it, then both stopped cleanly (process groups).

PostgreSQL comes from the OS packages (.ci/apt-packages lists `postgresql`; .ci/run installs it);
the test is skipped, saying so, only where no PostgreSQL binaries exist."""

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT, psnr_uint8
from tests.test_registry_build import cli_env

pytestmark = pytest.mark.slow
BUILD = ["build", "--quick", "--only", "original,fp16", "--sizes", "128", "--latency-runs", "2"]


def pg_bindir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_db_user(cmd):
    """PostgreSQL refuses to run as root: use the `postgres` account there."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def wait_for(check, what, timeout=120, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with {proc.returncode}")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{what} did not come up in {timeout}s")


def stop_group(proc, sig=signal.SIGTERM, timeout=30):
    """Signal the whole process group (the server's workers too); escalate to SIGKILL if needed."""
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout)
    try:  # nothing of the group may survive its leader
        os.killpg(proc.pid, 0)
        survivors = True
    except ProcessLookupError:
        survivors = False
    return survivors


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    bindir = pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql; .ci/run does this in CI)")
    # directly under the temp root: pytest's own temp folders are private to root, and the server
    # runs as the postgres account
    base = Path(tempfile.mkdtemp(prefix="dctnet-lab-pg-"))
    pgdata, sockets = base / "data", base / "sock"
    sockets.mkdir()
    if os.geteuid() == 0:
        for path in (base, sockets):
            shutil.chown(path, "postgres")
    initdb = subprocess.run(as_db_user([str(bindir / "initdb"), "-D", str(pgdata), "-U", "postgres",
                                        "--auth=trust", "-E", "UTF8"]), capture_output=True, text=True, timeout=120)
    if initdb.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"initdb failed: {initdb.stderr[-2000:]}")
    port = free_port()
    proc = subprocess.Popen(as_db_user([str(bindir / "postgres"), "-D", str(pgdata), "-p", str(port),
                                        "-h", "127.0.0.1", "-k", str(sockets)]),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: subprocess.run([str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                                        capture_output=True).returncode == 0, "postgres", proc=proc)
        subprocess.run([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "mlflow"],
                       check=True, capture_output=True, timeout=60)
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/mlflow"  # SQLAlchemy 2.1 defaults to psycopg 3
    finally:
        survivors = stop_group(proc, signal.SIGINT)  # SIGINT = PostgreSQL's "fast" shutdown
        shutil.rmtree(base, ignore_errors=True)
        assert not survivors, "postgres left processes behind"


@pytest.fixture(scope="module")
def server(postgres, tmp_path_factory):
    port = free_port()
    artifacts = tmp_path_factory.mktemp("server-artifacts")
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", "MLFLOW_DISABLE_TELEMETRY": "true"}
    env.pop("MLFLOW_TRACKING_URI", None)
    log = tmp_path_factory.mktemp("server-log") / "mlflow-server.log"
    mlflow_cli = Path(sys.executable).parent / "mlflow"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(mlflow_cli), "server", "--backend-store-uri", postgres,
                                 "--artifacts-destination", str(artifacts), "--host", "127.0.0.1",
                                 "--port", str(port), "--workers", "1"],
                                cwd=tmp_path_factory.mktemp("server-cwd"), env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for(lambda: urllib.request.urlopen(f"{url}/health", timeout=5).status == 200, "mlflow server",
                     timeout=180, proc=proc)
        except (RuntimeError, TimeoutError) as exc:
            pytest.fail(f"{exc}; its log ends with:\n{log.read_text()[-3000:]}")
        yield url
    finally:
        assert not stop_group(proc), "mlflow server left worker processes behind"


def test_quick_build_against_postgres_backed_server(server, tmp_path, monkeypatch, anime_model):
    from models.processing import Cartoonizer, ProcessingConfig, keras_network
    from models.samples import load_sample
    from registry.aliasing import load_predictor
    from registry.queries import latest_metrics, versions
    from registry.store import Store

    env = cli_env(tmp_path / "local")
    proc = subprocess.run([sys.executable, "-m", "registry", "--tracking-uri", server, *BUILD], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "done: 2 registered" in proc.stdout and f"tracking server {server}" in proc.stdout

    monkeypatch.setenv("DCTNET_LAB_DATA", str(tmp_path / "reader"))  # another teammate's machine
    store = Store(uri=server)
    table = versions("anime", store)
    assert list(table["variant"]) == ["anime/original", "anime/fp16"]
    metrics = latest_metrics("anime", store=store)
    assert metrics["latency.128.p50_ms"].notna().all() and len(metrics) == 2
    assert not (tmp_path / "local" / "mlflow.db").exists()  # nothing went to an embedded store

    photo = load_sample("half_body.jpg")[::6, ::6]
    expected = Cartoonizer(keras_network(anime_model), ProcessingConfig(max_side=None))(photo)
    fp16 = load_predictor("anime", 2, store)  # artifacts come through the server's proxy
    assert psnr_uint8(fp16(photo), expected) > 40

    again = subprocess.run([sys.executable, "-m", "registry", "--tracking-uri", server, *BUILD], cwd=ROOT,
                           env=env, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0 and "done: 2 skipped" in again.stdout, again.stdout[-2000:]
    assert np.array_equal(versions("anime", store)["version"], [1, 2])


def _vote_in_a_dashboard(url, button, votes_before, name):
    """Open Blind rating in a real browser against one dashboard process and click one vote button."""
    from tests.browser import browser_page, screenshot

    with browser_page(height=1800) as page:
        page.goto(f"{url}/blind")
        page.get_by_role("button", name=button).first.wait_for(timeout=240_000)
        page.get_by_role("button", name=button).first.click()
        page.get_by_text("You chose").first.wait_for(timeout=120_000)
        page.get_by_text(f"{votes_before + 1} votes stored in the tracking server").first.wait_for(timeout=120_000)
        screenshot(page, f"blind_team_{name}")
        assert page.get_by_text("Traceback").count() == 0


def test_votes_from_two_dashboards_and_a_pushed_laptop_give_one_mos(server, tmp_path):
    """Issue 15, item 4: two dashboard processes (two teammates' machines: their own lab-data folders) vote
    against one tracking server; both votes land there, and a laptop's earlier local votes are pushed once,
    matched to the server's versions by config hash + code version (a vote for a version the server lacks
    stays local). The combined MOS equals a hand count of the votes."""
    from decisions.votes import scores
    from registry.queries import versions
    from registry.store import Store
    from registry.votes import LocalVotes, ServerVotes
    from tests.browser import streamlit_server

    store = Store(uri=server)
    if versions("anime", store).empty:  # the build test above registers original + fp16 there
        built = subprocess.run([sys.executable, "-m", "registry", "--tracking-uri", server, *BUILD], cwd=ROOT,
                               env=cli_env(tmp_path / "builder"), capture_output=True, text=True, timeout=900)
        assert built.returncode == 0, built.stderr[-2000:]
    votes = ServerVotes(store)
    before = len(votes.votes("anime"))
    for i, (machine, button) in enumerate((("alice", "A is better"), ("bob", "Tie / can't tell"))):
        env = {**cli_env(tmp_path / machine), "MLFLOW_TRACKING_URI": server}
        with streamlit_server(env) as url:
            _vote_in_a_dashboard(url, button, before + i, machine)
        assert not (tmp_path / machine / "votes.sqlite").exists()  # nothing stayed on the teammate's machine
    rows = votes.votes("anime")
    assert len(rows) == before + 2 and [r["outcome"] for r in rows[-2:]] == ["left", "tie"]

    # A laptop that voted before joining: same entries built into its embedded store, three local votes.
    laptop = tmp_path / "laptop"
    built = subprocess.run([sys.executable, "-m", "registry", *BUILD], cwd=ROOT, env=cli_env(laptop),
                           capture_output=True, text=True, timeout=900)
    assert built.returncode == 0, built.stderr[-2000:]
    local = {r.entry: f"v{r.version} {r.entry}" for r in versions("anime", Store(data=laptop)).itertuples()}
    mine = LocalVotes(laptop / "votes.sqlite")
    mine.add("anime", "half_body.jpg", local["fp16"], local["original"], "left")
    mine.add("anime", "face_crop.jpg", local["original"], local["fp16"], "right")
    mine.add("anime", "face_crop.jpg", "v9 int8-full", local["fp16"], "left")  # not on the server
    push = [sys.executable, "-m", "registry", "--tracking-uri", server, "votes", "push", "--from", str(laptop)]
    first = subprocess.run(push, cwd=ROOT, env=cli_env(laptop), capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "votes: 2 pushed" in first.stdout and "1 kept local" in first.stdout
    assert "kept local: anime v9 int8-full is not on" in first.stderr
    again = subprocess.run(push, cwd=ROOT, env=cli_env(laptop), capture_output=True, text=True, timeout=300)
    assert "votes: 0 pushed" in again.stdout and "2 already there" in again.stdout, again.stdout

    rows = votes.votes("anime")
    assert len(rows) == before + 4
    server_label = {r.entry: f"v{r.version} {r.entry}" for r in versions("anime", store).itertuples()}
    # the laptop's two votes, relabelled to the server's version numbers (the newest rows: cast last)
    assert [(r["left"], r["right"], r["outcome"]) for r in rows[-2:]] == [
        (server_label["fp16"], server_label["original"], "left"), (server_label["original"], server_label["fp16"], "right")]
    # one MOS for the team: win 5, tie 3, loss 1 per vote, by hand
    points = {}
    for r in rows:
        for side, other in (("left", "right"), ("right", "left")):
            p = 3.0 if r["outcome"] == "tie" else 5.0 if r["outcome"] == side else 1.0
            points.setdefault(r[side], []).append(p)
    team = {s["variant"]: s for s in scores(rows)}
    assert {v: team[v]["mos"] for v in team} == pytest.approx({v: sum(p) / len(p) for v, p in points.items()})
    import json

    listed = subprocess.run([sys.executable, "-m", "registry", "--tracking-uri", server, "votes", "scores", "--json"],
                            cwd=ROOT, env=cli_env(tmp_path / "reader"), capture_output=True, text=True, timeout=300)
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert {r["variant"]: r["mos"] for r in json.loads(listed.stdout)} == \
        pytest.approx({v: round(s["mos"], 2) for v, s in team.items()}, abs=0.006)
