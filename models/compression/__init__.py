"""Compression methods, by name. Adding a method = one module here + one import line below.

Each method module calls `register(...)` at import; `METHODS` maps name -> method object with `name`,
`config_class`, `apply(source, config)` and the facts it declares beside its config (`training`,
`artifact`, `photos(config)`, path fields: see models.compression.base). The CLI, the generic tests, the
registry's build pipeline, the dashboard's Lab page and the ratings all read them from here.
"""

from models.variant import ARTIFACTS, TRAINING_LEVELS

METHODS = {}


def register(method):
    for fact, valid in (("training", TRAINING_LEVELS), ("artifact", ARTIFACTS)):
        if getattr(method, fact, None) not in valid:
            raise ValueError(f"compression method {method.name!r} must declare {fact} as one of {valid}. "
                             f"Received: {fact}={getattr(method, fact, None)!r}")
    if not callable(getattr(method, "photos", None)):
        raise ValueError(f"compression method {method.name!r} must declare photos(values)")
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
