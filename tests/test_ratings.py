"""Star ratings: records with known numbers -> the stars the documented scales give (hand-computed)."""

import math

import pytest

from decisions.axes import AXES
from decisions.comparisons import compare, method_parts, training_level
from decisions.ratings import explain, rate, render_table
from decisions.scales import QUALITY_SCALES, SCALES, TRAINING_STARS, Scale, scales_markdown
from tests.conftest import ROOT

ENV = {"env_id": "envA", "cpu": "AMD EPYC (test)", "threads": 2, "gpu": None}


def variant_records(name, method="original", precision="fp32", runtime="keras-tensorflow", *, file_bytes,
                    p50, std=5.0, p90=None, peak_mb=None, psnr=None, ssim=None, lpips=None, face=None,
                    size=512, env=ENV, device="cpu", style="anime", train_s=None):
    """The records the evaluation producer writes for one variant (docs/contracts.md), with chosen numbers."""
    common = {"record_version": 1, "variant": name, "style": style, "method": method,
              "parent": None if method == "original" else f"{style}/original", "runtime": runtime,
              "precision": precision, "device": device, "mode": "full", "env": dict(env),
              "timestamp": "2026-11-23T06:00:00Z", "notes": [], "per_image": None}
    static = {"file_bytes": file_bytes, "params": 1_467_075, "macs": 32_000_000_000}
    if train_s is not None:
        static["train_s"] = train_s
    out = [{**common, "size": None, "group": "static", "metrics": static},
           {**common, "size": size, "group": "latency",
            "metrics": {"p50_ms": p50, "p90_ms": p90 or p50 * 1.05, "p99_ms": (p90 or p50 * 1.05) * 1.02,
                        "mean_ms": p50, "std_ms": std, "count": 20, "threads": 2}}]
    if peak_mb is not None:
        out.append({**common, "size": size, "group": "memory", "metrics": {"peak_mb": peak_mb, "method": "rss"}})
    if psnr is not None:
        q = {"psnr_mean": psnr, "psnr_median": psnr, "psnr_worst": psnr - 1, "ssim_mean": ssim,
             "ssim_median": ssim, "ssim_worst": ssim, "images": 8}
        if lpips is not None:
            q.update(lpips_mean=lpips, lpips_median=lpips, lpips_worst=lpips)
        out.append({**common, "size": size, "group": "quality", "metrics": q})
    if face is not None:
        out.append({**common, "size": size, "group": "face_quality",
                    "metrics": {f"{region}_{k}": v for region, vals in face.items() for k, v in vals.items()}})
    return out


def original(**kw):
    args = dict(file_bytes=6_000_000, p50=1000.0, peak_mb=400.0)
    args.update(kw)
    return variant_records("anime/original", **args)


def one(records, name):
    return next(c for c in compare(records) if c.variant == name)


def test_scale_stars_count_thresholds_and_score_interpolates():
    s = Scale("speedup", "speed-up", "x", (0.5, 1.1, 1.5, 2.5, 4.0))
    assert [s.stars(v) for v in (0.3, 1.0, 1.1, 1.49, 1.5, 2.5, 3.9, 4.0, 10)] == [1, 1, 2, 2, 3, 4, 4, 5, 5]
    assert s.score(2.0) == pytest.approx(3.5)  # halfway from 1.5 (3*) to 2.5 (4*)
    assert s.score(0.8) == pytest.approx(1.5)  # halfway from 0.5 (1.0) to 1.1 (2*)
    lower = Scale("lpips", "LPIPS", "", (0.4, 0.2, 0.1, 0.05, 0.02), higher_is_better=False)
    assert [lower.stars(v) for v in (0.5, 0.2, 0.15, 0.1, 0.03, 0.02, 0.0)] == [1, 2, 2, 3, 4, 5, 5]


def test_scale_rejects_anchors_not_monotone():
    with pytest.raises(ValueError, match=r"anchors=\(1\.0, 3\.0, 2\.0"):
        Scale("speedup", "speed-up", "x", (1.0, 3.0, 2.0, 4.0, 5.0))


