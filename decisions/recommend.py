"""Scenario recommendations over evaluation records (pure functions).

`recommend(records, scenario)` applies the scenario's hard constraints, ranks the rest by the weighted
fractional stars of `decisions.ratings`, calls differences inside the noise band (`decisions.noise`) ties,
and says why the winner and the runner-up stand where they do.
"""

import math
from dataclasses import dataclass, field

from decisions.axes import AXES, AXIS
from decisions.comparisons import Comparison, as_comparisons
from decisions.noise import SIZE_REL_BAND, axis_tie, latency_band, latency_band_ms, same_within_noise
from decisions.pareto import dominates
from decisions.ratings import rate_axis
from decisions.scales import QUALITY_SCALES
from decisions.scenarios import Scenario
from models.variant import TRAINING_LEVELS

FLOAT_PRECISIONS = ("fp32", "fp16", "mixed-fp16")


@dataclass
class Ranked:
    rank: int
    comparison: Comparison
    score: float
    stars: dict  # axis -> stars (None if unmeasured)
    tied_with: str | None = None  # the variant it ties with inside the noise band

    def to_dict(self):
        return {"rank": self.rank, "variant": self.comparison.variant, "score": round(self.score, 3),
                "stars": self.stars, "tied_with": self.tied_with}


@dataclass
class Recommendation:
    scenario: Scenario
    hardware_id: str | None
    size: int | None
    ranked: list = field(default_factory=list)
    excluded: list = field(default_factory=list)  # (Comparison, [reasons])
    winner_reason: str = ""
    runner_up_reason: str = ""
    warnings: list = field(default_factory=list)
    axes_used: dict = field(default_factory=dict)
    env_ids: list = field(default_factory=list)  # the producer's env_ids of the compared records

    @property
    def winner(self):
        return self.ranked[0].comparison.variant if self.ranked else None

    def to_dict(self):
        return {"scenario": self.scenario.name, "title": self.scenario.title, "hardware_id": self.hardware_id,
                "env_ids": self.env_ids, "size": self.size, "winner": self.winner, "winner_reason": self.winner_reason,
                "runner_up_reason": self.runner_up_reason, "axes_used": self.axes_used,
                "constraints": [str(c) for c in self.scenario.constraints],
                "ranked": [r.to_dict() for r in self.ranked],
                "excluded": [{"variant": c.variant, "reasons": why} for c, why in self.excluded],
                "warnings": self.warnings}

    def render(self):
        s = self.scenario
        lines = [f"Scenario {s.name}: {s.title} (machine {self.hardware_id}, env {', '.join(self.env_ids)}, "
                 f"{self.size} px)"]
        if s.s0_advice:
            lines.append(f"  S0's hand-written advice: {s.s0_advice}")
        lines.append("  constraints: " + ("; ".join(map(str, s.constraints)) or "none"))
        total = sum(self.axes_used.values()) or 1
        lines.append("  weights: " + ", ".join(f"{a} {w / total:.0%}" for a, w in self.axes_used.items()))
        if self.ranked:
            lines.append(f"  Recommended: {self.winner_reason}")
            if self.runner_up_reason:
                lines.append(f"  Runner-up:   {self.runner_up_reason}")
        else:
            lines.append("  No variant meets every constraint.")
        if self.ranked:
            lines.append("  ranking (score = weighted stars, 1..5):")
        for r in self.ranked:
            stars = " ".join(f"{a}={'-' if r.stars[a] is None else r.stars[a]}" for a in self.axes_used)
            tie = f"  (tie with {r.tied_with} within noise)" if r.tied_with else ""
            lines.append(f"    {r.rank}. {r.comparison.variant:<28} {r.score:.2f}  {stars}{tie}")
        if self.excluded:
            lines.append("  excluded:")
            for c, why in self.excluded:
                lines.append(f"    - {c.variant}: {'; '.join(why)}")
        for w in self.warnings:
            lines.append(f"  WARNING: {w}")
        return "\n".join(lines)


def _select_machine(comps, wanted):
    """The hardware_id to judge on: `wanted` may be a hardware_id or one of the producer's env_ids."""
    # listed in the order of their producers' env_ids (readable), not of their hashes
    machines = sorted({c.hardware_id for c in comps},
                      key=lambda m: (sorted(c.env_id for c in comps if c.hardware_id == m), m))
    if wanted is not None:
        if wanted in machines:
            return wanted
        match = next((c.hardware_id for c in comps if c.env_id == wanted), None)
        if match is None:
            raise ValueError(f"Unknown env_id {wanted!r}. Machines in these records: "
                             + ("; ".join(_describe(comps, m) for m in machines) or "none"))
        return match
    if len(machines) > 1:
        raise ValueError(f"records come from {len(machines)} machines and are never mixed silently: choose one "
                         f"with env_id (--env). Machines: " + "; ".join(_describe(comps, m) for m in machines))
    return machines[0] if machines else None


