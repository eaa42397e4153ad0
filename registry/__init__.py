"""The lab's MLflow model registry: the only package that imports mlflow.

Public API (signatures and tables documented in docs/registry.md):
- build(...)                       catalogue -> compress -> evaluate -> register (registry.pipeline)
- versions / latest_metrics / history / regressions / aliases / records   read-back tables (registry.queries)
- set_alias / load_predictor       aliases and ready predictors (registry.aliasing)
- Store                            the embedded SQLite store or a team's mlflow server (registry.store)
Imports are lazy so `import registry` stays cheap.
"""

_EXPORTS = {
    "build": "registry.pipeline", "BuildOptions": "registry.pipeline",
    "versions": "registry.queries", "latest_metrics": "registry.queries", "history": "registry.queries",
    "regressions": "registry.queries", "aliases": "registry.queries", "records": "registry.queries",
    "resolve_version": "registry.queries",
    "set_alias": "registry.aliasing", "load_predictor": "registry.aliasing",
    "set_from_recommendations": "registry.aliasing",
    "Store": "registry.store", "get_store": "registry.store",
    "DEFAULT_CATALOGUE": "registry.catalogue",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'registry' has no attribute {name!r}")
