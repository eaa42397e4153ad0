"""Where the registry lives: an embedded SQLite store in lab_data/, or a team's `mlflow server`.

Resolution order for the tracking URI: the `uri` argument (CLI `--tracking-uri`), then
`MLFLOW_TRACKING_URI`, then the embedded default `sqlite:///<data>/mlflow.db` with artifacts in
`<data>/mlartifacts`, where <data> is `$DCTNET_LAB_DATA` or `<project>/lab_data` (git-ignored,
created on first use). The registry URI always follows the tracking URI. Telemetry is switched off
before mlflow is imported.
"""

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

from registry.keys import ROOT, model_name  # noqa: E402

DEFAULT_DATA = ROOT / "lab_data"
_OURS = set()  # URIs this process activated: mlflow.set_tracking_uri also exports MLFLOW_TRACKING_URI,
# which must not later read as the user's choice


def user_tracking_uri():
    uri = os.environ.get("MLFLOW_TRACKING_URI") or None
    return None if uri in _OURS else uri


def data_dir():
    return Path(os.environ.get("DCTNET_LAB_DATA") or DEFAULT_DATA)


@dataclass
class Store:
    """A tracking/registry URI and, for the embedded store, the artifact folder."""

    uri: str | None = None
    data: Path | None = None

    def __post_init__(self):
        self.data = Path(self.data) if self.data is not None else data_dir()
        self.uri = self.uri or user_tracking_uri()
        self.embedded = self.uri is None
        if self.embedded:
            self.data.mkdir(parents=True, exist_ok=True)
            self.uri = f"sqlite:///{(self.data / 'mlflow.db').resolve()}"
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
        return MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)

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
        name = model_name(style)
        exp = self.client.get_experiment_by_name(name)
        if exp is not None:
            if exp.lifecycle_stage == "deleted":
                self.client.restore_experiment(exp.experiment_id)
            return exp.experiment_id
        try:
            return self.client.create_experiment(name, artifact_location=self.artifact_root,
                                                 tags={"registry.style": style})
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


def get_store(store=None, uri=None):
    """A Store from an existing one, a URI, or the environment/defaults."""
    if isinstance(store, Store):
        return store
    if isinstance(store, str):
        return Store(uri=store)
    return Store(uri=uri)
