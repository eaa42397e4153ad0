"""Pareto fronts over comparisons: the variants no other variant beats on every objective.

`pareto_fronts(records, ("p50_ms", "lpips"))` gives one front per machine (`hardware_id`), input size and
mode, never mixing machines unless asked.
"""

from dataclasses import dataclass, field

from decisions.axes import metric_direction
from decisions.comparisons import as_comparisons


def _oriented(comp, metric):
    value = comp.metrics.get(metric)
    return None if value is None else (value if metric_direction(metric) == "max" else -value)


def _beats(va, vb):
    """Higher-is-better vectors: va is no worse on every coordinate and strictly better on one."""
    return all(x >= y for x, y in zip(va, vb)) and any(x > y for x, y in zip(va, vb))


def dominates(a, b, objectives):
    """a is no worse than b on every objective and strictly better on one (both must be measured)."""
    va, vb = [_oriented(a, m) for m in objectives], [_oriented(b, m) for m in objectives]
    if None in va or None in vb:
        return False
    return _beats(va, vb)


@dataclass
class ParetoGroup:
    key: dict  # e.g. {"hardware_id": "hw-3f2a9c1d", "size": 512}
    objectives: tuple
    front: list = field(default_factory=list)  # Comparisons, sorted by the first objective, best first
    dominated: list = field(default_factory=list)  # (Comparison, name of one variant dominating it)
    unmeasured: list = field(default_factory=list)  # (Comparison, missing objectives)

    def to_dict(self):
        return {"key": self.key, "objectives": list(self.objectives),
                "front": [c.variant for c in self.front],
                "dominated": [{"variant": c.variant, "dominated_by": by} for c, by in self.dominated],
                "unmeasured": [{"variant": c.variant, "missing": miss} for c, miss in self.unmeasured]}


def pareto_fronts(records, objectives, by=("hardware_id", "size", "mode"), mix_envs=False):
    """One ParetoGroup per value of `by` (Comparison attributes, e.g. add "runtime" for one front per runtime).

    Objectives are METRICS names (direction from METRICS: p50_ms is minimised, psnr_db maximised, ...).
    Leaving both "hardware_id" and "env_id" out of `by` mixes machines: that needs mix_envs=True.
    """
    objectives = tuple(objectives)
    if len(objectives) < 2:
        raise ValueError(f"a Pareto front needs at least two objectives. Received: objectives={objectives!r}")
    for m in objectives:
        metric_direction(m)  # raises on an unknown name, listing the valid ones
    valid_by = ("hardware_id", "env_id", "size", "mode", "runtime", "device", "precision", "style")
    bad = [k for k in by if k not in valid_by]
    if bad:
        raise ValueError(f"Unknown grouping {bad}. Valid groupings: {', '.join(valid_by)}")
    if "hardware_id" not in by and "env_id" not in by and not mix_envs:
        raise ValueError("grouping without hardware_id would mix results from different machines; pass "
                         f"mix_envs=True to do it on purpose. Received: by={tuple(by)!r}")
    groups = {}
    for comp in as_comparisons(records):
        groups.setdefault(tuple(getattr(comp, k) for k in by), []).append(comp)
    out = []
    for key, comps in sorted(groups.items(), key=lambda kv: str(kv[0])):
        g = ParetoGroup(dict(zip(by, key)), objectives)
        measured = []
        for c in comps:
            missing = [m for m in objectives if c.metrics.get(m) is None]
            (g.unmeasured.append((c, missing)) if missing else measured.append(c))
        for c in measured:
            winner = next((o for o in measured if dominates(o, c, objectives)), None)
            (g.dominated.append((c, winner.variant)) if winner else g.front.append(c))
        g.front.sort(key=lambda c: -_oriented(c, objectives[0]))
        out.append(g)
    return out


def best_at_their_cost(points):
    """Indices of the (saving, quality) pairs, both higher-is-better, that no other pair matches or beats
    on both: the line a quality-vs-MACs chart draws (a point off it is beaten at no extra cost)."""
    return [i for i, p in enumerate(points) if not any(_beats(other, p) for other in points)]
