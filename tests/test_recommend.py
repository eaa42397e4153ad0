"""Pareto fronts, scenarios and recommendations over hand-built records with known numbers."""

import itertools
import json
import random

import pytest

from decisions.cli import main as cli_main
from decisions.comparisons import compare
from decisions.noise import same_within_noise
from decisions.pareto import best_at_their_cost, dominates, pareto_fronts
from decisions.recommend import recommend
from decisions.scenarios import (ALIASES, BUILTIN, Constraint, Scenario, custom_scenario, get_scenario,
                                  parse_constraint)
from tests.test_ratings import ENV, original, variant_records


def lab(**overrides):
    """Original + five variants whose trade-offs are chosen by hand."""
    return (original(psnr=None)
            + variant_records("anime/fp32", "tflite_fp32", "fp32", "litert", file_bytes=6e6, p50=900.0,
                              peak_mb=300, psnr=60.0, ssim=0.9999, lpips=0.001)
            + variant_records("anime/fp16", "tflite_fp16", "fp16", "litert", file_bytes=3e6, p50=890.0,
                              peak_mb=250, psnr=52.0, ssim=0.999, lpips=0.002)
            + variant_records("anime/int8", "tflite_int8_full", "int8-full", "litert", file_bytes=1.6e6,
                              p50=450.0, peak_mb=200, psnr=31.0, ssim=0.95, lpips=0.06)
            + variant_records("anime/prune+int8", "prune+tflite_int8_full", "int8-full", "litert",
                              file_bytes=0.8e6, p50=250.0, peak_mb=150, psnr=27.0, ssim=0.90, lpips=0.12)
            + variant_records("anime/int8dyn", "tflite_int8_dynamic", "int8-dynamic", "litert",
                              file_bytes=1.6e6, p50=1300.0, peak_mb=200, psnr=38.0, ssim=0.98, lpips=0.02))


def random_lab(seed, n=7):
    rnd = random.Random(seed)
    recs = original(psnr=None)
    methods = [("tflite_fp16", "fp16"), ("tflite_int8_full", "int8-full"), ("tflite_int8_dynamic", "int8-dynamic"),
               ("prune+tflite_int8_full", "int8-full"), ("svd+tflite_fp16", "fp16"),
               ("distill+tflite_int8_full", "int8-full")]
    for i in range(n):
        method, precision = rnd.choice(methods)
        recs += variant_records(f"anime/v{i}", method, precision, "litert", file_bytes=rnd.uniform(0.5e6, 6e6),
                                p50=rnd.uniform(150, 1500), std=rnd.uniform(1, 30), peak_mb=rnd.uniform(100, 450),
                                psnr=rnd.uniform(22, 50), ssim=rnd.uniform(0.8, 0.999), lpips=rnd.uniform(0.005, 0.3))
    # one variant strictly dominated by v0 on every raw metric (same method, so training/deployment equal)
    v0 = next(c for c in compare(recs) if c.variant == "anime/v0")
    m = v0.metrics
    recs += variant_records("anime/worse", v0.method, v0.precision, "litert", file_bytes=m["file_mb"] * 1e6 * 1.5,
                            p50=m["p50_ms"] * 1.5, std=m["std_ms"], peak_mb=m["memory_mb"] * 1.5,
                            psnr=m["psnr_db"] - 3, ssim=m["ssim"] - 0.05, lpips=m["lpips"] + 0.05)
    return recs


RAW = ("p50_ms", "file_mb", "memory_mb", "psnr_db", "ssim", "lpips", "training_level", "deploy_stars")


# -- Pareto ---------------------------------------------------------------------------------------------

def test_pareto_front_over_latency_and_psnr_matches_hand_count():
    (group,) = pareto_fronts(lab(), ("p50_ms", "psnr_db"))
    # int8dyn (1300 ms, 38 dB) is beaten by fp16 (890 ms, 52 dB) and fp32; the original (1000 ms, identical)
    # stays because nothing else is identical to it
    assert [c.variant for c in group.front] == ["anime/prune+int8", "anime/int8", "anime/fp16", "anime/fp32",
                                                "anime/original"]
    assert [c.variant for c, _ in group.dominated] == ["anime/int8dyn"]


