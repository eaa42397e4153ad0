"""Evaluation records: the plain dicts every number in the dashboard comes from (docs/contracts.md).

One record per variant x size x metric group. `make_record` fills and checks one; `validate_record`
names the first field that breaks the contract; `save_records` writes a JSON list atomically (temp
file + rename, so a crash never leaves half a file); `load_records` reads and validates one back.
Non-finite floats (PSNR of identical images is +inf) are not JSON: they are stored as null with a note.
"""

import datetime as _dt
import json
import math
import os
import tempfile
from pathlib import Path

RECORD_VERSION = 1
RUNTIMES = ("litert", "keras-tensorflow", "keras-jax", "keras-torch")
PRECISIONS = ("fp32", "fp16", "int8-dynamic", "int8-full", "mixed-fp16")
DEVICES = ("cpu", "gpu")
MODES = ("full", "portrait")
GROUPS = ("static", "latency", "throughput", "memory", "quality", "face_quality", "stages")
REQUIRED_METRICS = {
    "static": ("file_bytes", "params", "macs"),
    "latency": ("p50_ms", "p90_ms", "p99_ms", "mean_ms", "std_ms", "count", "threads"),
    "throughput": ("batch", "images_per_s"),
    "memory": ("peak_mb", "method"),
    "quality": ("psnr_mean", "psnr_median", "psnr_worst", "ssim_mean", "ssim_median", "ssim_worst",
                "images"),
    "face_quality": ("images",),
    "stages": (),
}
FIELDS = ("record_version", "variant", "style", "method", "parent", "runtime", "precision", "device",
          "mode", "size", "group", "metrics", "per_image", "env", "timestamp", "notes")


class RecordError(ValueError):
    """A record does not follow docs/contracts.md; the message names the field and the value."""


def utc_now():
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _plain(value):
    """NumPy scalars -> Python, non-finite floats -> None (JSON has no inf/nan)."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def make_record(*, variant, style, method, parent, runtime, precision, device, mode, size, group,
                metrics, env, per_image=None, notes=(), timestamp=None, **extra):
    """Build and validate one record; `extra` keys are allowed (the contract may grow, never shrink)."""
    record = {
        "record_version": RECORD_VERSION, "variant": variant, "style": style, "method": method,
        "parent": parent, "runtime": runtime, "precision": precision, "device": device, "mode": mode,
        "size": size, "group": group, "metrics": _plain(dict(metrics)),
        "per_image": _plain(per_image) if per_image is not None else None,
        "env": _plain(dict(env)), "timestamp": timestamp or utc_now(), "notes": list(notes),
    }
    record.update(_plain(extra))
    return validate_record(record)


def _check(condition, field, value, expectation):
    if not condition:
        raise RecordError(f"record field {field} {expectation}. Received: {field}={value!r}")


def validate_record(record):
    _check(isinstance(record, dict), "record", type(record).__name__, "must be a dict")
    missing = [f for f in FIELDS if f not in record]
    _check(not missing, "record", sorted(record), f"is missing the fields {missing}")
    _check(record["record_version"] == RECORD_VERSION, "record_version", record["record_version"],
           f"must be {RECORD_VERSION}")
    for field in ("variant", "style", "method"):
        _check(isinstance(record[field], str) and record[field], field, record[field],
               "must be a non-empty string")
    _check(record["parent"] is None or isinstance(record["parent"], str), "parent", record["parent"],
           "must be a variant name or null")
    for field, allowed in (("runtime", RUNTIMES), ("precision", PRECISIONS), ("device", DEVICES),
                           ("mode", MODES), ("group", GROUPS)):
        _check(record[field] in allowed, field, record[field], f"must be one of {allowed}")
    size = record["size"]
    _check(size is None or (isinstance(size, int) and not isinstance(size, bool) and size > 0), "size",
           size, "must be a positive int or null")
    metrics = record["metrics"]
    _check(isinstance(metrics, dict), "metrics", metrics, "must be a dict")
    lacking = [k for k in REQUIRED_METRICS[record["group"]] if k not in metrics]
    _check(not lacking, "metrics", sorted(metrics), f"of group {record['group']!r} lacks {lacking}")
    _check(record["per_image"] is None or isinstance(record["per_image"], list), "per_image",
           record["per_image"], "must be a list or null")
    env = record["env"]
    _check(isinstance(env, dict) and isinstance(env.get("env_id"), str), "env", env,
           "must be a dict with an env_id string")
    _check(isinstance(record["notes"], list), "notes", record["notes"], "must be a list of strings")
    json.dumps(record, allow_nan=False)  # raises ValueError on anything JSON cannot hold
    return record


def save_records(records, path):
    """Validate all, then write a JSON list atomically; returns the path."""
    records = [validate_record(r) for r in records]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(records, f, indent=1, allow_nan=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_records(path):
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise RecordError(f"records file not found: {path}") from None
    except json.JSONDecodeError as exc:
        raise RecordError(f"{path} is not a JSON records file ({exc})") from None
    _check(isinstance(data, list), "records file", str(path), "must hold a JSON list of records")
    return [validate_record(r) for r in data]
