"""`python -m decisions`: scenario -> ranked variants with reasons, from evaluation records.

    python -m decisions --list
    python -m decisions --scenario mobile-cpu-app --records runs/records.json [--json]
    python -m decisions --scenario mobile-cpu-app --param max_mb=6 --records runs/records.json
    python -m decisions --scenario custom --constraint "p90_ms<=900" --weight speed=2 \
        --weight quality=1 --records runs/records.json
    python -m decisions --records runs/records.json --table --why anime/int8-full
    python -m decisions --records runs/records.json --pareto p50_ms,psnr_db

Records come from files written by `python -m evaluation run`. The MLflow registry is read by the
registry package (imports flow registry -> decisions, never back): `python -m registry recommend` takes
the same options (`add_arguments`) and hands its records to `judge`.
"""

import argparse
import json
import math
import sys
from pathlib import Path

from decisions.axes import AXES
from decisions.comparisons import compare
from decisions.pareto import pareto_fronts
from decisions.ratings import explain, rate, render_table
from decisions.recommend import recommend
from decisions.scenarios import BUILTIN, custom_scenario, get_scenario, scenario_params
from evaluation.records import load_records

REGISTRY_MESSAGE = ("the decisions package does not read the MLflow registry (imports flow dashboard -> "
                    "registry -> decisions, never back). Use `python -m registry recommend --scenario NAME` "
                    "for registered variants, or pass the records a run wrote with --records FILE.")


def add_arguments(p):
    p.add_argument("--scenario", help="a built-in scenario name (see --list) or 'custom'")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--records", action="append", default=[], metavar="FILE",
                     help="records JSON file written by `python -m evaluation run` (or a folder of them); repeatable")
    src.add_argument("--registry", action="store_true", help="read records from the MLflow registry (see message)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--env", dest="env_id",
                   help="machine to judge on when the records hold several: a hardware id (hw-...) or an env_id")
    p.add_argument("--mode", choices=("full", "portrait"), default="full",
                   help="judge the full-image network or the portrait pipeline (default full)")
    p.add_argument("--size", type=int, help="input side in px to judge at (default: the scenario's, else the largest)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="a built-in scenario's parameter, e.g. max_mb=6 (see --list)")
    p.add_argument("--constraint", action="append", default=[], metavar="EXPR",
                   help="an extra hard constraint, e.g. 'p90_ms<=900', 'runtime in litert', 'training<=calibration'")
    p.add_argument("--weight", action="append", default=[], metavar="AXIS=W",
                   help="a weight over an axis (size, speed, quality, memory, training, deployment)")
    p.add_argument("--list", action="store_true", help="list the built-in scenarios and exit")
    p.add_argument("--table", action="store_true", help="also print the star table")
    p.add_argument("--why", action="append", default=[], metavar="VARIANT",
                   help="explain every star of a variant ('why 3 stars?'); repeatable")
    p.add_argument("--pareto", metavar="X,Y", help="print the Pareto fronts over two metrics, e.g. p50_ms,lpips")


def _params(items):
    out = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"write a parameter as KEY=VALUE, e.g. max_mb=6. Received: {item!r}")
        try:
            out[key.strip()] = float(raw) if "." in raw or "e" in raw.lower() else int(raw)
        except ValueError:
            raise ValueError(f"parameter {key.strip()!r} needs a number. Received: {item!r}") from None
    return out


def load_record_files(paths):
    records = []
    for raw in paths:
        path = Path(raw)
        files = sorted(path.glob("*.json")) if path.is_dir() else [path]
        if path.is_dir() and not files:
            raise ValueError(f"--records {raw!r}: the folder holds no .json records files")
        for f in files:
            records.extend(load_records(f))
    return records


def build_scenario(args):
    if not args.scenario:
        raise ValueError(f"--scenario is required. Valid scenarios: {', '.join(BUILTIN)}, custom")
    if args.scenario == "custom":
        if args.param:
            raise ValueError("--param applies to built-in scenarios only; a custom scenario takes "
                             "--constraint and --weight")
        if not args.weight:
            raise ValueError("a custom scenario needs at least one --weight AXIS=W (axes: size, speed, quality, "
                             "memory, training, deployment)")
        return custom_scenario("custom", args.constraint, args.weight)
    base = get_scenario(args.scenario, **_params(args.param))
    if args.constraint or args.weight:
        return custom_scenario(base=base, constraints=args.constraint, weights=args.weight)
    return base


def _plain(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def run(args, out=None):
    """Run the command on --records files; returns the exit code (0 ok, 2 usage or input error)."""
    out = out or sys.stdout
    try:
        if args.list:
            for name in BUILTIN:
                params = ", ".join(f"{k}={v}" for k, v in scenario_params(name).items())
                print(get_scenario(name).describe() + (f"\n  parameters: {params}" if params else ""), file=out)
            return 0
        if args.registry:
            print(f"error: {REGISTRY_MESSAGE}", file=sys.stderr)
            return 2
        if not args.records:
            raise ValueError("give the records to judge: --records FILE (written by `python -m evaluation run`)")
        judge(load_record_files(args.records), args, out)
        return 0
    except ValueError as exc:  # bad names, bad files, bad values: one clear line, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2


def judge(records, args, out):
    """Print what `args` asks of these records (recommendation, star table, why, Pareto fronts) to `out`;
    returns the Recommendation (None when none was asked for). Raises ValueError on bad input."""
    comps = compare(records)
    result, rec = {}, None
    if args.scenario or not (args.table or args.why or args.pareto):
        rec = recommend(comps, build_scenario(args), env_id=args.env_id, size=args.size, mode=args.mode)
        result["recommendation"] = rec.to_dict()
    by_name = {}
    for c in comps:
        if (args.env_id is None or args.env_id in (c.env_id, c.hardware_id)) and (
                args.size is None or c.size == args.size) and c.mode == args.mode:
            by_name.setdefault(c.variant, []).append(c)
    unknown = [v for v in args.why if v not in by_name]
    if unknown:
        raise ValueError(f"--why names unknown variant(s) {unknown}. Variants: {', '.join(sorted(by_name))}")
    fronts = pareto_fronts(comps, [m.strip() for m in args.pareto.split(",")]) if args.pareto else []
    if args.json:
        if args.table or args.why:
            result["ratings"] = [{**c.to_dict(), "ratings": {a: r.to_dict() for a, r in rate(c).items()}}
                                 for cs in by_name.values() for c in cs]
        if fronts:
            result["pareto"] = [g.to_dict() for g in fronts]
        print(json.dumps(_plain(result), indent=1), file=out)
        return rec
    if args.table:
        print(render_table([c for cs in by_name.values() for c in cs]) + "\n", file=out)
    for name in args.why:
        for c in by_name[name]:
            print("\n".join(explain(c, a) for a in AXES) + "\n", file=out)
    for g in fronts:
        print(f"Pareto front over {' & '.join(g.objectives)} ({g.key}): "
              + ", ".join(c.variant for c in g.front), file=out)
        for c, by in g.dominated:
            print(f"  dominated: {c.variant} (by {by})", file=out)
        for c, missing in g.unmeasured:
            print(f"  unmeasured: {c.variant} (no {', '.join(missing)})", file=out)
    if rec is not None:
        print(rec.render(), file=out)
    return rec


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m decisions", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
