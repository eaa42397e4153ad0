"""Overview: the star-rating table with the "why" behind every star, and the trade-off charts
(latency vs quality with the Pareto front, a radar per variant, latency vs resolution)."""

import math

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from dashboard_pages import common
from decisions.axes import AXES, AXIS, METRICS
from decisions.comparisons import compare
from decisions.pareto import best_at_their_cost, pareto_fronts
from decisions.ratings import rate

st.title("Overview: what each variant gains and loses")
st.caption("Stars are relative to the original measured on the same hardware at the same input size "
           "(scales in docs/decisions.md). Pick a variant below the table for the why behind its stars.")

uri = common.store_key()
common.require_registry()
f1, f2, f3, f4 = st.columns(4)
with f1:
    style = common.style_picker("overview_style")
records = common.records_of(uri, style)
if not records:
    st.info(f"The {style} variants have no evaluation records yet: run `python -m registry build --quick`.")
    st.stop()
comps = compare(records)
envs = common.environments(records)
with f2:
    hw = st.selectbox("Hardware", list(envs), format_func=lambda e: envs[e], key="overview_env",
                          help="Results from different machines are never mixed: pick one.")
with f3:
    runtimes = sorted({c.runtime for c in comps})
    chosen_rt = st.multiselect("Runtime", runtimes, default=runtimes, key="overview_runtime")
with f4:
    sizes = sorted({c.size for c in comps if c.hardware_id == hw and c.mode == "full"})
    size = st.selectbox("Resolution (px)", sizes, index=len(sizes) - 1, key="overview_size")
picked = [c for c in comps if c.hardware_id == hw and c.size == size and c.mode == "full" and c.runtime in chosen_rt]
if not picked:
    st.info("No variant matches these filters: widen the runtime filter or pick another resolution.")
    st.stop()

versions = {r["variant"]: r["registry"]["version"] for r in records if r.get("registry")}
ratings = {c.variant: rate(c) for c in picked}
st.subheader("Star ratings")
star_rows = []
for c in picked:
    m = c.metrics
    row = {"variant": c.variant, "version": versions.get(c.variant), "runtime": c.runtime,
           "precision": c.precision}
    row.update({axis: common.stars(ratings[c.variant][axis].stars) for axis in AXES})
    row.update({"p50 ms": m.get("p50_ms"), "MB": m.get("file_mb"),
                "PSNR dB": None if m.get("psnr_db") in (None, math.inf) else m.get("psnr_db"),
                "SSIM": m.get("ssim"), "LPIPS": m.get("lpips"), "face SSIM": m.get("face_ssim"),
                "identity": m.get("face_identity")})
    star_rows.append(row)
st.dataframe(pd.DataFrame(star_rows), hide_index=True, column_config={
    **{a: st.column_config.TextColumn(a, help=AXIS[a].help) for a in AXES},
    "p50 ms": st.column_config.NumberColumn(format="%.0f"), "MB": st.column_config.NumberColumn(format="%.2f"),
    "PSNR dB": st.column_config.NumberColumn(format="%.1f", help="empty for the original (identical output)"),
    "SSIM": st.column_config.NumberColumn(format="%.4f"), "LPIPS": st.column_config.NumberColumn(format="%.4f"),
    "face SSIM": st.column_config.NumberColumn(format="%.3f", help="worst of eyes, nose, mouth (empty: no face "
                                                                   "measured); the quality stars read it too"),
    "identity": st.column_config.NumberColumn(format="%.3f", help="face identity: dlib embedding distance to the "
                                                                  "original's cartoon (0 = same; lower is better)")})

why_variant = st.selectbox("Why these stars?", [c.variant for c in picked], key="overview_why")
with st.expander(f"Why {why_variant} has these stars", expanded=False):
    comp = next(c for c in picked if c.variant == why_variant)
    for axis in AXES:
        r = ratings[why_variant][axis]
        st.markdown(f"**{axis}** {common.stars(r.stars)} — {r.value}")
        st.caption(f"scale: {r.scale}")
    if comp.notes:
        st.caption("notes: " + "; ".join(comp.notes))

