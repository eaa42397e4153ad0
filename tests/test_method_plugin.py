"""Adding a compression method is one file plus one registry line: a throw-away method, written as its own
module and registered the way models/compression/__init__.py registers every method, is offered by the
CLI, the Lab page and the build pipeline with no other edit."""

import argparse
import importlib.util
import sys

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

METHOD_FILE = '''
"""A throw-away method: the source unchanged."""
from dataclasses import dataclass

from models.compression import register
from models.compression.base import CompressionResult, base_report, path_field
from models.validation import require


@dataclass(frozen=True)
class NoopConfig:
    passes: int = 1  # how many times to do nothing
    scratch_dir: str | None = path_field()  # where it would write: never asked for, never hashed

    def __post_init__(self):
        require(isinstance(self.passes, int) and self.passes >= 1, "passes", self.passes, "must be an int >= 1")


class NoopMethod:
    name = "noop_test"
    config_class = NoopConfig
    training = "none"
    artifact = "keras"

    def photos(self, values):
        return None

    def apply(self, source, config):
        return CompressionResult(report=base_report(self.name, config, source), variant=source)
'''


@pytest.fixture
def noop_method(tmp_path):
    from models.compression import METHODS

    path = tmp_path / "noop_test.py"
    path.write_text(METHOD_FILE)  # the one file
    spec = importlib.util.spec_from_file_location("noop_test_method", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.register(module.NoopMethod())  # the one registry line
    yield module
    METHODS.pop("noop_test", None)
    sys.modules.pop("noop_test_method", None)


def test_the_cli_offers_a_new_method(noop_method):
    from models.compression import cli

    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    args = parser.parse_args(["compress", "noop_test", "--passes", "3", "--out", "x"])
    options = {k[len("opt_"):]: v for k, v in vars(args).items() if k.startswith("opt_")}
    assert cli.build_config(noop_method.NoopMethod(), options) == noop_method.NoopConfig(passes=3)
    with pytest.raises(ValueError, match="Received: passes=0"):
        cli.build_config(noop_method.NoopMethod(), {"passes": "0"})


def test_the_build_pipeline_offers_a_new_method(noop_method):
    from decisions.comparisons import training_level
    from registry.pipeline import _needs_photos, resolve_chain

    assert resolve_chain([("noop_test", {"passes": 2})]) == [("noop_test", {"passes": 2})]  # path field dropped
    assert _needs_photos([("noop_test", {})]) is None
    assert training_level("noop_test") == ("none", [])


def test_the_lab_page_offers_a_new_method(noop_method, empty_registry):
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.switch_page("dashboard_pages/lab.py")
    at.run()
    assert "noop_test" in at.selectbox(key="lab_method").options
    at.selectbox(key="lab_method").set_value("noop_test").run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.number_input(key="lab_cfg_noop_test_passes").value == 1
    assert not [w for w in at.text_input if "scratch_dir" in (w.label or "")]  # path fields are not asked for
