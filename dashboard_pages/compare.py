"""Compare: run registered variants live on your photos, side by side with the original DCT-Net.

Outputs, a before/after slider and a diff heatmap against the original, per-image PSNR / SSIM / LPIPS
and the latency measured right here, and a zip of everything.
"""

import pandas as pd
import streamlit as st

from dashboard_pages import common
from dashboard_pages.live import diff_heatmap, score
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

rows, outputs = [], {}
bar = st.progress(0.0, text="loading variants…")
total = len(photos) * (len(chosen) + 1)
done = 0
try:
    for label, photo in photos:
        work = shrink_to_serve(photo, max_side)
        key = common.digest(work)
        runs = [(original_version, "original")] + [(v, labels[v]) for v in chosen]
        results = {}
        for version, name in runs:
            bar.progress(done / total, text=f"{label}: running {name} ({done + 1}/{total})…")
            live = common.live_variant(uri, style, version, mode)
            out, ms = common.cartoon(uri, style, version, mode, key, work)
            results[version] = (live, out, ms)
            done += 1
        ref = results[original_version][1]
        outputs[label] = (work, results)
        for version, (live, out, ms) in results.items():
            q = score(ref, out, metric) if version != original_version else {"psnr": float("inf"), "ssim": 1.0,
                                                                              "lpips": 0.0 if metric else None}
            rows.append({"photo": label, "version": version, "variant": live.variant, "runtime": live.runtime,
                         "precision": live.precision, "size": f"{work.shape[1]}x{work.shape[0]}",
                         "latency_ms": ms, "psnr_db": q["psnr"], "ssim": q["ssim"], "lpips": q["lpips"]})
except (ValueError, FileNotFoundError, OSError) as exc:  # registry errors and unreadable artifacts
    bar.empty()
    st.error(f"Could not run the variants: {exc}. Rebuild the registry (`python -m registry build --quick`) "
             "or pick other versions.")
    st.stop()
bar.progress(1.0, text=f"done: {len(photos)} photo(s) x {len(chosen) + 1} networks")

for label, (work, results) in outputs.items():
    st.subheader(f"{label}  ·  {work.shape[1]}x{work.shape[0]} px")
    ref = results[original_version][1]
    tiles = [("Photo", work, "the input, at the working size")] + [
        (f"original (v{original_version})", ref, f"{results[original_version][2]:.0f} ms")]
    for version in chosen:
        live, out, ms = results[version]
        q = next(r for r in rows if r["photo"] == label and r["version"] == version)
        lp = f" · LPIPS {q['lpips']:.3f}" if q["lpips"] is not None else ""
        tiles.append((labels[version], out, f"{ms:.0f} ms · {q['psnr_db']:.1f} dB · SSIM {q['ssim']:.3f}{lp}"))
    per_row = 4
    for start in range(0, len(tiles), per_row):
        cols = st.columns(per_row)
        for col, (name, image, caption) in zip(cols, tiles[start:start + per_row]):
            col.image(image, caption=f"{name}: {caption}", width="stretch")

st.subheader("Per-image metrics (against the original's output)")
frame = pd.DataFrame(rows)
st.dataframe(frame, hide_index=True, width="stretch", column_config={
    "latency_ms": st.column_config.NumberColumn("latency (ms)", format="%.0f",
                                                help="one call, measured here (cached for a repeated photo)"),
    "psnr_db": st.column_config.NumberColumn("PSNR (dB)", format="%.2f"),
    "ssim": st.column_config.NumberColumn("SSIM", format="%.4f"),
    "lpips": st.column_config.NumberColumn("LPIPS", format="%.4f", help="lower is better; empty: unavailable")})
st.caption("Latency is one call on this machine, now, while other sessions may be running: for decisions use "
           "the Overview page's repeated measurements.")

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
    for version, (live, out, _) in results.items():
        files[f"{stem}/v{version}_{live.variant.split('/', 1)[-1]}.png"] = out
files["metrics.csv"] = frame.to_csv(index=False)
st.download_button("Download all outputs and metrics (zip)", common.zip_images(files),
                   file_name=f"dctnet_{style}_compare.zip", mime="application/zip", key="compare_download")
