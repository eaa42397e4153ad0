"""Where the lab keeps what it generates: `$DCTNET_LAB_DATA`, or `<project>/lab_data` (git-ignored).

The registry's embedded store, training checkpoints, INT8 calibration caches and screenshots live under it.
"""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def lab_data_dir():
    return Path(os.environ.get("DCTNET_LAB_DATA") or PROJECT_ROOT / "lab_data")
