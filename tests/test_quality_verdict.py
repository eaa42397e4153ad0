"""The quality verdict reads the weaker of the full image and the face (docs/decisions.md): a variant that
keeps its full-image metrics but breaks the face gets fewer quality stars, fails floors, and the "why"
says the face decided. Records with chosen numbers first, then a real pipeline run on real photos."""

import dataclasses
import math

import numpy as np
import pytest

from decisions.comparisons import compare
from decisions.ratings import explain, rate
from decisions.recommend import recommend
from decisions.scenarios import Constraint, get_scenario
from tests.test_ratings import original, variant_records

GOOD = dict(file_bytes=1.5e6, p50=400.0, psnr=36.0, ssim=0.97, lpips=0.03)  # 4* on every full-image scale
# the S0 student: "24.5 dB / LPIPS 0.19 overall with eyes SSIM 0.62 because it left the face photographic";
# here the full image is kept at 4* and only the face breaks
BROKEN_FACE = {"eyes": {"psnr_mean": 21.0, "ssim_mean": 0.62, "lpips_mean": 0.30, "identity_mean": 0.45},
               "nose": {"psnr_mean": 33.0, "ssim_mean": 0.95}, "mouth": {"psnr_mean": 30.0, "ssim_mean": 0.93}}
KEPT_FACE = {"eyes": {"psnr_mean": 37.0, "ssim_mean": 0.975}, "nose": {"psnr_mean": 38.0, "ssim_mean": 0.98},
             "mouth": {"psnr_mean": 37.5, "ssim_mean": 0.975}}


def _comp(face, name="anime/student"):
    recs = original() + variant_records(name, "distill", **GOOD, face=face)
    if face is not None and "identity_mean" in face.get("eyes", {}):  # identity is a per-face, not per-region, key
        for r in recs:
            if r["group"] == "face_quality":
                r["metrics"]["identity_mean"] = r["metrics"].pop("eyes_identity_mean")
    return next(c for c in compare(recs) if c.variant == name), recs


def test_a_variant_that_keeps_the_full_image_but_breaks_the_face_gets_fewer_quality_stars():
    full_only, _ = _comp(None)
    kept, _ = _comp(KEPT_FACE)
    broken, _ = _comp(BROKEN_FACE)
    assert rate(full_only)["quality"].stars == 4 and rate(kept)["quality"].stars == 4
    assert rate(broken)["quality"].stars == 1  # eyes SSIM 0.62 < 0.85: 1 star, whatever the full image says
    assert broken.metrics["face_ssim"] == 0.62 and broken.metrics["face_identity"] == 0.45
    why = explain(broken, "quality")
    assert "the face decides" in why and "face-region SSIM (worst region) 0.620" in why
    assert "the full image alone would give 4*" in why
    assert "face identity (embedding distance) 0.450" in why
    assert "the full image and the face agree at 4*" in explain(kept, "quality")
    assert "face regions not measured" in explain(full_only, "quality")


def test_floors_read_the_weaker_of_full_image_and_face_and_say_so():
    broken, _ = _comp(BROKEN_FACE)
    ok, why = Constraint("psnr_db", ">=", 25.0).check(broken)
    assert not ok and why == ("fails psnr_db >= 25.0: measured 21 in the worst face region (face_psnr_db; "
                              "full image 36)")
    ok, why = Constraint("lpips", "<=", 0.2).check(broken)
    assert not ok and "0.3 in the worst face region (face_lpips" in why
    kept, _ = _comp(KEPT_FACE)
    assert Constraint("psnr_db", ">=", 35.0).check(kept) == (True, "")  # both sides pass
    full_only, _ = _comp(None)
    assert Constraint("psnr_db", ">=", 35.0).check(full_only) == (True, "")  # no face measured: full image