@pytest.mark.parametrize("name", [*SCALES, *QUALITY_SCALES])
def test_every_scale_is_monotone_in_its_metric(name):
    scale = SCALES.get(name) or QUALITY_SCALES[name]
    lo, hi = scale.anchors[0], scale.anchors[-1]
    span = hi - lo
    values = [lo - span + k * (3 * span) / 400 for k in range(401)]  # from below the scale to above it
    stars = [scale.stars(v) for v in values]
    scores = [scale.score(v) for v in values]
    assert all(b >= a for a, b in zip(stars, stars[1:]))  # better value -> never fewer stars
    assert all(b >= a for a, b in zip(scores, scores[1:]))
    assert stars[0] == 1 and stars[-1] == 5
    assert all(math.floor(sc + 1e-9) == st for sc, st in zip(scores, stars))


def test_speed_stars_grow_with_measured_speedup_against_same_env_original():
    stars = []
    for p50 in (1200.0, 950.0, 600.0, 380.0, 240.0):  # speed-ups 0.83, 1.05, 1.67, 2.63, 4.17
        recs = original() + variant_records("anime/v", "prune", file_bytes=3_000_000, p50=p50)
        stars.append(rate(one(recs, "anime/v"))["speed"].stars)
    assert stars == [1, 1, 3, 4, 5]


def test_ratios_use_the_original_of_the_same_environment_only():
    other = {**ENV, "env_id": "envB", "cpu": "slow laptop"}
    recs = (original() + original(p50=4000.0, env=other)
            + variant_records("anime/int8", "tflite_int8_full", "int8-full", "litert",
                              file_bytes=1_500_000, p50=2000.0, env=other))
    comp = one(recs, "anime/int8")
    assert comp.env_id == "envB" and comp.base_metrics["p50_ms"] == 4000.0
    assert comp.metrics["speedup"] == pytest.approx(2.0)  # 4000 / 2000, not 1000 / 2000
    assert comp.metrics["size_reduction"] == pytest.approx(4.0)


def test_runtimes_on_one_machine_are_compared_but_other_machines_are_not():
    keras_env = {**ENV, "env_id": "e-keras", "delegate": None, "keras_backend": "tensorflow"}
    litert_env = {**ENV, "env_id": "e-litert", "delegate": "xnnpack", "keras_backend": "tensorflow"}
    elsewhere = {**litert_env, "env_id": "e-other", "hostname": "another-box"}
    recs = (original(env=keras_env)
            + variant_records("anime/int8", "int8_full", "int8-full", "litert", file_bytes=1.5e6, p50=500.0,
                              env=litert_env)
            + variant_records("anime/int8-far", "int8_full", "int8-full", "litert", file_bytes=1.5e6, p50=250.0,
                              env=elsewhere))
    near, far = one(recs, "anime/int8"), one(recs, "anime/int8-far")
    rekeyed = [{**r, "env": {**r["env"], "run_env_id": r["env"]["env_id"], "env_id": "same"}} for r in recs[:-2]]
    assert len({c.hardware_id for c in compare(rekeyed)}) == 1  # the dashboard's adapter changes nothing
    assert near.hardware_id == one(recs, "anime/original").hardware_id != far.hardware_id
    assert near.baseline == "anime/original" and near.metrics["speedup"] == pytest.approx(2.0)
    assert far.baseline is None and "speedup" not in far.metrics


def test_no_original_in_the_environment_gives_no_speed_stars():
    recs = variant_records("anime/int8", "int8_full", "int8-full", "litert", file_bytes=1_500_000, p50=200.0)
    comp = one(recs, "anime/int8")
    assert comp.baseline is None and "speedup" not in comp.metrics
    assert rate(comp)["speed"].stars is None
    assert "no original measured" in explain(comp, "speed")


def test_quality_takes_the_weakest_metric_including_face_regions():
    face = {"eyes": {"psnr_mean": 24.0, "ssim_mean": 0.99}, "nose": {"psnr_mean": 41.0, "ssim_mean": 0.99},
            "mouth": {"psnr_mean": 38.0, "ssim_mean": 0.99}}
    recs = original() + variant_records("anime/v", "svd", file_bytes=3e6, p50=800.0, psnr=36.0, ssim=0.97,
                                        lpips=0.03)
    assert rate(one(recs, "anime/v"))["quality"].stars == 4  # psnr 36 -> 4*, ssim .97 -> 4*, lpips .03 -> 4*
    recs_face = original() + variant_records("anime/v", "svd", file_bytes=3e6, p50=800.0, psnr=36.0,
                                             ssim=0.97, lpips=0.03, face=face)
    comp = one(recs_face, "anime/v")
    assert comp.metrics["face_psnr_db"] == 24.0  # the worst region
    assert rate(comp)["quality"].stars == 1  # eyes at 24 dB < 25 dB
    assert "face-region PSNR" in explain(comp, "quality")