st.subheader("Latency vs quality")
quality_choices = [m for m in ("lpips", "ssim", "psnr_db") if any(c.metrics.get(m) is not None for c in picked)]
if not quality_choices:
    st.info("No quality measured for these variants.")
    st.stop()
q1, q2 = st.columns([1, 3])
with q1:
    qmetric = st.radio("Quality metric", quality_choices, key="overview_quality",
                       format_func=lambda m: f"{m} ({METRICS[m][2]})")
    st.caption("Bubble area = file size. The line joins the Pareto front: no other variant is both faster "
               "and better on this metric.")
fronts = pareto_fronts([r for r in records if r.get("runtime") in chosen_rt], ("p50_ms", qmetric))
front = next((g for g in fronts if (g.key.get("hardware_id"), g.key.get("size"), g.key.get("mode", "full"))
              == (hw, size, "full")), None)
front_names = [c.variant for c in front.front] if front else []
finite = [c.metrics[qmetric] for c in picked if c.metrics.get(qmetric) not in (None, math.inf)]
cap = (max(finite) + 3.0) if finite else 60.0  # the original's infinite PSNR is drawn just above the best


def yval(c):
    v = c.metrics.get(qmetric)
    return cap if v == math.inf else v


points = pd.DataFrame([{"variant": c.variant, "p50_ms": c.metrics.get("p50_ms"), qmetric: yval(c),
                        "file_mb": c.metrics.get("file_mb") or 0.1, "runtime": c.runtime,
                        "on front": c.variant in front_names} for c in picked
                       if c.metrics.get("p50_ms") is not None and yval(c) is not None])
with q2:
    fig = px.scatter(points, x="p50_ms", y=qmetric, size="file_mb", color="runtime", text="variant",
                     hover_data={"file_mb": ":.2f", "on front": True}, size_max=40,
                     labels={"p50_ms": f"p50 latency at {size} px (ms, lower is better)",
                             qmetric: f"{qmetric} vs original ({METRICS[qmetric][0]}imise)"})
    if front_names:
        fp = points[points["on front"]].sort_values("p50_ms")
        fig.add_trace(go.Scatter(x=fp["p50_ms"], y=fp[qmetric], mode="lines", name="Pareto front",
                                 line=dict(dash="dash", color="#555")))
    if qmetric == "lpips":
        fig.update_yaxes(autorange="reversed")
    fig.update_traces(textposition="top center", cliponaxis=False, selector=dict(mode="markers+text"))
    fig.update_layout(height=480, margin=dict(t=30))
    st.plotly_chart(fig, width="stretch", key="overview_scatter")
if qmetric == "psnr_db":
    st.caption(f"The original's PSNR against itself is infinite: drawn at {cap:.1f} dB.")

st.subheader("Quality vs MACs, per compression family")
base_macs = next((c.metrics.get("macs") for c in picked if c.is_baseline), None)
family_rows = []
for c in picked:
    parts = c.method.split("+")
    family = parts[0] if parts[0] in ("prune", "svd", "distill") else None
    if family is None or not c.metrics.get("macs") or not base_macs:
        continue
    family_rows.append({"variant": c.variant, "family": family + (" + INT8" if len(parts) > 1 else ""),
                        "fewer MACs (x)": base_macs / c.metrics["macs"], "PSNR dB": c.metrics.get("psnr_db"),
                        "face SSIM": c.metrics.get("face_ssim"), "LPIPS": c.metrics.get("lpips")})
