"""History: every evaluation over time per version and hardware, trends, flagged regressions, and two runs
side by side."""

import pandas as pd
import plotly.express as px
import streamlit as st

from dashboard_pages import common

st.title("History of evaluations")
st.caption("Every finished evaluation run of every registered version, per machine. A regression is a newest "
           "value worse than that version's earlier runs on the same machine by more than the noise band.")

uri = common.store_key()
common.require_registry()
c1, c2 = st.columns([1, 3])
with c1:
    style = common.style_picker("history_style")
hist = common.history_of(uri, style)
if hist.empty:
    st.info(f"No evaluation runs for {style} yet: run `python -m registry build --quick`.")
    st.stop()
hist = hist.copy()
hist["label"] = "v" + hist["version"].astype(str) + " " + hist["variant"].str.split("/").str[-1]

st.subheader("Flagged regressions")
regs = common.regressions_of(uri, style)
if regs.empty:
    st.success("No regressions: every metric's newest value is inside its noise band (or has no earlier run "
               "on the same machine to compare with).")
else:
    st.error(f"{len(regs)} metric(s) got worse than their earlier runs on the same machine.")
    st.dataframe(regs, hide_index=True)

st.subheader("Trends")
metrics = sorted(hist["metric"].unique())
preferred = next((m for m in metrics if m.endswith(".p50_ms")), metrics[0])
with c2:
    metric = st.selectbox("Metric", metrics, index=metrics.index(preferred), key="history_metric")
labels = sorted(hist["label"].unique(), key=lambda s: int(s.split()[0][1:]))
shown = st.multiselect("Versions", labels, default=labels, key="history_versions")
part = hist[(hist["metric"] == metric) & hist["label"].isin(shown)].sort_values("evaluated_at")
if part.empty:
    st.info("No values for this metric and these versions.")
else:
    fig = px.line(part, x="evaluated_at", y="value", color="label", symbol="env_id", markers=True,
                  hover_data=["cpu", "eval_run_id"], labels={"value": metric, "evaluated_at": "evaluated at (UTC)",
                                                              "label": "version"})
    fig.update_layout(height=440, margin=dict(t=30))
    st.plotly_chart(fig, width="stretch", key="history_chart")
    counts = part.groupby("label").size()
    if counts.max() < 2:
        st.caption("One evaluation per version so far: re-run `python -m registry build` on this or another "
                   "machine (or change the evaluation settings) to see trends.")

st.subheader("Two runs side by side")
runs = (hist.drop_duplicates("eval_run_id").sort_values("evaluated_at", ascending=False)
        [["eval_run_id", "label", "env_id", "evaluated_at"]])
run_label = {r.eval_run_id: f"{r.label} · {r.evaluated_at:%Y-%m-%d %H:%M} · env {r.env_id}" for r in runs.itertuples()}
ids = list(run_label)
if len(ids) < 2:
    st.info("Only one evaluation run: nothing to put side by side yet.")
    st.stop()
r1, r2 = st.columns(2)
with r1:
    a = st.selectbox("Run A", ids, index=0, format_func=run_label.get, key="history_run_a")
with r2:
    b = st.selectbox("Run B", ids, index=1, format_func=run_label.get, key="history_run_b")
va = hist[hist["eval_run_id"] == a].set_index("metric")["value"]
vb = hist[hist["eval_run_id"] == b].set_index("metric")["value"]
side = pd.DataFrame({"A": va, "B": vb})
side["B - A"] = side["B"] - side["A"]
side["B / A"] = side["B"] / side["A"]
st.dataframe(side.reset_index(), hide_index=True, column_config={
    "A": st.column_config.NumberColumn(format="%.4g"), "B": st.column_config.NumberColumn(format="%.4g"),
    "B - A": st.column_config.NumberColumn(format="%.4g"), "B / A": st.column_config.NumberColumn(format="%.3f")})
if hist.loc[hist["eval_run_id"] == a, "env_id"].iloc[0] != hist.loc[hist["eval_run_id"] == b, "env_id"].iloc[0]:
    st.warning("These runs come from different environments: latency and memory differences say as much about "
               "the machines as about the variants.")
