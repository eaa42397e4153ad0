"""Blind-rating votes -> scores: an Elo rating and a MOS-style score per variant, and the next pair to show.

A vote is {style, photo, left, right, outcome (left | right | tie), voter, created}; where votes are
stored is the registry's business (registry/votes.py: a local SQLite file, or the team's tracking server).
Both scores come from the same rows:
- Elo (logistic, K = 24, start 1000, ties count half), replayed in vote order, so it is deterministic;
- MOS-style: each vote gives the winner 5 and the loser 1 (a tie 3 to both) and a variant's MOS is the
  mean over its votes, on S0's 1..5 scale, with the count beside it (few votes mean little).
"""

import math

OUTCOMES = ("left", "right", "tie")
ELO_START = 1000.0
ELO_K = 24.0
MOS_POINTS = {"win": 5.0, "tie": 3.0, "loss": 1.0}


def expected(ra, rb):
    """Elo's expected score of a player rated ra against one rated rb."""
    return 1.0 / (1.0 + 10.0 ** ((rb - ra) / 400.0))


def elo(votes, k=ELO_K, start=ELO_START):
    """{variant: rating} after replaying the votes in order (a tie scores 0.5 for both)."""
    ratings = {}
    for v in votes:
        a, b = v["left"], v["right"]
        ra, rb = ratings.setdefault(a, start), ratings.setdefault(b, start)
        sa = {"left": 1.0, "right": 0.0, "tie": 0.5}[v["outcome"]]
        ea = expected(ra, rb)
        ratings[a] = ra + k * (sa - ea)
        ratings[b] = rb + k * ((1.0 - sa) - (1.0 - ea))
    return ratings


def scores(votes):
    """Rows {variant, elo, mos, votes, wins, ties, losses}, best Elo first."""
    stats = {}
    for v in votes:
        for side, other in (("left", "right"), ("right", "left")):
            s = stats.setdefault(v[side], {"wins": 0, "ties": 0, "losses": 0})
            if v["outcome"] == "tie":
                s["ties"] += 1
            elif v["outcome"] == side:
                s["wins"] += 1
            else:
                s["losses"] += 1
    ratings = elo(votes)
    rows = []
    for name, s in stats.items():
        n = s["wins"] + s["ties"] + s["losses"]
        mos = (s["wins"] * MOS_POINTS["win"] + s["ties"] * MOS_POINTS["tie"] + s["losses"] * MOS_POINTS["loss"]) / n
        rows.append({"variant": name, "elo": ratings[name], "mos": mos, "votes": n, **s})
    rows.sort(key=lambda r: (-r["elo"], r["variant"]))
    return rows


def least_compared_pair(variants, votes, rng):
    """Two different variants to show next: the pair with the fewest votes so far (random among equals),
    so the ratings fill in evenly; order randomised so neither side is favoured."""
    variants = sorted(set(variants))
    if len(variants) < 2:
        raise ValueError(f"blind rating needs at least two variants. Received: {variants}")
    counts = {}
    for v in votes:
        key = tuple(sorted((v["left"], v["right"])))
        counts[key] = counts.get(key, 0) + 1
    pairs = [(a, b) for i, a in enumerate(variants) for b in variants[i + 1:]]
    fewest = min(counts.get(p, 0) for p in pairs)
    candidates = [p for p in pairs if counts.get(p, 0) == fewest]
    a, b = candidates[int(rng.integers(len(candidates)))]
    return (a, b) if rng.random() < 0.5 else (b, a)


def elo_interval_halfwidth(n_votes):
    """A rough +- band for an Elo from n votes (400 / sqrt(n)): shown so nobody over-reads 3 votes."""
    return math.inf if n_votes == 0 else 400.0 / math.sqrt(n_votes)