def test_original_keeps_all_quality_and_scores_one_on_ratios():
    comp = one(original(), "anime/original")
    r = rate(comp)
    assert comp.is_baseline and r["quality"].stars == 5
    assert comp.metrics["speedup"] == 1.0 and r["speed"].stars == 1 and r["size"].stars == 1


@pytest.mark.parametrize("method, level", [
    ("original", "none"), ("tflite_fp16", "none"), ("tflite_int8_dynamic", "none"),
    ("tflite_int8_full", "calibration"), ("int8_full", "calibration"), ("prune", "fine-tune"),
    ("svd+tflite_int8_dynamic", "fine-tune"), ("prune+tflite_int8_full", "fine-tune"),
    ("distill+tflite_int8_full", "distillation")])
def test_training_cost_of_a_combination_is_its_costliest_part(method, level):
    assert training_level(method)[0] == level


def test_declared_training_overrides_the_guess_from_the_method():
    recs = original() + variant_records("anime/p", "prune", file_bytes=3e6, p50=600.0)
    recs[-2]["training"] = "none"  # the static record: pruned without the recovery fine-tune
    assert rate(one(recs, "anime/p"))["training"].stars == 5
    recs[-2]["training"] = "weeks"
    with pytest.raises(ValueError, match="training='weeks'"):
        compare(recs)


def test_measured_training_time_caps_training_stars():
    def stars(train_s):
        recs = original() + variant_records("anime/s", "distill", file_bytes=1e6, p50=300.0, train_s=train_s)
        return rate(one(recs, "anime/s"))["training"].stars
    assert stars(None) == TRAINING_STARS["distillation"] == 2
    assert stars(120.0) == 2  # the level's 2* is the ceiling
    assert stars(10 * 3600.0) == 1  # longer than 8 h


def test_method_parts_normalise_prefix_and_reject_empty():
    assert method_parts("prune+TFLITE_INT8-full") == ["prune", "int8_full"]
    with pytest.raises(ValueError, match="method=''"):
        method_parts("")


def test_deployment_takes_the_weaker_of_runtime_and_precision():
    recs = (original() + variant_records("anime/fp32", "tflite_fp32", "fp32", "litert", file_bytes=6e6, p50=900.0)
            + variant_records("anime/int8", "tflite_int8_full", "int8-full", "litert", file_bytes=1.5e6,
                              p50=500.0))
    assert rate(one(recs, "anime/original"))["deployment"].stars == 3  # keras-tensorflow
    assert rate(one(recs, "anime/fp32"))["deployment"].stars == 5
    assert rate(one(recs, "anime/int8"))["deployment"].stars == 3  # int8-full


def test_explain_states_value_stars_and_scale():
    recs = original() + variant_records("anime/v", "prune", file_bytes=3e6, p50=400.0)
    text = explain(one(recs, "anime/v"), "speed")
    assert "anime/v [speed] 4 star(s)" in text and "2.50x" in text and "1000 ms" in text
    assert "5* >= 4.00x" in text and "1* < 1.10x" in text
    with pytest.raises(ValueError, match="Unknown rating axis 'beauty'. Valid axes: size, speed"):
        explain(one(recs, "anime/v"), "beauty")


def test_record_without_env_id_is_rejected_clearly():
    bad = original()[1]
    bad = {**bad, "env": {}}
    with pytest.raises(ValueError, match="no env.env_id"):
        compare([bad])


def test_render_table_has_one_row_per_variant_and_every_axis():
    recs = original() + variant_records("anime/v", "prune", file_bytes=3e6, p50=400.0)
    table = render_table(compare(recs))
    assert "anime/original" in table and "anime/v" in table
    assert all(a[:10] in table for a in AXES)


def test_docs_show_the_scales_the_code_uses():
    text = (ROOT / "docs" / "decisions.md").read_text()
    block = text.split("<!-- scales:begin -->\n", 1)[1].split("\n<!-- scales:end -->", 1)[0]
    assert block == scales_markdown(), "docs/decisions.md shows other scales than evaluation/ratings.py"
