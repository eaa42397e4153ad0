"""Drive the Streamlit app with AppTest (no browser) against a registry quick-built once per session.

The registry (original, LiteRT FP16, LiteRT dynamic-range INT8; quick profile, 128 px) is built into a
temporary store by `dashboard_registry` (tests/dashboard_fixtures.py); every page must render
without an exception, show its key elements, and an uploaded photo must produce outputs whose metrics
match an independent computation.
"""

import io
import sqlite3

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, psnr_uint8

TIMEOUT = 300  # first run imports TensorFlow, loads weights and LPIPS on a shared 2-core CPU


def _app():
    return AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=TIMEOUT)


def _page(name):
    at = _app()
    at.switch_page(f"dashboard_pages/{name}.py")
    return at.run()


def _png(array):
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def _no_exception(at):
    assert not at.exception, [e.message for e in at.exception]


# -- the lead's first page ---------------------------------------------------------------------------------

def test_cartoonize_page_with_sample(dashboard_registry):
    at = _page("cartoonize")
    _no_exception(at)
    assert at.title[0].value == "Cartoonize a photo"
    assert len(at.get("imgs")) >= 1 or at.get("image")  # original and cartoon rendered


def test_bad_upload_shows_message_and_app_keeps_working(dashboard_registry):
    at = _page("cartoonize")
    at.radio(key="photo_source").set_value("Upload").run()
    _no_exception(at)
    at.get("file_uploader")[0].set_value(("broken.png", b"garbage bytes", "image/png")).run()
    _no_exception(at)
    assert any("not an image" in e.value for e in at.error)


# -- first run -----------------------------------------------------------------------------------------------

def test_empty_registry_shows_first_run_screen(empty_registry):
    at = _app().run()  # the default page is Overview
    _no_exception(at)
    assert any("registry is empty" in h.value for h in at.header)
    assert at.button(key="first_run_build").label == "Build the quick default registry"


# -- every page against the quick registry ----------------------------------------------------------------------

def test_overview_shows_stars_why_and_charts(dashboard_registry):
    at = _app().run()  # Overview is the default page
    _no_exception(at)
    assert at.title[0].value.startswith("Overview")
    table = at.dataframe[0].value
    assert set(table["variant"]) == {"anime/original", "anime/fp16", "anime/int8-dynamic"}
    # LiteRT variants are rated against the Keras original of the same machine: FP16 halves the file
    fp16 = table[table["variant"] == "anime/fp16"].iloc[0]
    assert fp16["size"].count("★") >= 2, fp16.to_dict()
    assert any("Why anime/" in e.label for e in at.expander)
    assert len(at.get("plotly_chart")) == 3  # scatter with Pareto front, radar, latency vs resolution


def test_compare_upload_produces_outputs_matching_independent_metrics(dashboard_registry):
    from dashboard_pages.live import load
    from models.fitting import shrink_to_serve
    from models.samples import load_sample

    at = _page("compare")
    _no_exception(at)
    at.select_slider(key="compare_size").set_value(256)
    at.radio(key="compare_source").set_value("Upload").run()
    photo = load_sample("face_crop.jpg")
    at.file_uploader(key="compare_upload").set_value(("me.png", _png(photo), "image/png"))
    versions = dashboard_registry["versions"]
    at.multiselect(key="compare_variants").set_value([versions["fp16"], versions["int8-dynamic"]]).run()
    _no_exception(at)
    assert not at.error, [e.value for e in at.error]
    # photo + original + 2 variants in the grid, + the diff heatmap
    assert len(at.get("imgs")) >= 5 or len(at.image) >= 5
    frame = at.dataframe[0].value.set_index("variant")
    assert list(frame["photo"].unique()) == ["me.png"]
    assert np.isinf(frame.loc["anime/original", "psnr_db"])
    assert (frame["latency_ms"] > 0).all()
    # independent check: run the FP16 version ourselves and compute PSNR with NumPy
    work = shrink_to_serve(photo, 256)
    ref, _ = load("anime", versions["original"]).run(work)
    out, _ = load("anime", versions["fp16"]).run(work)
    assert frame.loc["anime/fp16", "psnr_db"] == pytest.approx(psnr_uint8(out, ref), abs=0.01)
    assert frame.loc["anime/fp16", "psnr_db"] > 35  # FP16 weights barely change the cartoon
    assert at.get("download_button")


