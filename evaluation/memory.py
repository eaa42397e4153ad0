"""Peak memory of one inference, measured in an isolated process (its own pass, never during timing).

A fresh `python -m evaluation._memory_probe` rebuilds the predictor from plain data (a factory name and
JSON keyword arguments, e.g. `evaluation.variants:build_predictor` with a VariantSpec's fields), so
nothing this process has allocated, cached or imported leaks into the figure.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class MemoryProbeError(RuntimeError):
    """The probe process failed; the message carries the end of its error output."""


def measure_peak_memory(factory, kwargs, size, runs=2, timeout=900):
    """-> {"peak_mb", "baseline_mb", "method", "device", "runs"} (MiB above the baseline)."""
    if not isinstance(size, int) or size < 16:
        raise ValueError(f"size must be an int >= 16. Received: size={size!r}")
    cmd = [sys.executable, "-m", "evaluation._memory_probe", "--factory", factory,
           "--kwargs", json.dumps(kwargs), "--size", str(size), "--runs", str(runs)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise MemoryProbeError(f"memory probe for {factory} at {size}px took longer than {timeout}s") from None
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise MemoryProbeError(f"memory probe for {factory} at {size}px failed (exit {proc.returncode}): "
                               f"{proc.stderr.strip()[-1500:]}")
    return json.loads(lines[-1])
