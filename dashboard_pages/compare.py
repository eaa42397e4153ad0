"""Compare: run registered variants live on your photos, side by side with the original DCT-Net.

Outputs, a before/after slider and a diff heatmap against the original, per-image PSNR / SSIM / LPIPS
and face identity, the latency measured right here (warm-up, then the median of a few timed calls) beside
the Overview's speed-up, and a zip of everything.
"""

import pandas as pd
import streamlit as st

from dashboard_pages import common
from dashboard_pages.live import TIMED_RUNS, agrees, diff_heatmap, ratio_range, score
from dashboard_pages.slider import before_after
from models.fitting import shrink_to_serve

st.title("Compare variants on your photos")
st.caption("Every variant and the original run here, now, on the same pixels; quality is measured against "
           "the original's output on that photo.")

uri = common.store_key()
common.require_registry()
c1, c2, c3 = st.columns([1, 1, 1])
with c1:
    style = common.style_picker("compare_style")
table = common.versions_table(uri, style)
originals = table[table["entry"] == "original"]
if originals.empty:
    st.error(f"The {style} registry has no original version (catalogue entry `original`), so there is nothing "
             "to compare against: run `python -m registry build --only original`.")
    st.stop()
original_version = int(originals["version"].max())
others = table[table["entry"] != "original"].sort_values("version")
with c2:
    max_side = st.select_slider("Working size (short side, px)", [256, 384, 512, 720], value=512,
                                key="compare_size",
                                help="Photos are shrunk to this (INTER_AREA, as the official pipeline does) "
                                     "before every variant runs: bigger is slower.")
with c3:
    portrait = False
    if common.portrait_available():
        portrait = st.toggle("Portrait mode (faces re-drawn by the head network)", value=False,
                             key="compare_portrait")
mode = "portrait" if portrait else "full"

labels = {int(r["version"]): common.version_label(r) for _, r in others.iterrows()}
by_entry = {r["entry"]: int(r["version"]) for _, r in others.iterrows()}
aliased = [int(r["version"]) for _, r in others.iterrows() if r["aliases"]]
default = list(dict.fromkeys([by_entry[e] for e in common.DEFAULT_ENTRIES if e in by_entry] + aliased))[:6]
chosen = st.multiselect("Variants (by version; aliases shown with @)", list(labels), default=default,
                        format_func=lambda v: labels[v], key="compare_variants")
photos = common.photos_picker("compare")
if not chosen:
    st.info("Pick at least one variant to compare with the original.")
    st.stop()

metric, note = common.lpips_metric()
if note:
    st.caption(f"⚠️ {note}")

runs = TIMED_RUNS
identity_note = common.identity_unavailable()
registry_speedups, registry_note = common.registry_speedups(uri, style)
rows, outputs = [], {}
bar = st.progress(0.0, text="loading variants…")
try:
    versions = [original_version] + list(chosen)
    lives = [common.live_variant(uri, style, v, mode) for v in versions]
    for n, (label, photo) in enumerate(photos):
        work = shrink_to_serve(photo, max_side)

        def progress(done, total, text, n=n, label=label):
            bar.progress((n + done / max(total, 1)) / len(photos), text=f"{label}: {text}")

        measured = common.measured_pass(uri, style, tuple(versions), mode, common.digest(work), work, lives,
                                        runs, progress)
        results = {v: (live, out, timing) for v, live, (out, timing) in zip(versions, lives, measured)}
        outputs[label] = (work, results)
        ref, ref_timing = results[original_version][1], results[original_version][2]
        identity = common.identity_distances(common.digest(work), work, ref,
                                             {v: r[1] for v, r in results.items()}) if not identity_note else {}
        side = min(work.shape[:2])
        for version, (live, out, timing) in results.items():
            is_ref = version == original_version
            q = score(ref, out, metric) if not is_ref else {"psnr": float("inf"), "ssim": 1.0,
                                                            "lpips": 0.0 if metric else None}
            speedup = ref_timing.median_ms / timing.median_ms
            lo, hi = ratio_range(ref_timing, timing)
            overview = registry_speedups.get((live.variant, side))  # (speed-up, (lowest, highest)) or None
            rows.append({"photo": label, "version": version, "variant": live.variant, "runtime": live.runtime,
                         "precision": live.precision, "size": f"{work.shape[1]}x{work.shape[0]}",
                         "latency_ms": timing.median_ms, "speedup": speedup,
                         "speedup_range": f"{lo:.2f}-{hi:.2f}x",
                         "overview_speedup": overview[0] if overview else None,
                         "overview_range": f"{overview[1][0]:.2f}-{overview[1][1]:.2f}x" if overview else None,
                         "agrees": None if overview is None or is_ref else agrees(overview, lo, hi),
                         "first_call_ms": timing.first_ms if timing.cold else None, "timed_runs": timing.runs,
                         "psnr_db": q["psnr"], "ssim": q["ssim"], "lpips": q["lpips"],
                         "identity": identity.get(version)})
