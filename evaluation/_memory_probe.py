"""Isolated process for one peak-memory measurement (run by evaluation/memory.py, not by users).

    python -m evaluation._memory_probe --factory MODULE:FUNCTION --kwargs JSON --size N [--runs K]

Builds the predictor, makes a size x size input, then reads the baseline and the peak:
- CPU: resident memory. The kernel's high-water mark (VmHWM) is reset after loading (writing 5 to
  /proc/self/clear_refs), so the peak covers only the inference calls; without that file a thread
  samples VmRSS every millisecond instead (may miss very short spikes; `method` says which).
- GPU: the Keras backend's allocator statistics (TensorFlow memory_info peak, torch
  max_memory_allocated, JAX peak_bytes_in_use), above the bytes in use before the first call.
The first call is included on purpose: it is when a runtime plans its buffers.
Prints one JSON line: {"peak_mb", "baseline_mb", "method", "device", "runs"} (MiB).
"""

import argparse
import gc
import importlib
import json
import re
import sys
import threading
import time
from pathlib import Path

import numpy as np

MIB = 1024 * 1024
STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kb(field):
    match = re.search(rf"^{field}:\s+(\d+) kB", STATUS.read_text(), re.MULTILINE)
    return int(match.group(1)) if match else None


def reset_peak_rss():
    """Reset VmHWM to the current RSS; False when the kernel does not allow it."""
    try:
        CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return _status_kb("VmHWM") is not None and _status_kb("VmHWM") <= _status_kb("VmRSS") + 64


class RSSSampler(threading.Thread):
    def __init__(self, interval=0.001):
        super().__init__(daemon=True)
        self.interval, self.peak_kb, self.stop = interval, 0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.peak_kb = max(self.peak_kb, _status_kb("VmRSS") or 0)
            time.sleep(self.interval)


def cpu_peak(run, runs):
    gc.collect()
    baseline_kb = _status_kb("VmRSS")
    if reset_peak_rss():
        for _ in range(runs):
            run()
        return (_status_kb("VmHWM") - baseline_kb) * 1024 / MIB, baseline_kb * 1024 / MIB, \
            "cpu-rss-hwm (VmHWM above baseline, isolated process)"
    sampler = RSSSampler()
    sampler.start()
    for _ in range(runs):
        run()
    sampler.stop.set()
    sampler.join()
    return (sampler.peak_kb - baseline_kb) * 1024 / MIB, baseline_kb * 1024 / MIB, \
        "cpu-rss-sampled (1 ms VmRSS sampling above baseline, isolated process)"


def gpu_peak(run, runs, backend):
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.reset_memory_stats("GPU:0")
        base = tf.config.experimental.get_memory_info("GPU:0")["current"]
        for _ in range(runs):
            run()
        peak = tf.config.experimental.get_memory_info("GPU:0")["peak"]
    elif backend == "torch":
        import torch

        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        for _ in range(runs):
            run()
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated()
    elif backend == "jax":
        import jax

        device = jax.devices()[0]
        base = device.memory_stats()["bytes_in_use"]
        for _ in range(runs):
            run()
        peak = device.memory_stats()["peak_bytes_in_use"]
    else:
        raise ValueError(f"no GPU memory statistics for Keras backend {backend!r}")
    return (peak - base) / MIB, base / MIB, f"gpu-allocator-peak ({backend})"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m evaluation._memory_probe")
    parser.add_argument("--factory", required=True, help="MODULE:FUNCTION returning a predictor")
    parser.add_argument("--kwargs", default="{}", help="JSON keyword arguments for the factory")
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args(argv)
    module_name, _, func_name = args.factory.partition(":")
    factory = getattr(importlib.import_module(module_name), func_name)
    predictor = factory(**json.loads(args.kwargs))
    image = np.random.default_rng(0).integers(0, 256, (args.size, args.size, 3), dtype=np.uint8)
    device = getattr(predictor, "device", "cpu")

    def run():
        predictor.predict(image)

    if device == "gpu":
        peak, base, method = gpu_peak(run, args.runs, getattr(predictor, "backend", None))
    else:
        peak, base, method = cpu_peak(run, args.runs)
    print(json.dumps({"peak_mb": round(peak, 2), "baseline_mb": round(base, 2), "method": method,
                      "device": device, "runs": args.runs}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
