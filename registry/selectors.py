"""Registered versions named by URI, in every command that names a version.

    models:/dctnet-anime/5          version 5 of the anime model       (MLflow's model URI)
    models:/dctnet-anime@realtime   the version the alias points at     (MLflow's model URI)
    models:/dctnet-anime/latest     the newest version                  (MLflow's model URI)
    registry:anime/int8-full        the newest version built from the catalogue entry int8-full

The older pair (--style anime, "5" / "realtime" / "latest") still works. `python -m registry fetch URI`
prints the version's variant folder: that is how `python -m evaluation run --variant URI` measures a
registered version without importing the registry (evaluation never imports mlflow, DESIGN.md).
"""

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from registry.keys import ENTRY as ENTRY_TAG, MODEL_PREFIX, VARIANT, short_hash

from models.variant_io import REGISTERED_SCHEMES as SCHEMES
FORMS = ("models:/dctnet-STYLE/VERSION, models:/dctnet-STYLE@ALIAS, models:/dctnet-STYLE/latest or "
         "registry:STYLE/ENTRY")
_MODELS = re.compile(r"models:/(?P<name>[\w.-]+?)(?:/(?P<version>\d+|latest)|@(?P<alias>[\w-]+))")
_REGISTRY = re.compile(r"registry:(?P<style>[\w-]+)/(?P<entry>[\w.-]+)")


def is_uri(text):
    return isinstance(text, str) and text.strip().startswith(SCHEMES)


@dataclass(frozen=True)
class Selector:
    """One registered version, as named: a version, an alias, a catalogue entry's newest, or the newest."""

    text: str
    model: str
    version: int | None = None
    alias: str | None = None
    entry: str | None = None
    latest: bool = False

    @property
    def style(self):
        return self.model[len(MODEL_PREFIX):] if self.model.startswith(MODEL_PREFIX) else self.model


def parse(text):
    """URI text -> Selector (ValueError naming the text and the accepted forms)."""
    text = (text or "").strip()
    m = _MODELS.fullmatch(text)
    if m:
        version = m["version"]
        return Selector(text, m["name"], version=int(version) if version and version != "latest" else None,
                        alias=m["alias"], latest=version == "latest")
    m = _REGISTRY.fullmatch(text)
    if m:
        return Selector(text, MODEL_PREFIX + m["style"], entry=m["entry"])
    raise ValueError(f"{text!r} is not a registered-version URI; use {FORMS}")


def selector(style, version_or_alias):
    """A Selector from a URI, or from the older pair (style, "5" / "realtime" / "@realtime" / "latest")."""
    text = str(version_or_alias).strip()
    if is_uri(text):
        return parse(text)
    model = MODEL_PREFIX + style
    if text == "latest":
        return Selector(f"models:/{model}/latest", model, latest=True)
    if text.isdigit():
        return Selector(f"models:/{model}/{text}", model, version=int(text))
    return Selector(f"models:/{model}@{text.lstrip('@')}", model, alias=text.lstrip("@"))


def model_versions(client, model):
    """A registered model's versions, oldest first (MlflowException when the model does not exist)."""
    return sorted(client.search_model_versions(f"name='{model}'"), key=lambda v: int(v.version))


def alias_map(client, model):
    """{version number: [aliases]}: search results carry no aliases, the registered model does."""
    out = {}
    for alias, version in (client.get_registered_model(model).aliases or {}).items():
        out.setdefault(int(version), []).append(alias)
    return out


def _listing(client, model):
    """'1 anime/original, 2 anime/int8-full @realtime, ...': what a user can name instead."""
    rows = model_versions(client, model)
    if not rows:
        return "none registered yet (python -m registry build --quick)"
    aliases = alias_map(client, model)
    return ", ".join(f"{v.version} {v.tags.get(VARIANT) or v.tags.get(ENTRY_TAG, '?')}"
                     + "".join(f" @{a}" for a in sorted(aliases.get(int(v.version), []))) for v in rows)


def resolve(sel, client):
    """The MLflow ModelVersion a Selector names; a one-line ValueError saying what exists otherwise."""
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(sel.model)
    except MlflowException:
        models = sorted(m.name for m in client.search_registered_models() if m.name.startswith(MODEL_PREFIX))
        raise ValueError(f"{sel.text}: no registered model {sel.model!r}; registered: "
                         f"{', '.join(models) or 'none (python -m registry build --quick)'}") from None
    try:
        if sel.version is not None:
            return client.get_model_version(sel.model, str(sel.version))
        if sel.alias is not None:
            return client.get_model_version_by_alias(sel.model, sel.alias)
    except MlflowException:
        what = f"version {sel.version}" if sel.version is not None else f"alias @{sel.alias}"
        raise ValueError(f"{sel.text}: {sel.model} has no {what}; versions: {_listing(client, sel.model)}") from None
    rows = model_versions(client, sel.model)
    found = [v for v in rows if sel.latest or v.tags.get(ENTRY_TAG) == sel.entry]
    if not found:
        entries = sorted({v.tags.get(ENTRY_TAG) for v in rows} - {None})
        raise ValueError(f"{sel.text}: {sel.model} has no version of entry {sel.entry!r}; entries: "
                         f"{', '.join(entries) or 'none registered yet (python -m registry build --quick)'}")
    return found[-1]


def fetch(mv, tracking_uri, cache_root):
    """The version's variant folder on local disk, cached under cache_root/<store>/<model>/<version>.

    Downloaded into a private folder and renamed into place when complete: two processes loading the
    same version at once never see each other's half-written files; the second rename loses and uses
    the first's copy."""
    import mlflow.artifacts

    from models.variant_io import MANIFEST

    store = short_hash(tracking_uri, 8)
    cache = Path(cache_root) / store / mv.name / str(mv.version)
    found = sorted(cache.glob(f"artifacts/*/{MANIFEST}"))  # the pyfunc's artifacts/<folder>/variant.json
    if found:
        return found[0].parent
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=cache.parent, prefix=f".{cache.name}.partial-"))
    try:
        mlflow.artifacts.download_artifacts(artifact_uri=mv.source, dst_path=str(tmp), tracking_uri=tracking_uri)
        if not sorted(tmp.glob(f"artifacts/*/{MANIFEST}")):
            raise FileNotFoundError(f"{mv.name} version {mv.version}: its model at {mv.source} holds no "
                                    "variant folder (not made by this lab's registry?)")
        if cache.exists() and not sorted(cache.glob(f"artifacts/*/{MANIFEST}")):
            shutil.rmtree(cache, ignore_errors=True)  # not a complete cache entry (an older layout)
        try:
            os.replace(tmp, cache)
        except OSError:  # another process put a complete copy there first
            pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return sorted(cache.glob(f"artifacts/*/{MANIFEST}"))[0].parent
