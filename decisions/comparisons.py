"""Evaluation records -> one comparison per variant on one machine at one input size.

Pure functions over the plain records of docs/contracts.md (no mlflow, no streamlit).
`compare(records)` folds the records of each (machine, variant, input size, mode) into a `Comparison`:
the variant's measured metrics plus ratios against the original measured on the SAME machine at the
SAME size (a speed-up is never computed across machines). The machine is `hardware_id`: a hash of the
record's env fields that name the machine (evaluation.environment.machine_id, the one machine identity),
so a Keras original and its LiteRT exports measured in one run share the machine.
"""

import math
from dataclasses import dataclass, field

from decisions.axes import AXIS
from decisions.scales import deployment_stars
from evaluation.environment import machine_id
from models.variant import TRAINING_LEVELS


def method_training():
    """{method part: training level}, as each method declares it beside its config (models.compression;
    importing that table loads Keras, the first time a record's method is judged)."""
    from models.compression import METHODS

    return {"original": "none", **{method_parts(name)[0]: m.training for name, m in METHODS.items()}}


def method_parts(method):
    """'prune+tflite_int8_full' -> ['prune', 'int8_full'] (the 'tflite_' prefix names the same method)."""
    if not isinstance(method, str) or not method.strip():
        raise ValueError(f"a record's method must be a non-empty string. Received: method={method!r}")
    parts = []
    for part in method.split("+"):
        part = part.strip().lower().replace("-", "_")
        parts.append(part[len("tflite_"):] if part.startswith("tflite_") else part)
    return parts


def training_level(method):
    """(level, notes): the costliest training step any part of the method needs."""
    levels, notes = [], []
    for part in method_parts(method):
        table = method_training()
        if part not in table:
            notes.append(f"unknown method {part!r}: training cost assumed 'fine-tune'")
        levels.append(table.get(part, "fine-tune"))
    return max(levels, key=TRAINING_LEVELS.index), notes


@dataclass
class Comparison:
    """One variant on one machine at one input size, with ratios against that machine's original."""

    variant: str
    style: str | None
    method: str
    precision: str
    runtime: str
    device: str
    env_id: str  # the producer's env_id of this variant's records
    size: int | None
    baseline: str | None  # variant name of the original it is compared with (None: no original measured)
    metrics: dict = field(default_factory=dict)
    base_metrics: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    hardware_id: str = ""  # the machine (evaluation.environment.machine_id); comparisons never cross it
    mode: str = "full"  # full | portrait; comparisons never cross it either

    @property
    def is_baseline(self):
        return self.baseline == self.variant

    def to_dict(self):
        return {k: getattr(self, k) for k in ("variant", "style", "method", "precision", "runtime", "device",
                                              "env_id", "hardware_id", "size", "mode", "baseline", "metrics",
                                              "base_metrics", "notes")}


def _latest(records):
    return max(records, key=lambda r: str(r.get("timestamp") or ""))


def _check_record(record, index):
    if not isinstance(record, dict):
        raise ValueError(f"record {index} must be a dict. Received: {type(record).__name__}")
    missing = [k for k in ("variant", "method", "group", "metrics") if k not in record]
    if missing:
        raise ValueError(f"record {index} lacks {', '.join(missing)} (see docs/contracts.md). "
                         f"Received keys: {sorted(record)}")
    if not isinstance((record.get("env") or {}).get("env_id"), str):
        raise ValueError(f"record {index} ({record['variant']!r}, {record['group']!r}) has no env.env_id: "
                         f"results without an environment cannot be compared. Received: env={record.get('env')!r}")


def _own_metrics(by_group, static):
    """The variant's measured values, flattened to the metric names of METRICS."""
    m = {}
    s = static.get("metrics", {}) if static else {}
    if s.get("file_bytes") is not None:
        m["file_mb"] = s["file_bytes"] / 1e6
    for key in ("params", "macs", "train_s"):
        if s.get(key) is not None:
            m[key] = s[key]
    lat = by_group.get("latency")
    if lat:
        lm = lat["metrics"]
        for key in ("p10_ms", "p50_ms", "p90_ms", "p99_ms", "mean_ms", "std_ms", "count"):
            if lm.get(key) is not None:
                m[key] = lm[key]
        if lm.get("p50_ms"):
            m["fps"] = 1000.0 / lm["p50_ms"]
    if by_group.get("throughput"):
        m["images_per_s"] = max(r["metrics"]["images_per_s"] for r in by_group["throughput"])
    mem = by_group.get("memory")
    if mem and mem["metrics"].get("peak_mb") is not None:
        m["memory_mb"] = mem["metrics"]["peak_mb"]
    q = by_group.get("quality")
    if q:
        qm = q["metrics"]
        for src, dst in (("psnr_mean", "psnr_db"), ("ssim_mean", "ssim"), ("lpips_mean", "lpips"),
                         ("psnr_worst", "psnr_worst_db")):
            if qm.get(src) is not None:
                m[dst] = qm[src]
            elif src.startswith("psnr") and src in qm:
                m[dst] = math.inf  # records store an infinite PSNR (identical output) as null
    fq = by_group.get("face_quality")
    if fq:
        fm = fq["metrics"]
        regions = ("eyes", "nose", "mouth")
        for src, dst, pick in (("psnr_mean", "face_psnr_db", min), ("ssim_mean", "face_ssim", min),
                               ("lpips_mean", "face_lpips", max)):
            values = [math.inf if fm[f"{r}_{src}"] is None else fm[f"{r}_{src}"]  # null PSNR: identical
                      for r in regions if f"{r}_{src}" in fm and (fm[f"{r}_{src}"] is not None or src == "psnr_mean")]
            if values:
                m[dst] = pick(values)  # the worst region
        if fm.get("identity_mean") is not None:
            m["face_identity"] = fm["identity_mean"]
    return m


