"""The dashboard's plain helpers against hand computations: votes -> Elo / MOS, the diff heatmap, the
slider, the records adapter (no Streamlit, no registry)."""

import math

import numpy as np
import pytest

from dashboard_pages.live import diff_heatmap
from models.fitting import shrink_to_serve
from dashboard_pages.slider import slider_html
from decisions.votes import elo, least_compared_pair, scores
from registry.votes import LocalVotes as VoteStore


def _vote(left, right, outcome):
    return {"left": left, "right": right, "outcome": outcome}


def test_one_win_between_equals_moves_elo_by_half_k():
    ratings = elo([_vote("a", "b", "left")])
    assert ratings == pytest.approx({"a": 1012.0, "b": 988.0})  # expected 0.5 each, K = 24


def test_tie_between_equals_changes_nothing_and_elo_sequence_matches_hand_values():
    assert elo([_vote("a", "b", "tie")]) == pytest.approx({"a": 1000.0, "b": 1000.0})
    # a beats b (1012 / 988), then b beats a: expected for b = 1 / (1 + 10^(24/400))
    eb = 1 / (1 + 10 ** ((1012 - 988) / 400))
    ratings = elo([_vote("a", "b", "left"), _vote("a", "b", "right")])
    assert ratings["b"] == pytest.approx(988 + 24 * (1 - eb))
    assert ratings["a"] + ratings["b"] == pytest.approx(2000.0)  # Elo is zero-sum


def test_mos_is_mean_of_win5_tie3_loss1():
    rows = {r["variant"]: r for r in scores([_vote("a", "b", "left"), _vote("b", "a", "tie"),
                                              _vote("c", "a", "right")])}
    assert rows["a"]["mos"] == pytest.approx((5 + 3 + 5) / 3)
    assert rows["b"]["mos"] == pytest.approx((1 + 3) / 2)
    assert rows["c"]["mos"] == pytest.approx(1.0)
    assert (rows["a"]["wins"], rows["a"]["ties"], rows["a"]["losses"]) == (2, 1, 0)


def test_vote_store_round_trip_and_rejects_bad_votes(tmp_path):
    store = VoteStore(tmp_path / "votes.sqlite")
    store.add("anime", "x.jpg", "v1 original", "v3 fp16", "tie")
    store.add("3d", "x.jpg", "v1 original", "v2 fp32", "left")
    assert [v["outcome"] for v in store.votes("anime")] == ["tie"]
    assert len(store.votes()) == 2
    with pytest.raises(ValueError, match="outcome=.*'better'"):
        store.add("anime", "x.jpg", "a", "b", "better")
    with pytest.raises(ValueError, match="two different variants"):
        store.add("anime", "x.jpg", "a", "a", "left")


def test_next_pair_is_one_never_voted_on():
    rng = np.random.default_rng(0)
    votes = [_vote("a", "b", "left"), _vote("b", "a", "tie"), _vote("a", "c", "left")]
    for _ in range(10):
        assert set(least_compared_pair(["a", "b", "c"], votes, rng)) == {"b", "c"}


def test_diff_heatmap_is_zero_for_equal_images_and_saturates_at_full_scale():
    import cv2

    a = np.full((20, 30, 3), 100, np.uint8)
    b = a.copy()
    b[:, 15:] += 64  # mean |diff| 64 on the right half: full scale
    heat = diff_heatmap(a, b)
    cold = cv2.applyColorMap(np.zeros((1, 1), np.uint8), cv2.COLORMAP_INFERNO)[0, 0, ::-1]
    hot = cv2.applyColorMap(np.full((1, 1), 255, np.uint8), cv2.COLORMAP_INFERNO)[0, 0, ::-1]
    assert (heat[:, :15] == cold).all() and (heat[:, 15:] == hot).all()
    with pytest.raises(ValueError, match="one shape"):
        diff_heatmap(a, a[:10])


def test_fit_photo_shrinks_short_side_only_when_larger():
    photo = np.zeros((600, 900, 3), np.uint8)
    assert shrink_to_serve(photo, 512).shape == (512, 768, 3)
    assert shrink_to_serve(photo, 720) is photo


def test_slider_escapes_labels_and_needs_equal_shapes():
    a = np.zeros((10, 20, 3), np.uint8)
    html = slider_html(a, a, "<b>orig</b>", "v2", width=200)
    assert "&lt;b>orig" in html and html.count("data:image/jpeg;base64,") == 2
    assert "aspect-ratio:20/10" in html  # keeps the photo's aspect ratio
    with pytest.raises(ValueError, match="one shape"):
        slider_html(a, a[:5], "a", "b")


class _ColdFirst:
    """A fake predictor: the first call at a new input shape takes `cold` s (LiteRT's re-allocation),
    later calls `warm` s; it logs the order of calls."""

    runtime, precision = "fake", "fp32"

    def __init__(self, name, log, cold=0.12, warm=0.02):
        self.name, self.log, self.cold, self.warm, self.shape = name, log, cold, warm, None
        self.label, self.variant = f"v1 {name}", f"anime/{name}"

    def predict(self, photo):
        import time

        time.sleep(self.cold if photo.shape != self.shape else self.warm)
        self.shape = photo.shape
        self.log.append(self.name)
        return photo


def _live(name, log, **kw):
    from dashboard_pages.live import Live

    return Live(_ColdFirst(name, log, **kw))  # stands in for a registry.aliasing.LoadedVariant


def test_live_timing_warms_up_untimed_then_takes_the_median_of_interleaved_calls():
    from dashboard_pages.live import measure

    log = []
    a, b = _live("a", log), _live("b", log, warm=0.04)
    photo = np.zeros((64, 48, 3), np.uint8)
    (_, ta), (_, tb) = measure(photo, [a, b], runs=3)
    assert log == ["a", "b"] + ["a", "b"] * 3  # one warm-up each, then round-robin timed rounds
    assert ta.runs == tb.runs == 3 and ta.cold and tb.cold
    assert ta.first_ms >= 110 and ta.median_ms == pytest.approx(20, abs=8)  # the cold call is kept apart
    assert tb.median_ms == pytest.approx(40, abs=8)
    (_, again), = measure(photo, [a], runs=2)  # same shape again: already warm
    assert not again.cold and again.first_ms < 60


def test_a_timed_call_after_another_shape_rewarms_first():
    log = []
    a = _live("a", log)
    small, big = np.zeros((32, 32, 3), np.uint8), np.zeros((64, 64, 3), np.uint8)
    a.run(small)
    a.run(big)  # another session used another shape
    _, ms = a.run(small, warm=True)  # re-warms (untimed) at the small shape, then times a warm call
    assert ms < 60 and log == ["a"] * 4


def test_speedup_range_and_agreement_with_the_overview():
    from dashboard_pages.live import Timing, agrees, ratio_range

    ref = Timing(100.0, (90.0, 100.0, 110.0), 300.0, True)
    var = Timing(40.0, (38.0, 40.0, 45.0), 200.0, True)
    low, high = ratio_range(ref, var)
    assert low == pytest.approx(90 / 45) and high == pytest.approx(110 / 38)
    assert agrees((2.6, (2.5, 2.7)), low, high) and not agrees((1.2, (1.1, 1.3)), low, high)
    assert agrees((3.0, (2.8, 3.2)), low, high)  # outside the range, inside the Overview's own range
    assert not agrees((3.3, (3.0, 3.6)), low, high)
