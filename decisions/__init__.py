"""Decision support: evaluation records -> comparisons -> stars, noise bands, Pareto fronts, scenarios,
recommendations. Pure functions over the plain records of docs/contracts.md (no mlflow, no streamlit).

Sits between registry (above) and evaluation (below). One table per fact:
  axes.py         the metrics a comparison carries and the six rating axes (metric, baseline, unit, label, help)
  scales.py       the star scales, training levels, runtime and precision support
  comparisons.py  records -> one Comparison per (machine, variant, size, mode), ratios against the original
  ratings.py      comparisons -> stars per axis, "why N stars?", the text star table
  noise.py        noise bands: when two values are the same
  pareto.py       Pareto fronts
  scenarios.py    deployment scenarios as data (constraints + weights), registry aliases
  recommend.py    scenario -> ranked variants with reasons
  cli.py          `python -m decisions`
"""
