"""Write to MLflow: a variant's build run + model version, and evaluation runs linked to it.

Order is what makes builds resumable: the build run logs params, tags, artifacts and the model;
then the first evaluation run logs its metrics; only then is the model version created (one call,
tags included). A build killed before that point leaves a RUNNING/unlinked run that read-back
ignores and the next build marks FAILED; it never leaves a version without artifacts or metrics.

Two writers that both found no version and both published (two machines on one server) are
settled right after the create: of the versions carrying one identity (style, config hash, code
version) the lowest number wins; the other writer deletes its own version, marks its two runs as
duplicates and deletes them, and reports the winner. Numbers only grow, and a writer's create
commits before any later create, so every writer agrees on the winner without a lock.

Evaluation runs link to a version through `registry.source_run` (the build run id, known before
the version exists), so the same version measured on a laptop, a server and a GPU over weeks is a
history of runs, never an overwrite.
"""

import json
import time
import warnings
from pathlib import Path

from evaluation.environment import CODE_FIELDS, MACHINE_FIELDS, RUN_FIELDS
from registry import keys
from registry.locks import writer_alive, writer_id
from registry.metrics import flatten

PYFUNC_FILE = Path(__file__).resolve().parent / "pyfunc_model.py"
PIP_REQUIREMENTS = (Path(keys.ROOT) / "requirements.txt")
# every env field as a tag of its own; gpu and packages (nested) are written below
ENV_TAG_FIELDS = tuple(f for f in MACHINE_FIELDS + RUN_FIELDS + CODE_FIELDS if f not in ("gpu", "packages"))


def _requirements():
    if PIP_REQUIREMENTS.is_file():
        return [ln.split("#")[0].strip() for ln in PIP_REQUIREMENTS.read_text().splitlines()
                if ln.split("#")[0].strip()]
    return None


def params_of(chain):
    """Method chain -> flat MLflow params: `<step>.<method>.<field>` (a chain's order matters)."""
    params = {}
    for i, (method, config) in enumerate(chain):
        params[f"{i}.{method}"] = "on"
        for name, value in config.items():
            text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
            params[f"{i}.{method}.{name}"] = text[:6000]
    return params


def env_tags(env):
    tags = {keys.ENV_ID: env.get("env_id", "unknown")}
    for name in ENV_TAG_FIELDS:
        tags[f"env.{name}"] = str(env.get(name))
    gpu = env.get("gpu")
    tags["env.gpu"] = (f"{gpu.get('name')} (driver {gpu.get('driver')}, CUDA {gpu.get('cuda')})"
                       if isinstance(gpu, dict) else "none")
    tags["env.packages"] = json.dumps(env.get("packages", {}), sort_keys=True)[:5000]
    return tags


def log_evaluation(store, style, source_run, variant, records, settings, version=None, model_id=None,
                   config_hash=None, machine=None):
    """One evaluation run holding `records` (all from one environment); returns its run id."""
    from mlflow.entities import Metric, Param

    if not records:
        raise ValueError(f"no evaluation records for {variant}: nothing to log")
    envs = {r["env"]["env_id"] for r in records}
    if len(envs) != 1:
        raise ValueError(f"one evaluation run holds one environment; records of {variant} come from {sorted(envs)}")
    client = store.client
    env = records[0]["env"]
    tags = {keys.KIND: "evaluation", keys.SOURCE_RUN: source_run, keys.VARIANT: variant,
            keys.STYLE: style, keys.EVAL_PROFILE: keys.eval_profile(settings),
            keys.CONFIG_HASH: config_hash or "", keys.MACHINE: machine or "", keys.WRITER: writer_id(),
            "eval.runtime": ",".join(sorted({r["runtime"] for r in records})),
            "eval.precision": ",".join(sorted({r["precision"] for r in records})),
            "eval.device": ",".join(sorted({r["device"] for r in records})),
            **env_tags(env)}
    if version is not None:
        tags[keys.VERSION] = str(version)
    run = client.create_run(store.experiment_id(style), run_name=f"eval {variant} @{env['env_id']}", tags=tags)
    run_id = run.info.run_id
    try:
        now = int(time.time() * 1000)
        metrics = [Metric(k, v, now, 0, model_id=model_id) for k, v in sorted(flatten(records).items())]
        params = [Param(f"eval.{k}", json.dumps(v, default=str)[:6000]) for k, v in sorted(settings.items())
                  if k != "image_paths"]
        for start in range(0, len(metrics), 900):  # log_batch takes at most 1000 metrics
            client.log_batch(run_id, metrics=metrics[start:start + 900],
                             params=params if start == 0 else ())
        if not metrics:
            client.log_batch(run_id, params=params)
        client.log_text(run_id, json.dumps(records, indent=1), "records.json")
        notes = sorted({n for r in records for n in r.get("notes", [])})
        if notes:
            client.log_text(run_id, "\n".join(notes) + "\n", "notes.txt")
    except BaseException:
        client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id, "FINISHED")
    return run_id


