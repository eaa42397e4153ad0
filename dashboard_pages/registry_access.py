"""The registry the app reads, its tables cached, and the first-run build.

- `store()`: MLFLOW_TRACKING_URI, else the embedded store in $DCTNET_LAB_DATA (one Store per server).
- registry tables (`versions_table`, `records_of`, `history_of`, `regressions_of`) are st.cache_data with a
  short TTL keyed by the store URI: every rerun would otherwise query MLflow; anything that writes to the
  registry (first-run build, Lab, alias setting) calls `registry_changed()`.
- `require_registry` / `style_picker`: an empty registry shows the first-run screen (quick build, progress).
"""

import os

import streamlit as st

DEFAULT_STYLE = "anime"
# The default Compare set: one of each family, in this order, those that are registered.
DEFAULT_ENTRIES = ("int8-full", "int8-dynamic", "fp16", "prune-i625", "svd-a33", "student-bottleneck")


def store():
    """The registry store the app reads (MLFLOW_TRACKING_URI, else the embedded one in $DCTNET_LAB_DATA)."""
    from registry.store import user_tracking_uri  # MLFLOW_TRACKING_URI unless mlflow itself set it

    return _store(user_tracking_uri() or "", os.environ.get("DCTNET_LAB_DATA") or "")


@st.cache_resource(show_spinner=False)
def _store(uri, data):
    from registry.store import Store

    return Store(uri=uri or None, data=data or None)


def store_key():
    s = store()
    return s.uri


@st.cache_data(ttl=60, show_spinner=False)
def versions_table(uri, style=None):
    import registry

    return registry.versions(style, store())


@st.cache_data(ttl=60, show_spinner=False)
def records_of(uri, style):
    import registry

    return registry.records(style, store=store())


@st.cache_data(ttl=60, show_spinner=False)
def history_of(uri, style):
    import registry

    return registry.history(style, store=store())


@st.cache_data(ttl=60, show_spinner=False)
def regressions_of(uri, style):
    import registry

    return registry.regressions(style, store=store())


def registry_changed():
    for fn in (versions_table, records_of, history_of, regressions_of):
        fn.clear()


def registered_styles():
    table = versions_table(store_key())
    return sorted(table["style"].unique()) if not table.empty else []


def require_registry():
    """Call at the top of a page, outside any column: an empty registry shows the first-run screen."""
    if not registered_styles():
        first_run_screen()
        st.stop()


def style_picker(key="style"):
    """The style to look at: registered styles only (shows the first-run screen when there are none)."""
    require_registry()
    styles = registered_styles()
    default = styles.index(DEFAULT_STYLE) if DEFAULT_STYLE in styles else 0
    return st.selectbox("Style", styles, index=default, key=key)


def first_run_screen():
    """Empty registry: say so and offer the quick default build, with progress."""
    from registry.catalogue import DEFAULT_CATALOGUE
    from models.weights import STYLES

    st.header("Welcome: the registry is empty")
    st.write(f"No compressed variant is registered yet in **{store().describe()}**. The quick default "
             f"build makes the {len(DEFAULT_CATALOGUE)} catalogue variants of one style (original, LiteRT "
             "FP32/FP16/INT8, pruned, SVD, distilled students) with cheap settings, evaluates them on 3 "
             "bundled photos at 512 px (face regions and face identity included) and registers them. On a 2-core CPU that takes about 5-10 minutes; "
             "`python -m registry build --quick` does the same from a terminal.")
    style = st.selectbox("Style to build", STYLES, index=STYLES.index(DEFAULT_STYLE), key="first_run_style")
    if st.button("Build the quick default registry", type="primary", key="first_run_build"):
        run_build(style=style, quick=True)
        st.rerun()


def run_build(style, quick=True, only=None, catalogue=None):
    """registry.build with a progress bar and a status box; returns the outcomes. Never half-registers:
    the pipeline publishes a version last, after its artifacts and metrics."""
    import registry
    from registry.catalogue import DEFAULT_CATALOGUE

    bar = st.progress(0.0, text="starting…")
    lines = []
    with st.status(f"Building {style} variants…", expanded=True) as status:
        def progress(step, total, message):
            bar.progress(min(step / max(total, 1), 1.0), text=f"{step}/{total}: {message}")

        def log(text):
            lines.append(text)
            status.write(text)

        outcomes = registry.build(registry.BuildOptions(styles=(style,), quick=quick, only=only), store=store(),
                                  progress=progress, catalogue=catalogue or DEFAULT_CATALOGUE, log=log)
        failed = [o for o in outcomes if o.status == "failed"]
        status.update(label=f"Build finished: {len(outcomes) - len(failed)} ok, {len(failed)} failed",
                      state="error" if failed else "complete", expanded=bool(failed))
    registry_changed()
    for o in failed:
        st.error(f"{o.style}/{o.entry} failed and was not registered: {o.message.splitlines()[0]}")
    return outcomes


@st.cache_resource(show_spinner=False)
def this_machine():
    from registry.measure import machine_id

    return machine_id()


def registry_speedups(uri, style):
    """({(variant, size): (speed-up, (lowest, highest))} the Overview shows for THIS machine, note or None).

    The range is the one the build's timed calls allow (the original's p10 / the variant's p90 to the
    original's p90 / the variant's p10; the rule of Compare's own range, live.ratio_range), widened by the
    between-session band, since the build measured in another process at another time (decisions.noise)."""
    from decisions.comparisons import compare
    from decisions.noise import LATENCY_REL_BAND, SESSION_SPEEDUP_REL_BAND, latency_band

    records = records_of(uri, style)
    if not records:
        return {}, "The registry has no evaluation records to compare with."
    comps = [c for c in compare(records) if c.mode == "full"]
    here = [c for c in comps if c.hardware_id == this_machine()]
    if not here:
        return {}, ("The registry's latencies were measured on another machine: the Overview's speed-ups are "
                    "not compared with this page's.")
    base = {(c.size): c for c in here if c.is_baseline}
    out = {}
    for c in here:
        s, b = c.metrics.get("speedup"), base.get(c.size)
        if s is None or b is None:
            continue
        rel = max(latency_band(c, b) / max(c.metrics["p50_ms"], b.metrics["p50_ms"]), LATENCY_REL_BAND)
        low, high = s * (1 - rel), s * (1 + rel)
        if all(m.get(k) for m in (c.metrics, b.metrics) for k in ("p10_ms", "p90_ms")):  # older records: none
            low = min(low, b.metrics["p10_ms"] / c.metrics["p90_ms"])
            high = max(high, b.metrics["p90_ms"] / c.metrics["p10_ms"])
        widen = SESSION_SPEEDUP_REL_BAND
        out[(c.variant, c.size)] = (s, (low * (1 - widen), high * (1 + widen)))
    return out, None