def test_recommendations_exclude_and_rank_by_the_face_too():
    _, recs = _comp(BROKEN_FACE)
    recs += variant_records("anime/int8", "int8_full", "int8-full", "litert", file_bytes=1.5e6, p50=500.0,
                            psnr=35.5, ssim=0.965, lpips=0.03, face=KEPT_FACE)
    rec = recommend(recs, get_scenario("live-streaming"))
    assert rec.winner == "anime/int8"  # the student is faster but its face fails the 25 dB floor
    student = next(why for c, why in rec.excluded if c.variant == "anime/student")
    assert "in the worst face region" in student[0]


@pytest.fixture(scope="module")
def face_breaking_records(anime_model):
    """A real run: a 'variant' that is the original's cartoon except that the eyes are left photographic
    (the S0 student's failure), evaluated by evaluation.runner like any other, on real photos at 512 px."""
    from evaluation import runner
    from evaluation.runner import Reference, RunConfig, evaluate_variant
    from evaluation.variants import resolve_variant
    from models.faces import detect_faces
    from models.samples import load_sample

    photos = [(n, load_sample(n)) for n in ("half_body.jpg", "astronaut.png")]
    reference = Reference("original")
    original_predictor = runner.build_predictor(**reference.spec("anime").to_dict())

    class PhotoEyes:
        """The original's cartoon with the eye boxes pasted back from the input photo."""

        runtime, precision, device, mode, threads, delegate, supports_batch = ("keras-tensorflow", "fp32", "cpu",
                                                                               "full", None, None, False)

        def predict(self, x):
            out = original_predictor.predict(x).copy()
            for face in detect_faces(x):
                x0, y0, x1, y1 = face.regions()["eyes"]
                out[y0:y1, x0:x1] = x[y0:y1, x0:x1]
            return out

    spec = resolve_variant("anime/photo-eyes=original")
    spec = dataclasses.replace(spec, kind="keras", path="photo-eyes", method="distill")  # not the reference
    config = RunConfig(sizes=(512,), groups=("quality", "face_quality"))
    # the original first: it also fills the reference outputs, before the variant's predictor is swapped in
    base = evaluate_variant(reference.spec("anime"), photos, config, reference, {}, None, None,
                            lambda *a, **k: None)
    real_build = runner.build_predictor
    runner.build_predictor = lambda **kw: PhotoEyes()
    try:
        variant = evaluate_variant(spec, photos, config, reference, {}, None, None, lambda *a, **k: None)
    finally:
        runner.build_predictor = real_build
    static = {"group": "static", "size": None, "metrics": {"file_bytes": 6e6, "params": 1, "macs": 1}}
    latency = {"group": "latency", "size": 512, "metrics": {"p50_ms": 500.0, "p90_ms": 510.0, "p99_ms": 520.0,
                                                            "mean_ms": 500.0, "std_ms": 5.0, "count": 5,
                                                            "threads": 2}}
    for recs in (variant, base):  # static and latency are not measured here: the same for both
        recs += [{**recs[0], **static}, {**recs[0], **latency}]
    return base + [{**r, "method": "distill"} for r in variant]


def test_a_real_face_left_photographic_loses_quality_stars(face_breaking_records):
    records = face_breaking_records
    full_only = [r for r in records if r["group"] != "face_quality"]
    judged = {c.variant: c for c in compare(records)}["anime/photo-eyes"]
    unjudged = {c.variant: c for c in compare(full_only)}["anime/photo-eyes"]
    m = judged.metrics
    print(f"photo eyes: full image PSNR {m['psnr_db']:.1f} dB SSIM {m['ssim']:.3f}; eyes-worst region SSIM "
          f"{m['face_ssim']:.3f} PSNR {m['face_psnr_db']:.1f} dB; identity {m.get('face_identity')}")
    assert m["psnr_db"] > 25.0 and not math.isinf(m["psnr_db"])  # the full image alone looks acceptable
    assert rate(judged)["quality"].stars < rate(unjudged)["quality"].stars
    assert "the face decides" in explain(judged, "quality")
    assert np.isfinite(m["face_psnr_db"]) and m["face_psnr_db"] < m["psnr_db"]
