"""scripts/recipe_table.py's bookkeeping: which weights it measures under which name (candidates beside the
shipped variants) and what training it reports behind them."""

import importlib.util
import shutil

import pytest

from tests.conftest import ROOT

STUDENTS = ROOT / "models" / "weights" / "students"


@pytest.fixture(scope="module")
def recipe_table():
    spec = importlib.util.spec_from_file_location("recipe_table", ROOT / "scripts" / "recipe_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def candidate(tmp_path):
    """A run's output outside the shipped folders: a copy of a shipped student's pair under the stem the
    distill CLI writes (lab_data/training/<run>/student)."""
    stem = tmp_path / "run" / "student"
    stem.parent.mkdir()
    for ext in (".weights.h5", ".json"):
        shutil.copy(STUDENTS / f"trunk-w16-b2{ext}", f"{stem}{ext}")
    return stem


def parse(recipe_table, *specs):
    import argparse

    return recipe_table.parse_candidates(argparse.ArgumentParser(prog="recipe_table"), list(specs))


def test_a_candidate_is_measured_beside_the_shipped_variants(recipe_table, candidate):
    candidates = parse(recipe_table, f"trunk-w16-b2-next={candidate}")
    assert candidates == [("trunk-w16-b2-next", str(candidate))]
    variants = {name: (method, stem) for name, method, stem in recipe_table.trained_variants(candidates)}
    assert variants["trunk-w16-b2-next"] == ("distill", candidate)
    assert variants["trunk-w16-b2"][1] == STUDENTS / "trunk-w16-b2"  # the shipped one stays in the run
    assert variants["svd-a33"][0] == "svd"  # a recovered variant's method comes from its .json


@pytest.mark.parametrize("spec, says", [
    ("trunk-w16-b2", "write NAME=STEM"),
    ("next=lab_data/no-such-run/student", "no-such-run/student.weights.h5, lab_data/no-such-run/student.json missing"),
    ("trunk-w16-b2={stem}", "'trunk-w16-b2' is already a variant's name"),
])
def test_a_bad_candidate_is_named_with_the_fix(recipe_table, candidate, capsys, spec, says):
    with pytest.raises(SystemExit):
        parse(recipe_table, spec.format(stem=candidate))
    assert says in capsys.readouterr().err


def test_two_candidates_may_not_share_a_name(recipe_table, candidate, capsys):
    with pytest.raises(SystemExit):
        parse(recipe_table, f"next={candidate}", f"next={candidate}")
    assert "'next' is already a variant's name" in capsys.readouterr().err


def test_training_spent_counts_every_stage_a_run_continued_from(recipe_table):
    first = {"steps_done": 5802, "train_time_s": 5705.3, "environment": {"cpu": "AMD EPYC", "gpu": None}}
    second = {"steps_done": 6000, "train_time_s": 7200.0, "environment": {"cpu": "AMD EPYC", "gpu": None},
              "continued_from": first}
    gpu = {"steps_done": 20000, "train_time_s": 600.0, "environment": {"cpu": "Xeon", "gpu": "NVIDIA H100"},
           "continued_from": second}
    assert recipe_table.spent(second) == (11802, 12905.3, "AMD EPYC")
    assert recipe_table.spent(gpu) == (31802, 13505.3, "AMD EPYC + NVIDIA H100")
