"""Recommend: choose a scenario (or set constraints and weights); see the ranked variants, the excluded ones
and why; point the scenario's registry alias at the winner."""

import pandas as pd
import streamlit as st

from dashboard_pages import common
from decisions.axes import AXES
from decisions.recommend import recommend
from decisions.scenarios import ALIASES, BUILTIN, custom_scenario, get_scenario, scenario_params

st.title("Recommend a variant for a scenario")
st.caption("Hard constraints exclude; weights over the star axes rank what is left; differences inside the "
           "noise band are ties (docs/decisions.md).")

uri = common.store_key()
common.require_registry()
c1, c2, c3 = st.columns([1, 2, 1])
with c1:
    style = common.style_picker("rec_style")
records = common.records_of(uri, style)
if not records:
    st.info(f"The {style} variants have no evaluation records yet: run `python -m registry build --quick`.")
    st.stop()
with c2:
    name = st.selectbox("Scenario", list(BUILTIN), key="rec_scenario",
                        format_func=lambda n: f"{BUILTIN[n]().title} ({n})")
envs = common.environments(records)
with c3:
    env_id = st.selectbox("Hardware", list(envs), format_func=lambda e: envs[e], key="rec_env")

base = BUILTIN[name]()
st.write(base.description + (f"  \n*S0's hand-written advice:* {base.s0_advice}" if base.s0_advice else ""))
with st.expander("Adjust the scenario: parameters, extra constraints, weights", expanded=False):
    params = {}
    defaults = scenario_params(name)
    cols = st.columns(max(len(defaults), 1))
    for col, (param, default) in zip(cols, defaults.items()):
        params[param] = col.number_input(param, value=float(default), min_value=0.0, key=f"rec_p_{name}_{param}")
    extra = st.text_area("Extra constraints, one per line (e.g. `p90_ms<=900`, `runtime in litert`, "
                         "`training<=calibration`)", key="rec_extra", height=80)
    weight_cols = st.columns(len(AXES))
    base_weights = dict(base.weights)
    weights = {a: col.slider(a, 0.0, 10.0, float(base_weights.get(a, 0)), 0.5, key=f"rec_w_{name}_{a}")
               for col, a in zip(weight_cols, AXES)}

try:
    scenario = get_scenario(name, **{k: (int(v) if isinstance(defaults[k], int) else v) for k, v in params.items()})
    lines = [line.strip() for line in extra.splitlines() if line.strip()]
    if lines or weights != {a: float(base_weights.get(a, 0)) for a in AXES}:
        scenario = custom_scenario(base=scenario, constraints=lines, weights=weights)
    result = recommend(records, scenario, env_id=env_id)
except ValueError as exc:
    st.error(f"{exc}")
    st.stop()

st.markdown("**Constraints:** " + ("; ".join(f"`{c}`" for c in scenario.constraints) or "none") +
            "  \n**Weights:** " + ", ".join(f"{a} {w:g}" for a, w in result.axes_used.items()))
for warning in result.warnings:
    st.warning(warning)
if result.ranked:
    st.success(f"**Recommended:** {result.winner_reason}")
    if result.runner_up_reason:
        st.info(f"**Runner-up:** {result.runner_up_reason}")
else:
    st.error("No variant meets every constraint: relax one (see the exclusions below).")

versions = {r["variant"]: r["registry"]["version"] for r in records if r.get("registry")}
st.subheader("Ranking")
ranked = pd.DataFrame([{"rank": r.rank, "variant": r.comparison.variant, "version": versions.get(r.comparison.variant),
                        "score": r.score, **{a: common.stars(r.stars[a]) for a in AXES},
                        "tie with": r.tied_with or ""} for r in result.ranked])
if not ranked.empty:
    st.dataframe(ranked, hide_index=True, column_config={
        "score": st.column_config.NumberColumn(format="%.2f", help="weighted mean of fractional stars, 1..5")})
st.subheader("Excluded, and why")
if result.excluded:
    st.dataframe(pd.DataFrame([{"variant": c.variant, "version": versions.get(c.variant), "why": "; ".join(why)}
                               for c, why in result.excluded]), hide_index=True)
else:
    st.write("Nothing excluded: every variant meets the constraints.")

st.subheader("Registry alias")
if result.winner is None or result.winner not in versions:
    st.info("No winner to point an alias at.")
    st.stop()
alias_for = {v: k for k, v in ALIASES.items()}
a1, a2 = st.columns([1, 2])
with a1:
    alias = st.text_input("Alias", value=alias_for.get(name, name.split("-")[0]), key=f"rec_alias_{name}")
winner_version = versions[result.winner]
table = common.versions_table(uri, style)
current = table[table["aliases"].fillna("").str.split(",").apply(lambda names: alias in names)]
with a2:
    now = (f"now @{alias} -> v{int(current['version'].iloc[0])} {current['entry'].iloc[0]}" if not current.empty
           else f"@{alias} is not set yet")
    st.write(f"{now}. The winner is v{winner_version} {result.winner}.")
    if st.button(f"Point @{alias} at v{winner_version}", type="primary", key="rec_set_alias"):
        import registry

        try:
            registry.set_alias(style, alias, winner_version, common.store())
        except ValueError as exc:
            st.error(str(exc))
        else:
            common.registry_changed()
            st.success(f"dctnet-{style}@{alias} -> version {winner_version} ({result.winner})")