def _describe(comps, machine):
    mine = [c for c in comps if c.hardware_id == machine]
    env = mine[0].env
    gpu = env.get("gpu")
    gpu = (gpu.get("name") if isinstance(gpu, dict) else gpu) or "none"
    return (f"{machine} = env {', '.join(sorted({c.env_id for c in mine}))} ({env.get('cpu') or '?'}, "
            f"gpu {gpu}, host {env.get('hostname') or '?'})")


def _select_size(sizes, wanted, warnings):
    if wanted in sizes:
        return wanted
    if wanted is None:
        return max(sizes)
    nearest = min(sizes, key=lambda s: (abs(s - wanted), -s))
    warnings.append(f"the scenario targets {wanted} px but these records were measured at "
                    f"{', '.join(map(str, sorted(sizes)))} px only: judged at {nearest} px "
                    + (f"(latency at {wanted} px will be higher)" if nearest < wanted else "(check at the target size)"))
    return nearest


def _int8_warnings(comps):
    out = []
    floats = [c for c in comps if c.precision in FLOAT_PRECISIONS and c.metrics.get("p50_ms")]
    for c in comps:
        if not c.precision.startswith("int8") or not c.metrics.get("p50_ms"):
            continue
        same_rt = [f for f in floats if f.runtime == c.runtime] or floats
        for f in sorted(same_rt, key=lambda f: f.metrics["p50_ms"])[:1]:
            if c.metrics["p50_ms"] > f.metrics["p50_ms"] and not same_within_noise(c, f, "p50_ms"):
                out.append(f"{c.variant} ({c.precision}) is SLOWER than float {f.variant} ({f.precision}) on this "
                           f"machine: p50 {c.metrics['p50_ms']:.0f} ms vs {f.metrics['p50_ms']:.0f} ms at {c.size} px "
                           f"({c.hardware_id}, {c.env.get('cpu') or 'cpu ?'})")
    return out


def phrase(comp):
    """The variant in one line of plain language, relative to the original."""
    m, parts = comp.metrics, []
    b = comp.base_metrics
    if comp.is_baseline:
        parts.append("the original itself")
    elif m.get("speedup") is not None:
        s = m["speedup"]
        band = latency_band_ms((m["p50_ms"], b["p50_ms"]), (m.get("std_ms"), b.get("std_ms")))
        if abs(m["p50_ms"] - b["p50_ms"]) <= band:
            parts.append("as fast as the original (within the noise band)")
        else:
            parts.append(f"{s:.1f}x faster than the original" if s >= 1 else f"{1 / s:.1f}x slower than the original")
    if m.get("p50_ms") is not None:
        parts.append(f"p50 {m['p50_ms']:.0f} ms")
    if not comp.is_baseline:
        q = []
        if m.get("psnr_db") is not None:
            q.append(f"{m['psnr_db']:.1f} dB PSNR")
        if m.get("ssim") is not None:
            q.append(f"SSIM {m['ssim']:.3f}")
        if m.get("lpips") is not None:
            q.append(f"LPIPS {m['lpips']:.3f}")
        if q:
            parts.append("at " + ", ".join(q) + " vs the original")
        if m.get("size_reduction") is not None:
            r = m["size_reduction"]
            parts.append(f"same file size ({m['file_mb']:.2f} MB)" if abs(r - 1) <= SIZE_REL_BAND * max(r, 1)
                         else f"{r:.1f}x smaller ({m['file_mb']:.2f} MB)" if r > 1
                         else f"{1 / r:.1f}x larger ({m['file_mb']:.2f} MB)")
    return ", ".join(parts)


