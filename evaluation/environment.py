"""The environment fingerprint stamped on every record, and the ONE machine identity read from it.

`fingerprint(...)` gathers the machine (MACHINE_FIELDS: CPU model, usable cores, GPU/driver/CUDA, OS,
Python, library versions read from package metadata so nothing heavy is imported, host name), the run
settings (RUN_FIELDS: threads, device, Keras backend, LiteRT delegate) and the code version (git commit,
"-dirty" when tracked files changed).

- `machine_id(env)`: "hw-" + a short hash of MACHINE_FIELDS. The records, the ratings (a Comparison's
  `hardware_id`), the registry ("evaluated on this machine?") and the dashboard all name a machine by
  it: a Keras original and its LiteRT exports measured in one run share it.
- `env_id`: a short hash of MACHINE_FIELDS plus the Keras backend (the producer's stack), NOT of the
  time, the commit or the per-variant settings (threads, delegate, device, recorded beside it).
"""

import hashlib
import json
import os
import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("keras", "tensorflow", "tensorflow-cpu", "jax", "jaxlib", "torch", "torchvision",
            "ai-edge-litert", "numpy", "opencv-python-headless", "scikit-image", "lpips")
# The machine and its software stack: the one field list behind machine_id and env_id.
MACHINE_FIELDS = ("cpu", "cores", "gpu", "os", "machine", "python", "packages", "hostname")
# How a variant was run: differs between variants measured side by side on one machine, so it is recorded
# beside the machine, never hashed into it (the Keras backend alone also goes into env_id).
RUN_FIELDS = ("threads", "device", "keras_backend", "delegate")
# Not hashed either: the code version (history must stay comparable across commits).
CODE_FIELDS = ("git_commit",)


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def usable_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def gpu_info():
    """Name, driver and CUDA version from nvidia-smi; None when there is no NVIDIA GPU."""
    if not shutil.which("nvidia-smi"):
        return None
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                              "--format=csv,noheader"], capture_output=True, text=True, timeout=20)
        header = subprocess.run(["nvidia-smi"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    lines = [ln.strip() for ln in out.stdout.splitlines() if ln.strip()]
    if out.returncode != 0 or not lines:
        return None
    name, driver, memory = [p.strip() for p in lines[0].split(",")][:3]
    cuda = None
    if "CUDA Version:" in header:
        cuda = header.split("CUDA Version:", 1)[1].split()[0]
    return {"name": name, "driver": driver, "cuda": cuda, "memory": memory, "count": len(lines)}


def package_versions():
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def git_commit(root=ROOT):
    """`git rev-parse HEAD` plus "-dirty" when tracked files changed; "unknown" without git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                              timeout=20)
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=20)
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def keras_backend():
    """The backend Keras will use, without importing Keras when it is not loaded yet."""
    import sys

    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend()
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    config = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "keras.json"
    try:
        return json.loads(config.read_text()).get("backend", "tensorflow")
    except (OSError, ValueError):
        return "tensorflow"


def _hash(fields):
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:8]


def machine_id(env):
    """'hw-' + a short hash of the env's MACHINE_FIELDS: the machine, whatever ran on it and how."""
    return "hw-" + _hash({k: env.get(k) for k in MACHINE_FIELDS})


def compute_env_id(env):
    """A short hash of the env's MACHINE_FIELDS and its Keras backend."""
    return _hash({k: env.get(k) for k in MACHINE_FIELDS + ("keras_backend",)})


def fingerprint(threads=None, delegate=None, backend=None, device="cpu"):
    """The environment of one run; `threads`/`delegate` describe how the variant was run."""
    uname = platform.uname()
    env = {
        "cpu": cpu_model(),
        "cores": usable_cores(),
        "threads": threads,
        "gpu": gpu_info(),
        "device": device,
        "os": f"{uname.system} {uname.release}",
        "machine": uname.machine,
        "python": platform.python_version(),
        "packages": package_versions(),
        "keras_backend": backend or keras_backend(),
        "delegate": delegate,
        "git_commit": git_commit(),
        "hostname": platform.node(),
    }
    env["env_id"] = compute_env_id(env)
    return env


def describe(env):
    """A few lines for docs and CLI output."""
    gpu = env.get("gpu")
    gpu_text = f"{gpu['name']} (driver {gpu['driver']}, CUDA {gpu['cuda']})" if gpu else "none"
    pk = env.get("packages", {})
    libs = ", ".join(f"{k} {v}" for k, v in sorted(pk.items()))
    return "\n".join([
        f"env_id {env['env_id']}: {env['cpu']}, {env['cores']} usable cores, threads {env['threads']}, "
        f"device {env.get('device', 'cpu')}, GPU {gpu_text}",
        f"{env['os']} {env['machine']}, Python {env['python']}, Keras backend {env['keras_backend']}, "
        f"LiteRT delegate {env['delegate']}, code {env['git_commit']}",
        f"libraries: {libs}",
    ])