def test_best_at_their_cost_matches_the_chart_it_draws():
    # the distillation rows of docs/images/recipe_quality_vs_macs.json: trunk-w24-b2 (2.07x, 27.09 dB) is
    # beaten by bottleneck-w24-b4-i16 (3.02x, 27.32 dB), which saves more MACs at better quality
    rows = [(2.07, 27.09), (3.02, 27.32), (3.12, 26.15), (3.48, 25.61), (5.13, 23.64), (5.27, 23.06)]
    assert best_at_their_cost(rows) == [1, 2, 3, 4, 5]
    # the same rows before 2026-12-07's third session: trunk-w16-b2 (3.12x, 25.02) beaten by (3.48x, 25.61)
    before = [(2.07, 27.09), (3.02, 26.93), (3.12, 25.02), (3.48, 25.61), (5.13, 23.64), (5.27, 23.06)]
    assert best_at_their_cost(before) == [0, 1, 3, 4, 5]
    assert best_at_their_cost([(1.0, 1.0), (1.0, 1.0)]) == [0, 1]  # ties both stay
    assert best_at_their_cost([(2.0, 1.0), (2.0, 2.0)]) == [1]
    assert best_at_their_cost([]) == []


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("objectives", [("p50_ms", "lpips"), ("file_mb", "psnr_db"), ("memory_mb", "ssim")])
def test_dominated_variant_is_never_on_the_front(seed, objectives):
    comps = compare(random_lab(seed))
    (group,) = pareto_fronts(comps, objectives)
    front = {c.variant for c in group.front}
    for a, b in itertools.permutations(comps, 2):
        if dominates(a, b, objectives):
            assert b.variant not in front
    for c in group.front:  # and everything on the front is undominated
        assert not any(dominates(o, c, objectives) for o in comps)
    assert "anime/worse" not in front


def test_pareto_never_mixes_environments_unless_asked():
    other = {**ENV, "env_id": "envB", "hostname": "other-host"}
    recs = lab() + original(p50=3000.0, env=other) + variant_records(
        "anime/int8", "int8_full", "int8-full", "litert", file_bytes=1.6e6, p50=100.0, psnr=31.0, ssim=0.95,
        env=other)
    groups = pareto_fronts(recs, ("p50_ms", "psnr_db"))
    assert len(groups) == 2
    assert {frozenset(c.env_id for c in g.front + [d for d, _ in g.dominated]) for g in groups} == {
        frozenset({"envA"}), frozenset({"envB"})}
    with pytest.raises(ValueError, match="mix results from different machines"):
        pareto_fronts(recs, ("p50_ms", "psnr_db"), by=("size",))
    (mixed,) = pareto_fronts(recs, ("p50_ms", "psnr_db"), by=("size",), mix_envs=True)
    assert len(mixed.front) + len(mixed.dominated) == len(compare(recs))


def test_pareto_per_runtime_and_unmeasured_objectives():
    groups = pareto_fronts(lab(), ("p50_ms", "lpips"), by=("hardware_id", "size", "runtime"))
    assert {g.key["runtime"] for g in groups} == {"litert", "keras-tensorflow"}
    (g,) = pareto_fronts(lab(), ("p50_ms", "face_psnr_db"))
    assert g.front == [] and len(g.unmeasured) == 6


def test_unknown_pareto_objective_lists_valid_metrics():
    with pytest.raises(ValueError, match=r"Unknown metric 'latency'\. Valid metrics: p50_ms, p90_ms"):
        pareto_fronts(lab(), ("latency", "psnr_db"))


# -- scenarios and constraints --------------------------------------------------------------------------

