"""Blind rating: two anonymised cartoons of one photo; pick the better one (or a tie). Votes are stored where
the registry is (registry/votes.py: this machine's SQLite, or the team's tracking server) and turned into an
Elo rating and a MOS-style score per variant (decisions/votes.py)."""

import numpy as np
import pandas as pd
import streamlit as st

from dashboard_pages import common
from decisions.votes import elo_interval_halfwidth, least_compared_pair, scores
from registry.votes import open_votes
from models.fitting import shrink_to_serve

st.title("Blind rating")
st.caption("Which cartoon looks better? The two sides are shuffled and unnamed; the names appear after "
           "you vote. Scores are people's judgements, next to (not instead of) PSNR / SSIM / LPIPS.")

uri = common.store_key()
common.require_registry()
c1, c2 = st.columns([1, 2])
with c1:
    style = common.style_picker("blind_style")
table = common.versions_table(uri, style)
labels = {int(r["version"]): common.version_label(r) for _, r in table.iterrows()}
stable = {int(r["version"]): f"v{int(r['version'])} {r['entry']}" for _, r in table.iterrows()}  # votes keep this
with c2:
    pool = st.multiselect("Variants in the pool (the original included: it is a contestant too)", list(labels),
                          default=list(labels), format_func=lambda v: labels[v], key="blind_pool")
if len(pool) < 2:
    st.info("Pick at least two variants to rate.")
    st.stop()
label, photo = common.photo_picker("blind")
work = shrink_to_serve(photo, 512)

votes_db = open_votes(common.store())
state = st.session_state
pair_key = (style, label, tuple(sorted(pool)))
if state.get("blind_pair_key") != pair_key or state.get("blind_pair") is None:
    rng = np.random.default_rng()
    names = {stable[v]: v for v in pool}
    a, b = least_compared_pair(list(names), votes_db.votes(style), rng)
    state.blind_pair, state.blind_pair_key = (names[a], names[b]), pair_key

left, right = state.blind_pair
try:
    with st.spinner("Running the two variants…"):
        key = common.digest(work)
        out_left, _ = common.cartoon(uri, style, left, "full", key, work)
        out_right, _ = common.cartoon(uri, style, right, "full", key, work)
except (ValueError, FileNotFoundError, OSError) as exc:
    st.error(f"Could not run the variants: {exc}. Pick other variants.")
    st.stop()

a_col, b_col, _ = st.columns([2, 2, 1])  # not full width: the vote buttons stay in view
a_col.image(out_left, caption="A", width="stretch")
b_col.image(out_right, caption="B", width="stretch")


def vote(outcome):
    votes_db.add(style, label, stable[left], stable[right], outcome, voter=None)
    shown = {"left": "A", "right": "B", "tie": "a tie"}[outcome]
    state.blind_last = f"You chose {shown}: A was **{labels[left]}**, B was **{labels[right]}**."
    state.blind_pair = None  # next pair on the rerun


v1, v2, v3, _ = st.columns([4, 3, 4, 2])
v1.button("A is better", on_click=vote, args=("left",), width="stretch", key="vote_a")
v2.button("Tie / can't tell", on_click=vote, args=("tie",), width="stretch", key="vote_tie")
v3.button("B is better", on_click=vote, args=("right",), width="stretch", key="vote_b")
if state.get("blind_last"):
    st.success(state.blind_last)

st.subheader("Scores so far")
rows = scores(votes_db.votes(style))
if not rows:
    st.info("No votes yet for this style: vote above.")
    st.stop()
frame = pd.DataFrame(rows)
frame["elo_band"] = [elo_interval_halfwidth(n) for n in frame["votes"]]
st.dataframe(frame[["variant", "elo", "elo_band", "mos", "votes", "wins", "ties", "losses"]], hide_index=True,
             column_config={
                 "elo": st.column_config.NumberColumn("Elo", format="%.0f",
                                                      help="starts at 1000, K=24, ties count half"),
                 "elo_band": st.column_config.NumberColumn("± (rough)", format="%.0f",
                                                           help="400/sqrt(votes): few votes mean little"),
                 "mos": st.column_config.NumberColumn("MOS (1-5)", format="%.2f",
                                                      help="win 5, tie 3, loss 1, averaged over the variant's votes"),
             })
st.caption(f"{sum(r['votes'] for r in rows) // 2} votes stored in {votes_db.describe()}."
           + ("" if common.store().embedded else " Votes cast on this machine before it joined the server: "
              "`python -m registry --tracking-uri URI votes push`."))
