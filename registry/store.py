"""Where the registry lives: an embedded SQLite store in lab_data/, or a team's `mlflow server`.

Resolution order for the tracking URI: the `uri` argument (CLI `--tracking-uri`), then
`MLFLOW_TRACKING_URI`, then the embedded default `sqlite:///<data>/mlflow.db` with artifacts in
`<data>/mlartifacts`, where <data> is `$DCTNET_LAB_DATA` or `<project>/lab_data` (git-ignored,
created on first use). The registry URI always follows the tracking URI. Telemetry is switched off
before mlflow is imported.

Several writers at once: MLflow creates or upgrades a SQLite store's tables when a process first
opens it, and two processes doing that together corrupt it (`table _alembic_tmp_latest_metrics already
exists`, a half-migrated file). So the first open of a SQLite store happens under a file lock beside
it (`mlflow.db.lock`): one process creates the tables, the others wait, saying so in one line, then
find them made. Under that lock the file is switched to WAL (readers never block writers) and tables
left by a migration that was killed midway are dropped so it can rerun. Every SQLite connection waits
up to 120 s for a busy database instead of failing after SQLite's 5 s. A tracking server creates its
schema itself when it starts: nothing to do there.
"""

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

from registry.keys import model_name  # noqa: E402

EMBEDDED_DB = "mlflow.db"


def embedded_uri(data):
    """The tracking URI of the embedded SQLite store in the lab-data folder `data`."""
    return f"sqlite:///{(Path(data) / EMBEDDED_DB).resolve()}"

SQLITE_BUSY_TIMEOUT_S = 120
_OURS = set()  # URIs this process activated: mlflow.set_tracking_uri also exports MLFLOW_TRACKING_URI,
# which must not later read as the user's choice


def user_tracking_uri():
    uri = os.environ.get("MLFLOW_TRACKING_URI") or None
    return None if uri in _OURS else uri


def data_dir():
    from models.lab_data import lab_data_dir

    return lab_data_dir()


@dataclass
class Store:
    """A tracking/registry URI and, for the embedded store, the artifact folder."""

    uri: str | None = None
    data: Path | None = None
    say: object = None  # one-line notices (waiting for another writer); default: stderr

    def __post_init__(self):
        self.data = Path(self.data) if self.data is not None else data_dir()
        self.uri = self.uri or user_tracking_uri()
        self.embedded = self.uri is None
        if self.embedded:
            self.data.mkdir(parents=True, exist_ok=True)
            self.uri = embedded_uri(self.data)
        elif not self.uri.startswith(("http://", "https://", "sqlite:", "postgresql", "mysql", "file:",
                                      "databricks")):
            raise ValueError(f"tracking uri must be an http(s):// server or a database URI such as "
                             f"sqlite:///path/mlflow.db. Received: uri={self.uri!r}")

    @property
    def artifact_root(self):
        """Artifact location for new experiments; None lets a server choose (its --artifacts-destination)."""
        if self.uri.startswith(("http://", "https://")):
            return None
        if self.uri.startswith("sqlite:///"):  # an explicit SQLite file keeps its artifacts beside it
            base = Path(self.uri[len("sqlite:///"):]).parent
        else:  # a database URI given directly (team postgres without a server): local artifacts
            base = self.data
        return (Path(base) / "mlartifacts").resolve().as_uri()

    @cached_property
    def client(self):
        import mlflow
        from mlflow import MlflowClient

        # The fluent API (pyfunc.log_model, start_run) reads the global URIs: keep them in step.
        self.activate_uris()
        if self.sqlite_path is None:
            return MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        _wait_when_busy()
        return self._open_sqlite_once(lambda: MlflowClient(tracking_uri=self.uri, registry_uri=self.uri))

    @property
    def sqlite_path(self):
        """The database file of a SQLite store (None for a server or another database)."""
        if not self.uri.startswith("sqlite:///"):
            return None
        return Path(self.uri[len("sqlite:///"):].split("?")[0])

    def notify(self, text):
        (self.say or _stderr)(text)

    def _open_sqlite_once(self, make_client):
        """Create/upgrade the tables under a lock beside the file; other processes wait for it.

        MlflowClient() opens the tracking store (creating tables) and the first registry call opens
        the registry's: both happen under the lock."""
        from registry.locks import FileLock

        path = self.sqlite_path
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(path.with_name(path.name + ".lock"),
                        f"opening {path} (creating or upgrading its tables when needed)")
        with lock.acquire(self.notify):
            _repair_sqlite(path)
            client = make_client()  # opens the tracking store: creates / upgrades / checks its tables
            client.search_registered_models(max_results=1)  # and the model registry's
            _repair_sqlite(path)  # a fresh file: WAL now
        return client

    def activate(self):
        """Point mlflow's fluent API at this store (call before any mlflow.start_run)."""
        self.activate_uris()
        return self.client

    def activate_uris(self):
        import mlflow

        if self.embedded:
            _OURS.add(self.uri)
        mlflow.set_tracking_uri(self.uri)
        mlflow.set_registry_uri(self.uri)

    def experiment_id(self, style):
        """The experiment holding a style's build and evaluation runs (created on first use)."""
        return self.named_experiment(model_name(style), {"registry.style": style})

    def named_experiment(self, name, tags=None, create=True):
        """An experiment's id by name, restored if deleted; created on first use (None when not `create`)."""
        exp = self.client.get_experiment_by_name(name)
        if exp is not None:
            if exp.lifecycle_stage == "deleted":
                self.client.restore_experiment(exp.experiment_id)
            return exp.experiment_id
        if not create:
            return None
        try:
            return self.client.create_experiment(name, artifact_location=self.artifact_root, tags=tags or {})
        except Exception:  # another process created it first: use theirs
            exp = self.client.get_experiment_by_name(name)
            if exp is None:
                raise
            return exp.experiment_id

    def ensure_model(self, style):
        from mlflow.exceptions import MlflowException

        name = model_name(style)
        try:
            self.client.get_registered_model(name)
        except MlflowException:
            try:
                self.client.create_registered_model(
                    name, tags={"registry.style": style},
                    description=f"DCT-Net {style} style: the original and its compressed variants. "
                                "Each version is one variant; evaluation runs are linked by tag.")
            except MlflowException:  # created concurrently
                self.client.get_registered_model(name)
        return name

    def describe(self):
        where = f"embedded store {self.uri}" if self.embedded else f"tracking server {self.uri}"
        return where


def _stderr(text):
    import sys

    print(text, file=sys.stderr, flush=True)


_BUSY = []


def _wait_when_busy():
    """Every SQLite connection SQLAlchemy opens in this process waits for a busy database (once)."""
    if _BUSY:
        return
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _busy_timeout(dbapi_connection, record):
        import sqlite3

        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_S * 1000}")

    _BUSY.append(_busy_timeout)


def _repair_sqlite(path):
    """WAL mode, and no tables of a migration step that was killed midway (alembic reruns the step)."""
    import sqlite3

    if not path.exists():
        return
    with sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S) as db:
        db.execute("PRAGMA journal_mode = WAL")
        leftovers = [r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '\\_alembic\\_tmp\\_%' ESCAPE '\\'")]
        for name in leftovers:
            db.execute(f'DROP TABLE "{name}"')
    db.close()


def get_store(store=None, uri=None):
    """A Store from an existing one, a URI, or the environment/defaults."""
    if isinstance(store, Store):
        return store
    if isinstance(store, str):
        return Store(uri=store)
    return Store(uri=uri)
