"""The isolated memory probe sees a known allocation."""

import numpy as np
import pytest

from evaluation.memory import MemoryProbeError, measure_peak_memory

ALLOC_MB = 200


class AllocatingPredictor:
    """Touches `mb` MiB (np.ones writes every page) during predict, then frees it."""

    device = "cpu"

    def __init__(self, mb):
        self.mb = mb

    def predict(self, image):
        block = np.ones(self.mb * 1024 * 1024 // 8)
        return image if block.sum() == block.size else None


def allocating_predictor(mb):
    return AllocatingPredictor(mb)


def test_memory_probe_sees_a_known_allocation():
    result = measure_peak_memory("tests.test_evaluation_memory:allocating_predictor", {"mb": ALLOC_MB}, 64)
    assert result["peak_mb"] == pytest.approx(ALLOC_MB, rel=0.05)
    assert result["device"] == "cpu" and "isolated process" in result["method"]


def test_memory_probe_of_nothing_is_near_zero():
    result = measure_peak_memory("tests.test_evaluation_memory:allocating_predictor", {"mb": 0}, 64)
    assert result["peak_mb"] < 5


def test_a_failing_probe_says_why():
    with pytest.raises(MemoryProbeError, match="no_such_function"):
        measure_peak_memory("tests.test_evaluation_memory:no_such_function", {}, 64)