def test_unknown_scenario_lists_the_valid_ones():
    with pytest.raises(ValueError) as err:
        get_scenario("live-stream")
    assert "Unknown scenario 'live-stream'" in str(err.value)
    assert all(name in str(err.value) for name in BUILTIN)


def test_unknown_constraint_metric_operator_and_parameter_are_clear():
    with pytest.raises(ValueError, match=r"Unknown constraint metric 'latency'\. Valid metrics: .*p90_ms.*runtime"):
        parse_constraint("latency<=5")
    with pytest.raises(ValueError, match=r"Unknown constraint operator '=~'"):
        Constraint("p90_ms", "=~", 5.0)
    with pytest.raises(ValueError, match=r"Cannot read constraint 'p90_ms about 5'"):
        parse_constraint("p90_ms about 5")
    with pytest.raises(ValueError, match=r"Unknown training level\(s\) \['retrain'\]. Valid levels: none"):
        parse_constraint("training<=retrain")
    with pytest.raises(ValueError, match=r"Unknown parameter\(s\) 'max_gb' for scenario 'mobile-cpu-app'. "
                                         r"Valid parameters: max_mb \(default 4.0\)"):
        get_scenario("mobile-cpu-app", max_gb=1)
    with pytest.raises(ValueError, match=r"Unknown weight axis 'beauty'\. Valid axes: size, speed"):
        custom_scenario(weights={"beauty": 1})
    with pytest.raises(ValueError, match=r"max_mb must be a positive number. Received: max_mb=-1"):
        get_scenario("mobile-cpu-app", max_mb=-1)


def test_parse_constraint_forms():
    assert parse_constraint("file_mb<=4") == Constraint("file_mb", "<=", 4.0)
    assert parse_constraint("runtime in litert, keras-tensorflow") == Constraint(
        "runtime", "in", ("litert", "keras-tensorflow"))
    assert parse_constraint("precision not in fp16") == Constraint("precision", "not in", ("fp16",))


def test_every_builtin_scenario_is_valid_and_aliases_point_at_builtins():
    for name, factory in BUILTIN.items():
        assert factory().name == name and isinstance(get_scenario(name), Scenario)
    assert set(ALIASES.values()) <= set(BUILTIN)


# -- recommendation -------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("name", list(BUILTIN))
def test_hard_constraints_always_exclude(seed, name):
    scenario = get_scenario(name)
    rec = recommend(random_lab(seed), scenario)
    for r in rec.ranked:
        assert all(k.check(r.comparison)[0] for k in scenario.constraints)
    for c, reasons in rec.excluded:
        assert reasons and not all(k.check(c)[0] for k in scenario.constraints)
    assert len(rec.ranked) + len(rec.excluded) == len(compare(random_lab(seed)))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("name", list(BUILTIN))
def test_dominated_variant_is_never_recommended_over_its_dominator(seed, name):
    rec = recommend(random_lab(seed), get_scenario(name))
    order = [r.comparison for r in rec.ranked]
    for i, a in enumerate(order):
        for b in order[:i]:  # b ranks above a
            assert not dominates(a, b, RAW), f"{a.variant} dominates {b.variant} but ranks below it"


def test_unmeasured_metric_never_passes_a_hard_constraint():
    scenario = custom_scenario(constraints=["face_psnr_db>=30"], weights={"speed": 1})
    rec = recommend(lab(), scenario)
    assert rec.ranked == [] and rec.winner is None
    assert all("face_psnr_db not measured" in why[0] for _, why in rec.excluded)


def test_winner_reason_names_the_faster_variant_the_floor_excluded():
    rec = recommend(lab(), custom_scenario(constraints=["psnr_db>=30"], weights={"speed": 1}))
    assert rec.winner == "anime/int8"
    assert "2.2x faster than the original" in rec.winner_reason and "31.0 dB PSNR" in rec.winner_reason
    assert "anime/prune+int8 (4.0x faster" in rec.winner_reason and "fails psnr_db >= 30.0" in rec.winner_reason
    assert rec.runner_up_reason.startswith("anime/fp16") and "behind the winner mainly on speed" in rec.runner_up_reason