def recommend(records, scenario, env_id=None, size=None, mode="full"):
    """Rank the variants for a Scenario. Records (or Comparisons) from one machine, or choose one with env_id
    (a hardware_id or any of the producer's env_ids on that machine). `mode`: full or portrait pipeline."""
    if not isinstance(scenario, Scenario):
        raise ValueError(f"scenario must be a Scenario (see decisions.scenarios.get_scenario). "
                         f"Received: {type(scenario).__name__}")
    comps = as_comparisons(records)
    warnings = []
    modes = sorted({c.mode for c in comps})
    if comps and mode not in modes:
        raise ValueError(f"no records in mode {mode!r}. Modes in these records: {', '.join(modes)}")
    comps = [c for c in comps if c.mode == mode]
    env = _select_machine(comps, env_id)
    comps = [c for c in comps if c.hardware_id == env]
    if not comps:
        return Recommendation(scenario, env, size, warnings=["no records"])
    chosen = _select_size(sorted({c.size for c in comps}), size or scenario.size, warnings)
    comps = [c for c in comps if c.size == chosen]
    if scenario.device and any(c.device != scenario.device for c in comps):
        devices = sorted({c.device for c in comps})
        warnings.append(f"the scenario targets {scenario.device} hardware but these variants were measured on "
                        f"{', '.join(devices)} ({env}): their speed says little about {scenario.device}")
    warnings.extend(_int8_warnings(comps))
    for c in comps:
        if c.baseline is None:
            warnings.append(f"{c.variant}: no original measured on {env} at {chosen} px, ratios unavailable")

    eligible, excluded = [], []
    for c in comps:
        failures = [why for ok, why in (k.check(c) for k in scenario.constraints) if not ok]
        (excluded.append((c, failures)) if failures else eligible.append(c))

    # an axis counts only where every eligible variant is measured on it (else it would favour the unmeasured)
    weights = {a: w for a, w in scenario.weights if w > 0}
    quality_keys = [k for k in QUALITY_SCALES if eligible and all(c.metrics.get(k) is not None for c in eligible)]
    axes_used = {}
    for axis, w in weights.items():
        if not eligible:
            axes_used[axis] = w
            continue
        if axis == "quality" and not quality_keys:
            warnings.append("quality not measured for every eligible variant: its weight is ignored")
            continue
        missing = [c.variant for c in eligible if rate_axis(c, axis, quality_keys).score is None]
        if missing:
            warnings.append(f"{axis} not measured for {', '.join(missing)}: its weight is ignored")
            continue
        axes_used[axis] = w
    total = sum(axes_used.values())

    def score(c):
        if not total:
            return 0.0
        return sum(w * rate_axis(c, a, quality_keys).score for a, w in axes_used.items()) / total

    dom_metrics = [m for a in axes_used for m in (quality_keys if a == "quality" else AXIS[a].metrics)
                   if all(c.metrics.get(m) is not None for c in eligible)]
    scored = [(c, score(c), sum(dominates(c, o, dom_metrics) for o in eligible)) for c in eligible]
    # a variant dominating another scores at least as much (monotone scales) and wins the tie-break
    scored.sort(key=lambda t: (-t[1], -t[2], t[0].variant))
    ranked, leader = [], None
    for i, (c, s, _) in enumerate(scored):
        tie = leader is not None and all(axis_tie(leader.comparison, c, a, quality_keys) for a in axes_used)
        rank = leader.rank if tie else i + 1
        stars = {a: rate_axis(c, a, quality_keys).stars for a in AXES}
        entry = Ranked(rank, c, s, stars, leader.comparison.variant if tie else None)
        ranked.append(entry)
        if not tie:
            leader = entry
    rec = Recommendation(scenario, env, chosen, ranked, excluded, warnings=warnings, axes_used=axes_used,
                         env_ids=sorted({c.env_id for c in comps}))
    _reasons(rec, quality_keys, total, score)
    return rec


def _short(comp, axis):
    """An axis' headline value in a few characters, for 'behind the winner on speed (1.4x vs 2.6x)'."""
    m = comp.metrics
    value = AXIS[axis].short
    if axis == "training":
        return TRAINING_LEVELS[m["training_level"]]
    if value is None or m.get(value[0]) is None:
        return "n/a"
    if axis == "quality" and math.isinf(m["psnr_db"]):
        return "identical"
    return value[1].format(m[value[0]])


def _reasons(rec, quality_keys, total, score):
    if not rec.ranked:
        return
    top = rec.ranked[0]
    text = f"{top.comparison.variant}: {phrase(top.comparison)}"
    # the excluded variants that would have ranked higher, and the constraint that stopped each
    better = sorted(((c, score(c), why) for c, why in rec.excluded if total), key=lambda t: -t[1])
    better = [(c, why) for c, s, why in better if s > top.score][:2]
    if better:
        text += "; " + "; ".join(f"{c.variant} ({phrase(c)}) {why[0]}" for c, why in better)
    rec.winner_reason = text
    if len(rec.ranked) < 2:
        rec.runner_up_reason = "no other variant meets every constraint"
        return
    second = rec.ranked[1]
    a, b = top.comparison, second.comparison
    text = f"{b.variant}: {phrase(b)}"
    if second.tied_with:
        text += (f"; a TIE with {second.tied_with}: every weighted axis differs by less than the noise band "
                 f"(latency band {latency_band(a, b):.0f} ms)")
    else:
        gaps = sorted(((w * (rate_axis(a, ax, quality_keys).score - rate_axis(b, ax, quality_keys).score), ax)
                       for ax, w in rec.axes_used.items()), reverse=True)
        axis = gaps[0][1]
        ra, rb = rate_axis(a, axis, quality_keys), rate_axis(b, axis, quality_keys)
        text += (f"; behind the winner mainly on {axis} ({_short(b, axis)} vs {_short(a, axis)}, {rb.stars}* vs "
                 f"{ra.stars}*; score {second.score:.2f} vs {top.score:.2f})")
        if axis_tie(a, b, axis, quality_keys):
            text += (f"; CAUTION: that {axis} difference is inside the noise band, the order rests on the other "
                     f"axes only as far as they differ beyond it")
    rec.runner_up_reason = text
