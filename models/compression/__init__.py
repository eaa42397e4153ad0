"""Compression methods, by name. Adding a method = one module here + one import line below.

Each method module calls `register(...)` at import; `METHODS` maps name -> method object with
`name`, `config_class` and `apply(source, config)`; the CLI, the generic tests, the registry's build
pipeline and the dashboard all enumerate it.
"""

METHODS = {}


def register(method):
    if method.name in METHODS:
        raise ValueError(f"compression method {method.name!r} is registered twice")
    METHODS[method.name] = method
    return method


def get_method(name):
    if name not in METHODS:
        raise ValueError(f"Unknown compression method {name!r}. Valid methods: {', '.join(sorted(METHODS))}")
    return METHODS[name]


# The method registry: one line per method module.
from models.compression import pruning  # noqa: E402,F401  prune
from models.compression import svd  # noqa: E402,F401  svd
from models.compression import export_methods  # noqa: E402,F401  tflite_fp32/fp16/int8_dynamic/int8_full
from models.compression import distillation  # noqa: E402,F401  distill
from models.compression import int8_mixed  # noqa: E402,F401  tflite_int8_mixed
