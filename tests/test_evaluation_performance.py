"""Latency/throughput loops measured against a fake predictor whose time is known."""

import time

import numpy as np
import pytest

from evaluation.performance import TimingConfig, latency_stats, measure_latency, measure_throughput
from models.fitting import square_input

SLEEP_S = 0.1  # long enough that scheduler wake-up delays on a busy 2-core machine stay << 5%


def test_latency_of_a_known_sleep_is_measured_within_5_percent():
    calls = []

    def fake_predict():
        calls.append(1)
        time.sleep(SLEEP_S)

    stats = measure_latency(fake_predict, TimingConfig(warmup=2, min_runs=10))
    assert stats["count"] == 10 and len(calls) == 12  # warm-up calls are not timed
    assert stats["p50_ms"] == pytest.approx(SLEEP_S * 1000, rel=0.05)
    assert stats["mean_ms"] == pytest.approx(SLEEP_S * 1000, rel=0.10)  # one preempted run moves the mean
    assert stats["p50_ms"] <= stats["p90_ms"] <= stats["p99_ms"]


def test_minimum_time_keeps_timing_past_the_minimum_count():
    stats = measure_latency(lambda: time.sleep(0.01), TimingConfig(warmup=0, min_runs=2, min_time_s=0.2))
    assert stats["count"] >= 15


def test_throughput_of_a_known_batch_time():
    tp = measure_throughput(lambda: time.sleep(SLEEP_S), batch=4, config=TimingConfig(warmup=1, min_runs=5))
    assert tp["p50_batch_ms"] == pytest.approx(SLEEP_S * 1000, rel=0.05)
    assert tp["images_per_s"] == pytest.approx(4 / SLEEP_S, rel=0.05)
    assert tp["batch"] == 4


def test_latency_stats_match_numpy():
    seconds = np.array([0.010, 0.012, 0.011, 0.030, 0.009])
    s = latency_stats(seconds)
    ms = seconds * 1000
    assert s["p50_ms"] == pytest.approx(np.median(ms))
    assert s["p90_ms"] == pytest.approx(np.percentile(ms, 90))
    assert s["p99_ms"] == pytest.approx(np.percentile(ms, 99))
    assert s["std_ms"] == pytest.approx(np.std(ms, ddof=1))
    assert s["count"] == 5


@pytest.mark.parametrize("kwargs, match", [({"min_runs": 0}, "min_runs=0"), ({"warmup": -1}, "warmup=-1"),
                                           ({"min_runs": 5, "max_runs": 3}, "max_runs=3")])
def test_timing_config_names_the_bad_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TimingConfig(**kwargs)


def test_square_input_centre_crops_then_resizes(rng):
    photo = rng.integers(0, 256, (100, 160, 3), dtype=np.uint8)
    same = square_input(photo, 100)
    assert np.array_equal(same, photo[:, 30:130])
    assert square_input(photo, 64).shape == (64, 64, 3) and square_input(photo, 128).dtype == np.uint8