except (ValueError, FileNotFoundError, OSError, RuntimeError) as exc:  # registry errors, unreadable artifacts
    bar.empty()
    st.error(f"Could not run the variants: {exc}. Rebuild the registry (`python -m registry build --quick`) "
             "or pick other versions.")
    st.stop()
bar.progress(1.0, text=f"done: {len(photos)} photo(s) x {len(chosen) + 1} networks, each warmed up once and "
                       f"timed {runs} times")

for label, (work, results) in outputs.items():
    st.subheader(f"{label}  ·  {work.shape[1]}x{work.shape[0]} px")
    ref = results[original_version][1]
    tiles = [("Photo", work, "the input, at the working size")] + [
        (f"original (v{original_version})", ref, f"{results[original_version][2].median_ms:.0f} ms")]
    for version in chosen:
        live, out, timing = results[version]
        q = next(r for r in rows if r["photo"] == label and r["version"] == version)
        lp = f" · LPIPS {q['lpips']:.3f}" if q["lpips"] is not None else ""
        ident = f" · identity {q['identity']:.3f}" if q["identity"] is not None else ""
        tiles.append((labels[version], out, f"{timing.median_ms:.0f} ms ({q['speedup']:.2f}x) · "
                                            f"{q['psnr_db']:.1f} dB · SSIM {q['ssim']:.3f}{lp}{ident}"))
    per_row = 4
    for start in range(0, len(tiles), per_row):
        cols = st.columns(per_row)
        for col, (name, image, caption) in zip(cols, tiles[start:start + per_row]):
            col.image(image, caption=f"{name}: {caption}", width="stretch")
    lines = []
    for r in rows:
        if r["photo"] != label or r["version"] == original_version:
            continue
        here = (f"{r['speedup']:.2f}x {'faster' if r['speedup'] >= 1 else 'slower'} than the original here "
                f"({r['latency_ms']:.0f} vs {results[original_version][2].median_ms:.0f} ms, range "
                f"{r['speedup_range']})")
        if r["overview_speedup"] is None:
            there = "the Overview has no speed-up for it at this size on this machine"
        else:
            side = min(work.shape[:2])
            there = (f"Overview ({side}x{side} px) {r['overview_speedup']:.2f}x (range {r['overview_range']}): "
                     + ("consistent (inside the noise band)" if r["agrees"] else "NOT consistent: outside the "
                        "noise band (a loaded machine, or a different input size)"))
        lines.append(f"- **{labels[r['version']]}**: {here}; {there}")
    if lines:
        st.markdown(f"**Speed on {label}** (median of {runs} timed calls after a warm-up):\n" + "\n".join(lines))

st.subheader("Per-image metrics (against the original's output)")
frame = pd.DataFrame(rows)
ORDER = ("photo", "variant", "latency_ms", "speedup", "speedup_range", "overview_speedup", "overview_range", "agrees",
         "first_call_ms", "psnr_db", "ssim", "lpips", "identity", "version", "runtime", "precision", "size", "timed_runs")
