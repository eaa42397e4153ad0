"""The per-layer INT8 sensitivity chart (docs/data/int8_sensitivity_<style>.json, written by
`python -m evaluation sensitivity`): per layer, PSNR when it alone is INT8 and when it alone stays float,
with full INT8 and the float ceiling as lines and the layers the mixed variant keeps float marked."""

import json
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

DATA = Path(__file__).resolve().parent.parent / "docs" / "data"


def load_table(style):
    path = DATA / f"int8_sensitivity_{style}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def frame(table):
    """One row per layer: psnr alone INT8, psnr alone float, gain (dB), kept float by the mix."""
    kept = set((table.get("mix") or {}).get("float_layers") or [])
    return pd.DataFrame([{"layer": r["layer"] + (" (glue)" if r["kind"] == "glue" else ""),
                          "alone INT8": r["alone_int8"]["psnr"], "alone float": r["alone_float"]["psnr"],
                          "gain dB": r["psnr_gain_alone_float"], "kept float": r["layer"] in kept}
                         for r in table["rows"]])


def figure(table):
    df = frame(table)
    fig = go.Figure()
    fig.add_bar(x=df["layer"], y=df["gain dB"], name="PSNR gained when left float alone (dB)",
                marker_color=["#d62728" if k else "#1f77b4" for k in df["kept float"]],
                text=["float in the mix" if k else "" for k in df["kept float"]], textposition="outside")
    fig.add_scatter(x=df["layer"], y=table["all_float"]["psnr"] - df["alone INT8"], mode="markers",
                    name="PSNR lost when quantized alone (dB)", marker={"symbol": "diamond", "size": 9})
    fig.update_layout(yaxis_title="dB", xaxis_tickangle=-45, height=420, legend={"orientation": "h"},
                      margin={"t": 30})
    return fig
