"""Speed and size of a predictor, measured the same way for every variant.

Latency: warm up (first calls build graphs, plan memory, fill caches), then time single calls with
`time.perf_counter` until both a minimum count and a minimum time are reached (capped by a maximum
count); report p50/p90/p99, mean, std and the count. Predictors return NumPy arrays, so a GPU
computation has finished (synchronised) when the call returns.
Throughput: images per second for a batch size (batch / median call time), from the same
warm-up-then-measure loop.
Static: file bytes, parameters and MACs at a stated resolution, read off the model itself.
Memory is measured in its own pass (evaluation/memory.py): a probe perturbs timings.
"""

import time
from dataclasses import dataclass

import numpy as np

from models.validation import require


@dataclass(frozen=True)
class TimingConfig:
    warmup: int = 2
    min_runs: int = 10
    min_time_s: float = 0.0
    max_runs: int = 1000

    def __post_init__(self):
        require(isinstance(self.warmup, int) and self.warmup >= 0, "warmup", self.warmup, "must be an int >= 0")
        require(isinstance(self.min_runs, int) and self.min_runs >= 1, "min_runs", self.min_runs,
                "must be an int >= 1")
        require(isinstance(self.min_time_s, (int, float)) and self.min_time_s >= 0, "min_time_s",
                self.min_time_s, "must be a number >= 0")
        require(isinstance(self.max_runs, int) and self.max_runs >= self.min_runs, "max_runs",
                self.max_runs, f"must be an int >= min_runs ({self.min_runs})")


def _timed_runs(fn, config, progress=None):
    for _ in range(config.warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < config.max_runs and (len(times) < config.min_runs
                                            or time.perf_counter() - start < config.min_time_s):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if progress is not None:
            progress()
    return np.asarray(times, dtype=np.float64)


def latency_stats(seconds):
    """Per-call times in seconds -> the latency metric keys of the record contract (ms)."""
    ms = np.asarray(seconds, dtype=np.float64) * 1000.0
    if ms.size == 0:
        raise ValueError("latency_stats needs at least one timing")
    return {"p10_ms": float(np.percentile(ms, 10)), "p50_ms": float(np.percentile(ms, 50)),
            "p90_ms": float(np.percentile(ms, 90)), "p99_ms": float(np.percentile(ms, 99)), "mean_ms": float(ms.mean()),
            "std_ms": float(ms.std(ddof=1)) if ms.size > 1 else 0.0, "count": int(ms.size)}


def measure_latency(fn, config=TimingConfig(), progress=None):
    """Latency of `fn()` (no arguments; close over the input) after warm-up."""
    return latency_stats(_timed_runs(fn, config, progress))


def measure_throughput(fn, batch, config=TimingConfig(), progress=None):
    """Images per second of `fn()` that processes `batch` images per call."""
    require(isinstance(batch, int) and batch >= 1, "batch", batch, "must be an int >= 1")
    times = _timed_runs(fn, config, progress)
    # from the median call: on shared machines one preempted call should not move the figure
    return {"batch": batch, "images_per_s": float(batch / np.median(times)), "count": int(times.size),
            "p50_batch_ms": float(np.median(times) * 1000.0), "mean_batch_ms": float(times.mean() * 1000.0)}