st.dataframe(frame, hide_index=True, width="stretch", column_order=ORDER, column_config={
    "latency_ms": st.column_config.NumberColumn(
        "latency (ms)", format="%.0f",
        help=f"median of {runs} timed calls after one untimed warm-up call at this input size"),
    "speedup": st.column_config.NumberColumn("speed-up here", format="%.2fx",
                                             help="the original's median / this variant's median, same photo, "
                                                  "same pass (above 1: faster than the original)"),
    "speedup_range": st.column_config.TextColumn(
        "speed-up range", help="from the slowest and fastest timed calls of the two (the noise band here)"),
    "overview_speedup": st.column_config.NumberColumn(
        "Overview speed-up", format="%.2fx",
        help="the registry's speed-up at this size on this machine (Overview; empty: not measured here)"),
    "overview_range": st.column_config.TextColumn(
        "Overview range", help="the speed-ups the registry's timed calls allow (the original's p10 / this "
                               "variant's p90 to p90 / p10), at least the latency noise band (docs/decisions.md)"),
    "agrees": st.column_config.CheckboxColumn(
        "agrees", help="the Overview's range and this page's range overlap (docs/decisions.md)"),
    "first_call_ms": st.column_config.NumberColumn(
        "first call (ms)", format="%.0f",
        help="the untimed warm-up call, when it was the first at this input size: includes LiteRT's "
             "re-allocation / XNNPACK weight packing or Keras tracing; not a speed measurement"),
    "timed_runs": st.column_config.NumberColumn("timed calls"),
    "psnr_db": st.column_config.NumberColumn("PSNR (dB)", format="%.2f"),
    "ssim": st.column_config.NumberColumn("SSIM", format="%.4f"),
    "lpips": st.column_config.NumberColumn("LPIPS", format="%.4f", help="lower is better; empty: unavailable"),
    "identity": st.column_config.NumberColumn(
        "face identity", format="%.3f",
        help="distance between dlib face embeddings of this cartoon and the original's (0 = same; dlib's "
             "same-person threshold on photos is 0.6); mean over faces; empty: no face found")})
st.caption(f"Latency: per variant and input size, one untimed warm-up call, then the median of {runs} timed "
           "calls, interleaved over the variants so a change of load on this shared machine hits them all "
           "alike; 'first call' is that warm-up call (cold: one-time set-up at a new input size). A repeated "
           "photo shows the times measured when it was first run. The Overview's numbers are the registry's "
           "(its build's warm-up, then timed runs, at square sizes). " + (registry_note or ""))
if identity_note:
    st.caption(f"⚠️ {identity_note}")

st.subheader("Inspect one variant")
i1, i2 = st.columns([1, 1])
with i1:
    photo_label = st.selectbox("Photo", list(outputs), key="inspect_photo")
with i2:
    inspect = st.selectbox("Variant", chosen, format_func=lambda v: labels[v], key="inspect_variant")
work, results = outputs[photo_label]
ref, out = results[original_version][1], results[inspect][1]
s1, s2 = st.columns([1, 1])
with s1:
    st.markdown("**Before / after** (drag the slider: original left, variant right)")
    before_after(ref, out, "original", labels[inspect], width=min(480, work.shape[1] * 2))
with s2:
    st.markdown("**Where they differ** (mean |difference| per pixel; bright = 64+ grey levels)")
    row = next(r for r in rows if r["photo"] == photo_label and r["version"] == inspect)
    st.image(diff_heatmap(ref, out), width="stretch",
             caption=f"{labels[inspect]} vs original: PSNR {row['psnr_db']:.2f} dB, SSIM {row['ssim']:.4f}")

files = {}
for label, (work, results) in outputs.items():
    stem = label.rsplit(".", 1)[0]
    files[f"{stem}/input.png"] = work
    for version, (live, out, _timing) in results.items():
        files[f"{stem}/v{version}_{live.variant.split('/', 1)[-1]}.png"] = out
files["metrics.csv"] = frame.to_csv(index=False)
st.download_button("Download all outputs and metrics (zip)", common.zip_images(files),
                   file_name=f"dctnet_{style}_compare.zip", mime="application/zip", key="compare_download")
