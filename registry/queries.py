"""Read the registry back as pandas tables: what the CLI prints and the dashboard draws.

- `versions(style)`: one row per model version (variant, method, parent, hashes, aliases).
- `latest_metrics(style)`: one row per version x environment: the newest evaluation run's metrics.
- `history(style, version=None, metric=None)`: every evaluation value over time (long format).
- `regressions(style)`: metrics whose newest value on an environment is worse than that version's
  earlier runs on the same environment by more than the noise band (registry/metrics.py).
- `aliases(style)`: alias -> version.
- `records(style, version=None)`: the plain evaluation records (the newest run per version x env),
  for `decisions.recommend`.
Only evaluation runs that are FINISHED and whose build run became a model version are read:
leftovers of a killed build never show up.
"""

import json

import pandas as pd

from registry import keys
from registry.metrics import direction, noise_floor
from registry.store import get_store

VERSION_COLUMNS = ["style", "version", "variant", "entry", "method", "parent", "profile", "aliases",
                   "config_hash", "code_version", "created", "run_id"]


def _styles(store, style):
    if style is not None:
        return [style] if isinstance(style, str) else list(style)
    models = store.client.search_registered_models()
    return sorted(keys.style_of(m.name) for m in models if m.name.startswith(keys.MODEL_PREFIX))


def _model_versions(store, style):
    from mlflow.exceptions import MlflowException

    from registry.selectors import model_versions

    try:
        return model_versions(store.client, keys.model_name(style))
    except MlflowException:
        return []


def versions(style=None, store=None):
    store = get_store(store)
    rows = []
    for st in _styles(store, style):
        alias_map = _alias_map(store, st)
        for v in _model_versions(store, st):
            t = v.tags
            rows.append({"style": st, "version": int(v.version), "variant": t.get(keys.VARIANT),
                         "entry": t.get(keys.ENTRY), "method": t.get(keys.METHOD),
                         "parent": t.get(keys.PARENT) or None, "profile": t.get(keys.PROFILE),
                         "aliases": ",".join(sorted(alias_map.get(int(v.version), []))),
                         "config_hash": t.get(keys.CONFIG_HASH), "code_version": t.get(keys.CODE_VERSION),
                         "created": pd.to_datetime(v.creation_timestamp, unit="ms", utc=True),
                         "run_id": v.run_id})
    return pd.DataFrame(rows, columns=VERSION_COLUMNS)


def _alias_map(store, style):
    from mlflow.exceptions import MlflowException

    from registry.selectors import alias_map

    try:
        return alias_map(store.client, keys.model_name(style))
    except MlflowException:
        return {}


def aliases(style=None, store=None):
    store = get_store(store)
    rows = []
    for st in _styles(store, style):
        by_version = {int(v.version): v.tags.get(keys.VARIANT) for v in _model_versions(store, st)}
        for version, names in sorted(_alias_map(store, st).items()):
            rows.extend({"style": st, "alias": a, "version": version, "variant": by_version.get(version)}
                        for a in sorted(names))
    return pd.DataFrame(rows, columns=["style", "alias", "version", "variant"])


