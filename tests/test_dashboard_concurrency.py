"""8 sessions comparing at once (slow): 8 AppTest instances in 8 threads run the Compare page together.

Streamlit serves every browser session in its own thread of one process, sharing st.cache_resource
models; this reproduces that: shared loaded variants (one lock each; LiteRT interpreters are not
thread-safe), shared caches, different photos and variant sets, all at the same time.
"""

import threading
import time

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow
SESSIONS = 8


def test_eight_concurrent_compare_sessions_finish_without_error(dashboard_registry, monkeypatch):
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache

    from models.samples import sample_names

    # A server compiles each page once, under its one ScriptCache's lock, for all sessions; every AppTest
    # has a cache of its own, so 8 would compile at once, and CPython 3.11's AST construction is not safe
    # across threads ("AST constructor recursion depth mismatch", python/cpython#106905). One lock for
    # all the caches is what the server does.
    compile_lock, get_bytecode = threading.Lock(), ScriptCache.get_bytecode

    def serialised(self, script_path):
        with compile_lock:
            return get_bytecode(self, script_path)

    monkeypatch.setattr(ScriptCache, "get_bytecode", serialised)

    versions = dashboard_registry["versions"]
    variant_sets = [[versions["fp16"]], [versions["int8-dynamic"]], [versions["fp16"], versions["int8-dynamic"]]]
    samples = sample_names()
    results, errors = {}, {}
    barrier = threading.Barrier(SESSIONS)

    def session(i):
        try:
            at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=600)
            at.switch_page("dashboard_pages/compare.py")
            at.session_state["compare_size"] = 256
            at.session_state["compare_samples"] = [samples[i % len(samples)]]
            at.session_state["compare_variants"] = variant_sets[i % len(variant_sets)]
            barrier.wait(timeout=120)
            start = time.perf_counter()
            at.run()
            results[i] = (at, time.perf_counter() - start)
        except Exception as exc:  # reported below with the session number
            errors[i] = repr(exc)

    threads = [threading.Thread(target=session, args=(i,)) for i in range(SESSIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=900)
    assert not errors, errors
    assert len(results) == SESSIONS
    for i, (at, seconds) in sorted(results.items()):
        assert not at.exception, (i, [e.message for e in at.exception])
        assert not at.error, (i, [e.value for e in at.error])
        frame = at.dataframe[0].value
        assert len(frame) == 1 + len(variant_sets[i % len(variant_sets)]), i
        assert frame["photo"].iloc[0] == samples[i % len(samples)]
    print("per-session seconds:", {i: round(s, 1) for i, (_, s) in sorted(results.items())})