if family_rows:
    fam = pd.DataFrame(family_rows).sort_values("fewer MACs (x)")
    metric_options = [m for m in ("PSNR dB", "face SSIM", "LPIPS") if fam[m].notna().any()]
    fam_metric = st.radio("Quality", metric_options, horizontal=True, key="overview_family_metric",
                          help="face SSIM: the weakest of the eyes / nose / mouth regions (when faces were found)")
    # one line per family through its points that nothing of the family beats at their cost; the
    # others (more MACs and less quality than one on the line) drawn as open circles
    sign = -1 if fam_metric == "LPIPS" else 1
    fam = fam[fam[fam_metric].notna()].copy()
    fam["on the line"] = False
    for _, part in fam.groupby("family"):
        best = best_at_their_cost(list(zip(part["fewer MACs (x)"], sign * part[fam_metric])))
        fam.loc[part.index[best], "on the line"] = True
    palette = px.colors.qualitative.Plotly
    colours = {f: palette[i % len(palette)] for i, f in enumerate(sorted(fam["family"].unique()))}
    fam_fig = px.line(fam[fam["on the line"]], x="fewer MACs (x)", y=fam_metric, color="family", markers=True,
                      text="variant", color_discrete_map=colours,
                      labels={fam_metric: f"{fam_metric} vs original at {size} px"})
    for family, part in fam[~fam["on the line"]].groupby("family"):
        fam_fig.add_trace(go.Scatter(x=part["fewer MACs (x)"], y=part[fam_metric], text=part["variant"],
                                     mode="markers+text", name=f"{family} (beaten at its cost)",
                                     marker=dict(symbol="circle-open", size=9, color=colours[family])))
    fam_fig.update_traces(textposition="top center", cliponaxis=False)
    if fam_metric == "LPIPS":
        fam_fig.update_yaxes(autorange="reversed")
    fam_fig.update_layout(height=420, margin=dict(t=30))
    st.plotly_chart(fam_fig, width="stretch", key="overview_family_chart")
    st.caption("Each point is a registered variant; an open circle is beaten by a point of its family on the "
               "line (fewer MACs and better quality). The trained ones (distilled students, recovered pruned "
               "models) are the shipped weights of docs/distillation.md and docs/compression.md.")
else:
    st.info("No pruned, factorised or distilled variant is measured on this hardware at this size yet.")

st.subheader("Radar: stars per axis")
radar_pick = st.multiselect("Variants", [c.variant for c in picked], default=[c.variant for c in picked][:4],
                            key="overview_radar")
radar = go.Figure()
for name in radar_pick:
    r = ratings[name]
    values = [r[a].score or 0 for a in AXES]
    radar.add_trace(go.Scatterpolar(r=values + values[:1], theta=list(AXES) + [AXES[0]], name=name, fill="toself",
                                    opacity=0.5))
radar.update_layout(polar=dict(radialaxis=dict(range=[0, 5], tickvals=[1, 2, 3, 4, 5])), height=460,
                    margin=dict(t=30))
st.plotly_chart(radar, width="stretch", key="overview_radar_chart")
st.caption("Fractional stars (1..5); 0 = not measured (e.g. memory in quick builds).")

st.subheader("Latency vs resolution")
curve = pd.DataFrame([{"variant": c.variant, "size": c.size, "p50_ms": c.metrics.get("p50_ms"), "runtime": c.runtime}
                      for c in comps if c.hardware_id == hw and c.mode == "full" and c.runtime in chosen_rt
                      and c.metrics.get("p50_ms") is not None]).sort_values(["variant", "size"])
labels = {"size": "input side (px)", "p50_ms": "p50 latency (ms)"}
if curve["size"].nunique() >= 2:
    lines = px.line(curve, x="size", y="p50_ms", color="variant", markers=True, labels=labels)
else:  # one size: a line per variant would be a lone dot; bars read better
    lines = px.bar(curve.sort_values("p50_ms"), x="variant", y="p50_ms", color="runtime", labels=labels,
                   title=f"at {curve['size'].iloc[0]} px, the only size measured")
    lines.update_xaxes(categoryorder="total ascending")
lines.update_layout(height=420, margin=dict(t=40))
st.plotly_chart(lines, width="stretch", key="overview_lines")
if curve["size"].nunique() < 2:
    st.caption("Measured at one resolution only: build with several sizes for curves, e.g. "
               "`python -m registry build --sizes 256,512,720`.")
