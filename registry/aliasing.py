"""Aliases (`@realtime`, `@mobile`, `@quality`, `@balanced`, ...) and loading a version as a predictor.

Aliases name scenario winners: set them by hand (`python -m registry alias realtime 7`) or from the
recommendation logic (`set_from_recommendations`), and load any version by alias or number as a
ready uint8-RGB-in/out predictor. MLflow aliases replace the old stages: a version can carry several,
an alias points at one version of one style's model.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from registry import keys
from registry.store import get_store

ALIAS_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")


def check_alias(alias):
    if not isinstance(alias, str) or not ALIAS_PATTERN.match(alias) or alias.lower() == "latest" or \
            alias.startswith("v") and alias[1:].isdigit():
        raise ValueError("alias must be lower-case letters, digits, '-' or '_', start with a letter, and not "
                         f"be 'latest' or look like a version ('v3'). Received: alias={alias!r}")
    return alias


def set_alias(style, alias, version, store=None):
    """Point `alias` at `version` (a number, another alias or a URI) of the style's model; returns the number."""
    from registry.queries import resolve_version

    store = get_store(store)
    check_alias(alias)
    target = resolve_version(style, version, store)
    store.client.set_registered_model_alias(target.name, alias, target.version)
    return int(target.version)


def set_from_recommendations(style, scenarios=None, store=None, env_id=None):
    """Alias each scenario's winner; returns {alias: version}.

    `scenarios` maps alias -> scenario (a `decisions.scenarios.Scenario` or a built-in scenario
    name); default: decisions.scenarios.ALIASES (realtime, mobile, quality, balanced). The registry's
    records (newest run per version and machine) go to `decisions.recommend.recommend`."""
    from decisions.recommend import recommend
    from decisions.scenarios import ALIASES, get_scenario

    from registry.queries import records as registry_records

    store = get_store(store)
    scenarios = dict(ALIASES if scenarios is None else scenarios)
    recs = registry_records(style, store=store)
    if not recs:
        raise ValueError(f"no evaluation records for style {style!r} in {store.describe()}: build first")
    by_variant = {r["variant"]: r["registry"]["version"] for r in recs}
    chosen = {}
    for alias, scenario in scenarios.items():
        scenario = get_scenario(scenario) if isinstance(scenario, str) else scenario
        winner = recommend(recs, scenario, env_id=env_id).winner
        if winner in by_variant:
            chosen[alias] = set_alias(style, alias, by_variant[winner], store)
    return chosen


MODES = ("full", "portrait")  # the full-image network, or the official face pipeline around it


@dataclass
class LoadedVariant:
    """A registered version, ready: `loaded(image)` maps uint8 RGB H x W x 3 to its cartoon.

    The one "loaded registered version" type: the CLI, the tests and the dashboard (which wraps it with
    a lock, dashboard_pages/live.py) all get it from `load_predictor`."""

    style: str
    version: int
    variant: str
    manifest: dict
    folder: Path
    predictor: object  # evaluation.predictors.Predictor
    mode: str = "full"

    @property
    def method(self):
        return self.manifest.get("method", "?")

    @property
    def runtime(self):
        return self.predictor.runtime

    @property
    def precision(self):
        return self.predictor.precision

    @property
    def label(self):
        return f"v{self.version} {self.variant.split('/', 1)[-1]}"

    def __call__(self, image):
        return self.predictor.predict(image)

    def predict(self, image):
        return self.predictor.predict(image)


def download_version(style, version, store=None):
    """(the version's variant folder on local disk, its ModelVersion): cached in <data>/cache/<store>/<model>/<version>.
    `version`: a number, an alias, "latest", or a URI (registry/selectors.py)."""
    from registry.selectors import fetch

    from registry.queries import resolve_version

    store = get_store(store)
    mv = resolve_version(style, version, store)
    store.activate()
    return fetch(mv, store.uri, store.data / "cache"), mv


def load_predictor(style="anime", version_or_alias="latest", store=None, threads=None, mode="full"):
    """A ready predictor for a version number, an alias, "latest" (the newest version) or a URI
    (models:/dctnet-anime/5, models:/dctnet-anime@realtime, registry:anime/int8-full; its style wins).

    `mode`: "full" (the full-image network) or "portrait" (the official face pipeline around it)."""
    from registry.artifacts import predictor_from_folder, read_manifest

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}. Received: mode={mode!r}")
    store = get_store(store)
    folder, mv = download_version(style, version_or_alias, store)
    manifest = read_manifest(folder)
    return LoadedVariant(keys.style_of(mv.name), int(mv.version), manifest["variant"], manifest, folder,
                         predictor_from_folder(folder, threads=threads, mode=mode), mode)