def test_differences_inside_the_noise_band_are_ties():
    def pair(p50_b, psnr_b, std=5.0):
        recs = (original()
                + variant_records("anime/a", "int8_full", "int8-full", "litert", file_bytes=1.6e6, p50=500.0,
                                  std=std, psnr=33.00, ssim=0.95)
                + variant_records("anime/b", "int8_full", "int8-full", "litert", file_bytes=1.6e6, p50=p50_b,
                                  std=std, psnr=psnr_b, ssim=0.95))
        return recommend(recs, custom_scenario(weights={"speed": 1, "quality": 1}))

    tie = pair(510.0, 33.05)  # 2% apart (< 3% band), 0.05 dB apart (< 0.1 dB)
    assert tie.ranked[0].rank == tie.ranked[1].rank == 1 and tie.ranked[1].tied_with
    assert "TIE" in tie.runner_up_reason
    noisy = pair(540.0, 33.0, std=25.0)  # 8% apart but inside 2 x std = 50 ms
    assert noisy.ranked[1].tied_with
    win = pair(560.0, 33.0)  # 12% apart: outside the band
    assert [r.rank for r in win.ranked[:2]] == [1, 2] and win.winner == "anime/a"
    quality_win = pair(500.0, 33.5)  # same speed, 0.5 dB better: a real win
    assert quality_win.winner == "anime/b" and not quality_win.ranked[1].tied_with
    assert "CAUTION" not in quality_win.runner_up_reason
    # a leads on speed by 8% (inside 2 x 25 ms), b is 0.5 dB better (outside 0.1 dB): not a tie, and the
    # runner-up's reason says the winner's edge is noise
    noisy_lead = pair(540.0, 33.5, std=25.0)
    assert noisy_lead.winner == "anime/a" and not noisy_lead.ranked[1].tied_with
    assert "mainly on speed" in noisy_lead.runner_up_reason and "CAUTION" in noisy_lead.runner_up_reason


def test_dominator_ranks_first_even_when_both_saturate_every_scale():
    recs = (original()
            + variant_records("anime/a-slower", "int8_full", "int8-full", "litert", file_bytes=0.5e6, p50=120.0,
                              psnr=45.0, ssim=0.99)
            + variant_records("anime/b-faster", "int8_full", "int8-full", "litert", file_bytes=0.5e6, p50=100.0,
                              psnr=46.0, ssim=0.99))
    rec = recommend(recs, custom_scenario(weights={"speed": 1, "quality": 1}))
    assert rec.ranked[0].score == rec.ranked[1].score == 5.0  # 8x/10x faster and > 40 dB: all 5 stars
    assert rec.winner == "anime/b-faster"
    assert not rec.ranked[1].tied_with  # 20% apart is outside the noise band: not a tie


def test_same_within_noise_bands():
    comps = {c.variant: c for c in compare(lab())}
    assert same_within_noise(comps["anime/fp16"], comps["anime/fp32"], "p50_ms")  # 890 vs 900, band 27 ms
    assert not same_within_noise(comps["anime/fp16"], comps["anime/int8"], "p50_ms")
    assert not same_within_noise(comps["anime/fp16"], comps["anime/fp32"], "file_mb")


def test_warns_when_int8_is_slower_than_float_and_on_other_hardware():
    rec = recommend(lab(), get_scenario("gpu-live-video"))
    text = "\n".join(rec.warnings)
    assert "anime/int8dyn (int8-dynamic) is SLOWER than float anime/fp16" in text
    assert "targets gpu hardware but these variants were measured on cpu" in text
    assert all("fails fps >= 30.0" in why[0] for _, why in rec.excluded)
    plain = recommend(lab(), get_scenario("live-streaming"))
    assert not any("targets" in w for w in plain.warnings)