def publish(store, built, records, settings, machine=None):
    """Build run (params, tags, artifacts, model) -> evaluation run -> model version, in that order.

    Returns (the version holding this identity, None) or, when another writer registered it at the
    same moment, (the winner's version, the number of this writer's removed version)."""
    import mlflow

    from registry.signature import image_signature

    client = store.activate()
    style = built.style
    name = store.ensure_model(style)
    tags = built.tags()
    folder = Path(built.folder)
    with mlflow.start_run(experiment_id=store.experiment_id(style), run_name=f"build {built.variant}",
                          tags={keys.KIND: "build", keys.WRITER: writer_id(), **tags}) as run:
        run_id = run.info.run_id
        mlflow.log_params(params_of(built.chain))
        for item in sorted(folder.iterdir()):  # small files for the UI; the weights live in the model
            if item.is_dir() and item.name == "samples":
                mlflow.log_artifacts(str(item), "samples")
            elif item.is_file() and item.suffix in (".json", ".txt"):
                mlflow.log_artifact(str(item))
        with warnings.catch_warnings():  # "add type hints" / "no input example": the signature says it all
            warnings.simplefilter("ignore", UserWarning)
            info = mlflow.pyfunc.log_model(
                name="model", python_model=str(PYFUNC_FILE), artifacts={"variant": str(folder)},
                signature=image_signature(), pip_requirements=_requirements(),
                metadata={"variant": built.variant, "config_hash": built.config_hash})
        eval_run = log_evaluation(store, style, run_id, built.variant, records, settings,
                                  model_id=info.model_id, config_hash=built.config_hash, machine=machine)
        version = client.create_model_version(
            name, source=info.model_uri, run_id=run_id, tags=tags, model_id=info.model_id,
            description=built.description or None)
        client.set_tag(eval_run, keys.VERSION, version.version)
    return settle(store, built, version, run_ids=(eval_run, run_id))


def settle(store, built, version, run_ids=()):
    """Check after create: keep one version per identity (the lowest number); see the module doc."""
    from mlflow.exceptions import MlflowException

    from registry.queries import find_version

    winner = find_version(store, built.style, built.config_hash, built.code_version)
    if winner is None or int(winner.version) >= int(version.version):
        return version, None
    client = store.client
    client.delete_model_version(version.name, version.version)
    for run_id in run_ids:
        client.set_tag(run_id, "registry.note", f"duplicate of version {winner.version}, registered at the "
                                                 "same moment by another build: removed")
        client.delete_run(run_id)
    model_id = getattr(version, "model_id", None)
    if model_id:
        try:
            client.delete_logged_model(model_id)
        except (MlflowException, AttributeError):  # older servers: the run's deletion hides it anyway
            pass
    return winner, int(version.version)


def fail_stale_runs(store, style, config_hash):
    """Mark runs a killed build left RUNNING for this variant FAILED (read-back ignores them anyway).

    Only runs whose writer is surely gone (a dead pid on this host, or no writer tag): a build
    running at this moment, here or on another machine, keeps its open runs."""
    client = store.client
    stale = [r for r in client.search_runs([store.experiment_id(style)],
                                           f"tags.`{keys.CONFIG_HASH}` = '{config_hash}' and "
                                           "attributes.status = 'RUNNING'")
             if not (r.data.tags.get(keys.WRITER) and writer_alive(r.data.tags[keys.WRITER]))]
    for run in stale:
        client.set_terminated(run.info.run_id, "FAILED")
        client.set_tag(run.info.run_id, "registry.note", "interrupted build: no model version was created")
    return [r.info.run_id for r in stale]