def _declared_training(static, record):
    """Optional extension of the contract: a record's top-level `training` or static metric `training`
    (one of TRAINING_LEVELS) states the training actually done, overriding the guess from the method."""
    for value in ((static or {}).get("metrics", {}).get("training"), (static or {}).get("training"),
                  record.get("training")):
        if value is not None:
            if value not in TRAINING_LEVELS:
                raise ValueError(f"record {record['variant']!r}: training must be one of {TRAINING_LEVELS}. "
                                 f"Received: training={value!r}")
            return value
    return None


def _pick_baseline(candidates, style):
    originals = [c for c in candidates if c["method"] == "original" and c["style"] == style]
    # prefer the float32 TensorFlow original: the network the compressed variants were made from
    originals.sort(key=lambda c: (c["runtime"] != "keras-tensorflow", c["precision"] != "fp32", c["variant"]))
    return originals[0] if originals else None


def compare(records, baseline=None):
    """Fold records into Comparisons: one per (machine, variant, size), sorted by machine, size, variant.

    `baseline` names the variant to compare against; by default the style's `method == "original"` record
    (float32 Keras/TensorFlow preferred) on the same machine (`hardware_id`) and at the same size.
    """
    records = list(records)
    for i, r in enumerate(records):
        _check_record(r, i)
    static = {}  # variant -> {hardware_id: [static records]}; file size and params do not depend on the machine
    sized = {}  # (hardware_id, variant, size, mode) -> {group: [records]}
    for r in records:
        hw = machine_id(r["env"])
        if r["group"] == "static":
            static.setdefault(r["variant"], {}).setdefault(hw, []).append(r)
            continue
        if r.get("size") is None:
            continue  # a sized group without a size cannot be compared
        groups = sized.setdefault((hw, r["variant"], r["size"], r.get("mode") or "full"), {})
        groups.setdefault(r["group"], []).append(r)

    rows = []
    for (hw, name, size, mode), groups in sized.items():
        first = _latest([x for recs in groups.values() for x in recs])
        by_group = {g: (recs if g == "throughput" else _latest(recs)) for g, recs in groups.items()}
        per_env = static.get(name, {})
        st = _latest(per_env[hw]) if hw in per_env else (
            _latest([x for recs in per_env.values() for x in recs]) if per_env else None)
        rows.append({"variant": name, "style": first.get("style"), "method": first["method"],
                     "precision": first.get("precision") or "fp32", "runtime": first.get("runtime") or "unknown",
                     "device": first.get("device") or "cpu", "env_id": first["env"]["env_id"],
                     "hardware_id": hw, "size": size, "mode": mode,
                     "env": first.get("env") or {}, "metrics": _own_metrics(by_group, st),
                     "training": _declared_training(st, first),
                     "notes": sorted({n for recs in groups.values() for x in recs for n in (x.get("notes") or [])})})

    out = []
    for row in rows:
        # same machine, size and mode (the portrait pipeline is compared with the portrait original)
        peers = [c for c in rows if (c["hardware_id"], c["size"], c["mode"]) == (row["hardware_id"], row["size"],
                                                                                  row["mode"])]
        if baseline is not None:
            base = next((c for c in peers if c["variant"] == baseline), None)
        else:
            base = _pick_baseline(peers, row["style"])
        comp = Comparison(variant=row["variant"], style=row["style"], method=row["method"],
                          precision=row["precision"], runtime=row["runtime"], device=row["device"],
                          env_id=row["env_id"], size=row["size"], baseline=base["variant"] if base else None,
                          metrics=dict(row["metrics"]), base_metrics=dict(base["metrics"]) if base else {},
                          env=row["env"], notes=list(row["notes"]), hardware_id=row["hardware_id"],
                          mode=row["mode"])
        level, notes = training_level(comp.method)
        if row["training"] is not None:  # the producer knows better than the method name (e.g. prune, no fine-tune)
            level, notes = row["training"], []
        comp.metrics["training_level"] = TRAINING_LEVELS.index(level)
        comp.notes.extend(notes)
        if comp.is_baseline:
            # quality is measured against this very network: it keeps everything
            comp.metrics.update(psnr_db=math.inf, ssim=1.0, lpips=0.0)
        if base is None:
            comp.notes.append(f"no original measured on {comp.hardware_id} at {comp.size} px: no ratios")
        else:
            _add_ratios(comp)
        comp.metrics["deploy_stars"] = deployment_stars(comp.runtime, comp.precision)[0]
        out.append(comp)
    out.sort(key=lambda c: (c.hardware_id, c.size, not c.is_baseline, c.variant))
    return out


def _add_ratios(comp):
    m, b = comp.metrics, comp.base_metrics
    for axis in AXIS.values():
        if axis.ratio and m.get(axis.baseline) and b.get(axis.baseline):
            m[axis.ratio] = b[axis.baseline] / m[axis.baseline]


def as_comparisons(records_or_comparisons):
    items = list(records_or_comparisons)
    if items and all(isinstance(x, Comparison) for x in items):
        return items
    return compare(items)