def test_several_environments_need_a_choice():
    other = {**ENV, "env_id": "envB", "cpu": "laptop"}
    recs = lab() + original(p50=3000.0, env=other)
    with pytest.raises(ValueError, match=r"2 machines.*env envA \(AMD.*env envB \(laptop"):
        recommend(recs, get_scenario("balanced"))
    assert recommend(recs, get_scenario("balanced"), env_id="envB").winner == "anime/original"
    with pytest.raises(ValueError, match=r"Unknown env_id 'envC'. Machines in these records: hw-"):
        recommend(recs, get_scenario("balanced"), env_id="envC")


def test_portrait_records_are_judged_apart_from_full_image_records():
    portrait = [{**r, "mode": "portrait"} for r in original(p50=3000.0)
                + variant_records("anime/int8", "int8_full", "int8-full", "litert", file_bytes=1.6e6, p50=1000.0,
                                  psnr=31.0, ssim=0.95)]
    comps = {(c.variant, c.mode): c for c in compare(lab() + portrait)}
    assert comps[("anime/int8", "portrait")].metrics["speedup"] == pytest.approx(3.0)  # 3000 / 1000
    assert comps[("anime/int8", "full")].metrics["speedup"] == pytest.approx(1000 / 450)
    assert {c.mode for g in pareto_fronts(lab() + portrait, ("p50_ms", "psnr_db")) for c in g.front} == {
        "full", "portrait"}
    assert all(len({c.mode for c in g.front}) == 1 for g in pareto_fronts(lab() + portrait, ("p50_ms", "psnr_db")))
    rec = recommend(lab() + portrait, get_scenario("balanced"), mode="portrait")
    assert {r.comparison.mode for r in rec.ranked} == {"portrait"}
    with pytest.raises(ValueError, match="no records in mode 'portrait'. Modes in these records: full"):
        recommend(lab(), get_scenario("balanced"), mode="portrait")


def test_scenario_size_falls_back_with_a_warning():
    rec = recommend(lab(), get_scenario("cpu-server"))
    assert rec.size == 512 and any("targets 720 px" in w for w in rec.warnings)


def test_mobile_scenario_parameters_change_its_constraints():
    rec = recommend(lab(), get_scenario("mobile-cpu-app", max_mb=1.0, min_psnr=20.0))
    assert [r.comparison.variant for r in rec.ranked] == ["anime/prune+int8"]


# -- CLI ------------------------------------------------------------------------------------------------

@pytest.fixture()
def records_file(tmp_path):
    path = tmp_path / "records.json"
    path.write_text(json.dumps(lab()))
    return path


def test_cli_json_recommendation(records_file, capsys):
    assert cli_main(["--scenario", "no-training-change", "--records", str(records_file), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)["recommendation"]
    assert out["winner"] == "anime/int8"
    assert {"variant": "anime/prune+int8", "reasons": ["fails training <= calibration: measured fine-tune"]} \
        in out["excluded"]


def test_cli_text_table_why_and_pareto(records_file, capsys):
    assert cli_main(["--records", str(records_file), "--table", "--why", "anime/int8", "--pareto",
                     "p50_ms,psnr_db"]) == 0
    text = capsys.readouterr().out
    assert "anime/int8 [speed] 3 star(s)" in text and "dominated: anime/int8dyn" in text


def test_cli_errors_are_one_clear_line(records_file, capsys):
    assert cli_main(["--scenario", "nope", "--records", str(records_file)]) == 2
    err = capsys.readouterr().err
    assert "Unknown scenario 'nope'. Valid scenarios: live-streaming" in err and "Traceback" not in err
    assert cli_main(["--scenario", "balanced", "--registry"]) == 2
    assert "python -m registry recommend" in capsys.readouterr().err
    assert cli_main(["--scenario", "custom", "--constraint", "speed>2", "--weight", "speed=1",
                     "--records", str(records_file)]) == 2
    assert "Unknown constraint metric 'speed'" in capsys.readouterr().err