def _evaluation_runs(store, style):
    """(run, version number) for every finished evaluation run linked to a model version."""
    exp = store.client.get_experiment_by_name(keys.model_name(style))
    if exp is None:
        return []
    by_run = {v.run_id: int(v.version) for v in _model_versions(store, style)}
    runs, token = [], None
    while True:
        page = store.client.search_runs([exp.experiment_id],
                                        f"tags.`{keys.KIND}` = 'evaluation' and attributes.status = 'FINISHED'",
                                        max_results=1000, order_by=["attributes.start_time ASC"], page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            break
    return [(r, by_run[r.data.tags.get(keys.SOURCE_RUN)]) for r in runs
            if r.data.tags.get(keys.SOURCE_RUN) in by_run]


def _eval_row(style, run, version):
    t = run.data.tags
    return {"style": style, "version": version, "variant": t.get(keys.VARIANT), "env_id": t.get(keys.ENV_ID),
            "cpu": t.get("env.cpu"), "gpu": t.get("env.gpu"), "threads": t.get("env.threads"),
            "runtime": t.get("eval.runtime"), "precision": t.get("eval.precision"),
            "eval_profile": t.get(keys.EVAL_PROFILE),
            "evaluated_at": pd.to_datetime(run.info.start_time, unit="ms", utc=True),
            "eval_run_id": run.info.run_id}


def latest_metrics(style=None, store=None, env_id=None):
    """Wide table: one row per (style, version, env_id) with the newest run's metrics as columns."""
    store = get_store(store)
    rows = []
    for st in _styles(store, style):
        latest = {}
        for run, version in _evaluation_runs(store, st):  # ascending start time: the last one wins
            latest[(version, run.data.tags.get(keys.ENV_ID))] = (run, version)
        for (version, env), (run, _) in sorted(latest.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
            if env_id is not None and env != env_id:
                continue
            rows.append({**_eval_row(st, run, version), **run.data.metrics})
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    info = versions(style, store)[["style", "version", "method", "parent", "aliases"]]
    frame = frame.merge(info, on=["style", "version"], how="left")
    first = ["style", "version", "variant", "method", "parent", "aliases", "env_id", "cpu", "gpu", "threads",
             "runtime", "precision", "evaluated_at"]
    rest = [c for c in frame.columns if c not in first]
    meta = [c for c in rest if "." not in c]
    return frame[first + meta + sorted(c for c in rest if "." in c)]


def history(style="anime", version=None, metric=None, store=None):
    """Long table: style, version, variant, env_id, cpu, evaluated_at, eval_run_id, metric, value.

    `metric` is an exact key (`latency.512.p50_ms`) or a substring (`p50_ms`)."""
    store = get_store(store)
    rows = []
    for st in _styles(store, style):
        for run, v in _evaluation_runs(store, st):
            if version is not None and v != int(version):
                continue
            base = _eval_row(st, run, v)
            for key, value in run.data.metrics.items():
                if metric is None or metric == key or metric in key:
                    rows.append({**base, "metric": key, "value": value})
    cols = ["style", "version", "variant", "env_id", "cpu", "gpu", "evaluated_at", "eval_run_id", "metric",
            "value"]
    return pd.DataFrame(rows, columns=cols).sort_values(["version", "metric", "evaluated_at"]).reset_index(drop=True)


def find_regressions(frame):
    """From a `history` table: the newest value of each (version, env, metric) vs its earlier ones.

    Worse by more than max(2 x std of the earlier values, the metric's noise floor) is a regression.
    Pure pandas, so it can be tested on a hand-made table.
    """
    rows = []
    for (style, version, env, key), group in frame.groupby(["style", "version", "env_id", "metric"], sort=True):
        sign = direction(key)
        if sign == 0 or len(group) < 2:
            continue
        group = group.sort_values("evaluated_at")
        earlier, latest = group["value"].iloc[:-1], group.iloc[-1]
        baseline = float(earlier.mean())
        spread = float(earlier.std(ddof=1)) if len(earlier) > 1 else 0.0
        band = max(2 * spread, noise_floor(key, baseline))
        worse_by = (baseline - latest["value"]) * sign  # > 0 means worse
        if worse_by > band:
            rows.append({"style": style, "version": version, "variant": latest["variant"], "env_id": env,
                         "metric": key, "baseline": baseline, "latest": float(latest["value"]),
                         "worse_by": float(worse_by), "band": band, "earlier_runs": len(earlier),
                         "evaluated_at": latest["evaluated_at"], "eval_run_id": latest["eval_run_id"]})
    cols = ["style", "version", "variant", "env_id", "metric", "baseline", "latest", "worse_by", "band",
            "earlier_runs", "evaluated_at", "eval_run_id"]
    return pd.DataFrame(rows, columns=cols)


def regressions(style=None, store=None):
    store = get_store(store)
    frames = [history(st, store=store) for st in _styles(store, style)]
    frames = [f for f in frames if not f.empty]
    return find_regressions(pd.concat(frames, ignore_index=True)) if frames else find_regressions(
        pd.DataFrame(columns=["style", "version", "variant", "env_id", "metric", "value", "evaluated_at",
                              "eval_run_id"]))


def records(style="anime", version=None, store=None, env_id=None):
    """Evaluation records of the newest run per version x environment (from records.json artifacts)."""
    store = get_store(store)
    latest = latest_metrics(style, store, env_id=env_id)
    out = []
    for _, row in latest.iterrows():
        if version is not None and int(row["version"]) != int(version):
            continue
        text = _load_text(store, row["eval_run_id"], "records.json")
        for record in json.loads(text):
            record.setdefault("registry", {"model": keys.model_name(row["style"]), "version": int(row["version"])})
            out.append(record)
    return out


def _load_text(store, run_id, path):
    import mlflow.artifacts

    store.activate()  # mlflow.artifacts resolves runs:/ URIs through the global tracking URI
    return mlflow.artifacts.load_text(f"runs:/{run_id}/{path}")


def find_version(store, style, config_hash, code_version):
    """The model version with this identity, or None.

    The lowest number when several exist: that is the one two racing writers agree to keep
    (registry/publish.py `settle`), so readers pick it too, even in the instant before the other
    is removed."""
    from mlflow.exceptions import MlflowException

    try:
        found = store.client.search_model_versions(
            f"name = '{keys.model_name(style)}' and tags.`{keys.CONFIG_HASH}` = '{config_hash}' "
            f"and tags.`{keys.CODE_VERSION}` = '{code_version}'")
    except MlflowException:
        return None
    found = [v for v in found if v.status != "FAILED_REGISTRATION"]
    return min(found, key=lambda v: int(v.version)) if found else None


def evaluation_runs(store, style, version):
    """Finished evaluation runs of one model version (any environment), oldest first."""
    return [run for run, v in _evaluation_runs(store, style) if v == int(version)]


def resolve_version(style, version_or_alias, store=None):
    """A ModelVersion from a number ("3", 3), an alias ("realtime" / "@realtime"), "latest", or a URI
    (models:/dctnet-anime/5, models:/dctnet-anime@realtime, registry:anime/int8-full; its style wins).
    ValueError in one line naming what exists otherwise (registry.selectors)."""
    from registry.selectors import resolve, selector

    return resolve(selector(style, version_or_alias), get_store(store).client)