def test_compare_bad_uploads_are_reported_and_good_ones_still_run(dashboard_registry):
    at = _page("compare")
    at.select_slider(key="compare_size").set_value(256)
    at.radio(key="compare_source").set_value("Upload").run()
    good = np.asarray(Image.fromarray(np.full((64, 80, 3), 200, np.uint8)))
    truncated = _png(good)[:60]
    tiny = _png(np.zeros((8, 8, 3), np.uint8))
    grey16 = io.BytesIO()
    Image.fromarray((np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16)).save(grey16, format="PNG")
    at.file_uploader(key="compare_upload").set_value([
        ("notes.png", b"this is not an image", "image/png"), ("cut.png", truncated, "image/png"),
        ("tiny.png", tiny, "image/png"), ("grey16.png", grey16.getvalue(), "image/png")])
    at.multiselect(key="compare_variants").set_value([dashboard_registry["versions"]["fp16"]]).run()
    _no_exception(at)
    errors = " ".join(e.value for e in at.error)
    assert "notes.png is not an image" in errors
    assert "cut.png" in errors and "tiny.png" in errors
    frame = at.dataframe[0].value
    assert list(frame["photo"].unique()) == ["grey16.png"]  # the odd-mode photo was converted and ran


def test_recommend_ranks_and_sets_alias(dashboard_registry):
    import registry

    at = _page("recommend")
    _no_exception(at)
    at.selectbox(key="rec_scenario").set_value("no-training-change").run()
    _no_exception(at)
    assert at.subheader[0].value == "Ranking"
    ranked = at.dataframe[0].value
    assert len(ranked) >= 1 and ranked["rank"].iloc[0] == 1
    winner_version = int(ranked["version"].iloc[0])
    at.text_input(key="rec_alias_no-training-change").set_value("notrain").run()
    at.button(key="rec_set_alias").click().run()
    _no_exception(at)
    assert any("@notrain" in s.value for s in at.success)
    table = registry.aliases("anime", store=dashboard_registry["store"])
    assert table[table["alias"] == "notrain"]["version"].tolist() == [winner_version]


def test_recommend_bad_constraint_shows_error(dashboard_registry):
    at = _page("recommend")
    at.text_area(key="rec_extra").set_value("speed >> 3").run()
    _no_exception(at)
    assert at.error and "Unknown constraint metric 'speed'" in at.error[0].value


def test_history_shows_runs_regressions_and_side_by_side(dashboard_registry):
    at = _page("history")
    _no_exception(at)
    assert [s.value for s in at.subheader] == ["Flagged regressions", "Trends", "Two runs side by side"]
    assert at.get("plotly_chart")
    side = at.dataframe[-1].value
    assert {"A", "B", "B - A"} <= set(side.columns) and len(side) > 5


def test_lab_lists_methods_and_rejects_bad_parameters(dashboard_registry):
    from models.compression import METHODS

    at = _page("lab")
    _no_exception(at)
    assert set(at.selectbox(key="lab_method").options) == set(METHODS)
    at.selectbox(key="lab_method").set_value("prune").run()
    at.number_input(key="lab_cfg_prune_ratio").set_value(1.5).run()
    _no_exception(at)
    assert at.error and "ratio" in at.error[0].value and "1.5" in at.error[0].value
    assert not at.button  # nothing can start with invalid parameters


def test_blind_rating_stores_vote_and_scores_it(dashboard_registry):
    at = _page("blind")
    _no_exception(at)
    assert len(at.get("imgs")) >= 2 or len(at.image) >= 2
    at.button(key="vote_a").click().run()
    _no_exception(at)
    assert "A was" in at.success[0].value
    with sqlite3.connect(dashboard_registry["data"] / "votes.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM votes WHERE outcome = 'left'").fetchone()[0] >= 1
    scores = at.dataframe[0].value
    assert scores["elo"].max() > 1000 > scores["elo"].min()


# -- the quality-vs-MACs chart over trained variants ---------------------------------------------------------

def test_overview_family_chart_draws_each_family_through_its_best_points(trained_registry):
    import json

    import registry
    from decisions.comparisons import compare
    from decisions.pareto import best_at_their_cost

    at = _app().run()
    _no_exception(at)
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    (family,) = [c for c in charts if any(t.get("name", "").startswith("distill") for t in c["data"])]
    drawn = {}
    for trace in family["data"]:
        for name in trace.get("text") or ():
            drawn[name] = trace["name"]
    # independent of the page: the records' PSNR and MACs, the line by hand from best_at_their_cost
    records = registry.records("anime", store=trained_registry["store"])
    comps = [c for c in compare(records) if c.size == 128 and c.mode == "full"]
    base = next(c.metrics["macs"] for c in comps if c.is_baseline)
    students = [c for c in comps if c.method.startswith("distill")]
    best = best_at_their_cost([(base / c.metrics["macs"], c.metrics["psnr_db"]) for c in students])
    for i, c in enumerate(students):
        assert drawn[c.variant] == ("distill" if i in best else "distill (beaten at its cost)"), drawn
    assert len(best) < len(students), "no student beaten here: the test would not see the open circles"
    assert drawn["anime/prune-i625"] == "prune", drawn
