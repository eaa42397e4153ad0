"""Command line of the registry.

    python -m registry build [--quick] [--styles anime,3d] [--only original,fp16] [--images DIR]
    python -m registry list [--style anime] [--json]
    python -m registry history VERSION [--style anime] [--metric p50_ms] [--json]
    python -m registry alias NAME VERSION [--style anime]
    python -m registry fetch VERSION [--style anime]            (prints the version's variant folder)
    python -m registry votes scores [--style anime] [--json]     (blind-rating Elo / MOS of this store's team)
    python -m registry --tracking-uri URI votes push [--from DIR] (this machine's local votes, once)
    python -m registry regressions [--style anime] [--json]
    python -m registry recommend --scenario NAME [--style anime] [--set-alias ALIAS] [--json]

`--tracking-uri URI` (or MLFLOW_TRACKING_URI) points every command at a team's `mlflow server`;
without it the embedded store in lab_data/ is used. VERSION: a number, an alias or `latest` of --style's
model, or a URI naming its style (registry/selectors.py): models:/dctnet-anime/5,
models:/dctnet-anime@realtime, registry:anime/int8-full (the newest version of that catalogue entry).
"""

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # our own bar is enough


VERSION_HELP = ("a number, an alias or 'latest' of --style's model, or models:/dctnet-anime/5, "
                "models:/dctnet-anime@realtime, registry:anime/int8-full")


def _csv(text):
    return [t.strip() for t in text.split(",") if t.strip()]


def _sizes(text):
    try:
        return tuple(int(t) for t in _csv(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sizes must be comma-separated integers. Received: {text!r}")


def _images(text):
    from pathlib import Path

    path = Path(text)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp"))
        if not files:
            raise argparse.ArgumentTypeError(f"--images {text}: no .jpg/.png/.webp photos in that folder")
        return tuple(str(p) for p in files)
    if path.is_file():
        return (str(path),)
    raise argparse.ArgumentTypeError(f"--images must be a photo or a folder of photos. Received: {text!r}")


def _print_table(frame, as_json, empty):
    if as_json:
        print(frame.to_json(orient="records", date_format="iso", indent=1))
    elif frame.empty:
        print(empty)
    else:
        import pandas as pd

        with pd.option_context("display.max_rows", 500, "display.max_columns", 50, "display.width", 200,
                               "display.max_colwidth", 40):
            print(frame.to_string(index=False))


def cmd_build(args, store):
    from tqdm import tqdm

    from registry.pipeline import BuildOptions, build

    options = BuildOptions(styles=tuple(args.styles), only=tuple(args.only) if args.only else None,
                           quick=args.quick, images=args.images, sizes=args.sizes,
                           latency_runs=args.latency_runs, threads=args.threads)
    print(f"building into {store.describe()} ({options.profile} profile)", flush=True)
    bar = tqdm(total=None, unit="variant", dynamic_ncols=True)

    def progress(step, total, message):
        bar.total = total
        bar.n = step
        bar.set_postfix_str(message[:60])
        bar.refresh()

    outcomes = build(options, store=store, progress=progress, log=lambda text: bar.write(text))
    bar.close()
    counts = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    print("done: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    for o in outcomes:
        if o.status == "failed":
            print(f"\n{o.style}/{o.entry} failed:\n{o.message}", file=sys.stderr)
    return 1 if counts.get("failed") else 0


def cmd_list(args, store):
    from registry.queries import latest_metrics, versions

    table = versions(args.style, store)
    metrics = latest_metrics(args.style, store)
    if not metrics.empty:
        wanted = [c for c in ("static.file_bytes", "static.params", "static.macs") if c in metrics.columns]
        wanted += sorted(c for c in metrics.columns if c.endswith((".p50_ms", ".psnr_mean", ".ssim_mean",
                                                                   ".lpips_mean")))
        keep = metrics[["style", "version", "env_id", "evaluated_at", *wanted]]
        table = table.merge(keep, on=["style", "version"], how="left")
    if not args.json:
        table = table.drop(columns=["run_id", "code_version", "created", "entry"], errors="ignore")
    _print_table(table, args.json, f"no versions in {store.describe()} yet: run `python -m registry build --quick`")
    return 0


def cmd_history(args, store):
    from registry.queries import history, resolve_version

    from registry.keys import style_of

    mv = resolve_version(args.style, args.version, store)
    table = history(style_of(mv.name), version=int(mv.version), metric=args.metric, store=store)
    if not args.json and not table.empty:
        table = table.pivot_table(index=["evaluated_at", "env_id", "cpu"], columns="metric", values="value",
                                  aggfunc="first").reset_index()
    _print_table(table, args.json, f"version {mv.version} has no evaluation runs")
    return 0


def cmd_alias(args, store):
    from registry.aliasing import set_alias
    from registry.selectors import selector

    version = set_alias(args.style, args.name, args.version, store)
    print(f"{selector(args.style, args.version).model}@{args.name} -> version {version}")
    return 0


def cmd_votes(args, store):
    import pandas as pd

    from decisions.votes import elo_interval_halfwidth, scores

    from registry.store import data_dir
    from registry.votes import open_votes, push_local

    if args.action == "push":
        pushed, already, kept = push_local(Path(args.source) if args.source else data_dir(), store,
                                           say=lambda text: print(text, file=sys.stderr))
        print(f"votes: {pushed} pushed to {store.uri}, {already} already there, {kept} kept local")
        return 0
    votes = open_votes(store)
    rows = scores(votes.votes(args.style))
    frame = pd.DataFrame(rows, columns=["variant", "elo", "mos", "votes", "wins", "ties", "losses"])
    frame.insert(2, "elo_band", [elo_interval_halfwidth(n) for n in frame["votes"]])
    _print_table(frame.round(2), args.json, f"no votes for {args.style} in {votes.describe()}")
    if not args.json:
        print(f"{int(frame['votes'].sum()) // 2} votes in {votes.describe()}")
    return 0


def cmd_fetch(args, store):
    """The variant folder on stdout (one line, for scripts: `python -m evaluation run --variant URI`)."""
    from registry.aliasing import download_version

    folder, mv = download_version(args.style, args.version, store)
    print(folder)
    return 0


def cmd_regressions(args, store):
    from registry.queries import regressions

    _print_table(regressions(args.style, store), args.json, "no regressions: every metric is inside its noise band")
    return 0


def cmd_recommend(args, store):
    """`python -m decisions`, fed with the registry's records instead of a file."""
    from decisions.cli import judge

    from registry.queries import records

    recs = records(args.style, store=store)
    if not recs:
        print(f"no evaluation records for {args.style} in {store.describe()}: run `python -m registry build`")
        return 1
    try:
        rec = judge(recs, args, sys.stdout)
    except ValueError as exc:  # bad names, bad values: one clear line, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.set_alias:
        from registry.aliasing import set_alias

        winner = rec.winner if rec is not None else None
        versions = {r["variant"]: r["registry"]["version"] for r in recs}
        if winner not in versions:
            print(f"no winner to alias for scenario {args.scenario!r}", file=sys.stderr)
            return 1
        version = set_alias(args.style, args.set_alias, versions[winner], store)
        print(f"dctnet-{args.style}@{args.set_alias} -> version {version} ({winner})")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m registry", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracking-uri", help="a team's mlflow server (default: $MLFLOW_TRACKING_URI or the "
                                               "embedded store in lab_data/)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build", help="compress, evaluate and register the catalogue of default variants")
    p.add_argument("--quick", action="store_true", help="cheap configs, 3 sample photos at 512 px with face regions, 3 timed runs")
    p.add_argument("--styles", type=_csv, default=["anime"], help="comma-separated styles (default: anime)")
    p.add_argument("--only", type=_csv, help="comma-separated catalogue entries (see docs/registry.md)")
    p.add_argument("--images", type=_images, help="a photo or a folder of photos to evaluate on")
    p.add_argument("--sizes", type=_sizes, help="square evaluation sizes, e.g. 512,720")
    p.add_argument("--latency-runs", type=int, help="timed runs per size")
    p.add_argument("--threads", type=int, help="LiteRT threads (default: all cores)")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("list", help="every version with its latest metrics per machine")
    p.add_argument("--style", help="one style (default: all)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("history", help="every evaluation of one version over time")
    p.add_argument("version", help=VERSION_HELP)
    p.add_argument("--style", default="anime")
    p.add_argument("--metric", help="a metric key or part of one, e.g. p50_ms")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("alias", help="point an alias (realtime, mobile, quality, balanced, ...) at a version")
    p.add_argument("name")
    p.add_argument("version", help=VERSION_HELP)
    p.add_argument("--style", default="anime")
    p.set_defaults(func=cmd_alias)

    p = sub.add_parser("votes", help="blind-rating votes: scores, or push this machine's votes to a server")
    p.add_argument("action", choices=("scores", "push"))
    p.add_argument("--style", default="anime")
    p.add_argument("--from", dest="source", metavar="DIR",
                   help="push: the lab-data folder whose votes.sqlite and mlflow.db to read (default: "
                        "$DCTNET_LAB_DATA or lab_data/)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_votes)

    p = sub.add_parser("fetch", help="download a version's variant folder (cached) and print its path")
    p.add_argument("version", help=VERSION_HELP)
    p.add_argument("--style", default="anime")
    p.set_defaults(func=cmd_fetch)

    p = sub.add_parser("regressions", help="metrics worse than the version's earlier runs on the same machine")
    p.add_argument("--style")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_regressions)

    p = sub.add_parser("recommend", help="rank the registered variants for a scenario (decisions.recommend)")
    from decisions.cli import add_arguments

    add_arguments(p)  # the same options as `python -m evaluation recommend`
    p.add_argument("--style", default="anime")
    p.add_argument("--set-alias", metavar="ALIAS", help="also point ALIAS at the winner")
    p.set_defaults(func=cmd_recommend)

    args = parser.parse_args(argv)
    from registry.store import Store

    from mlflow.exceptions import MlflowException

    from registry.pipeline import store_trouble

    try:
        store = Store(uri=args.tracking_uri)
        return args.func(args, store)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # the store is busy, unreachable or from another MLflow: say so, in one line
        trouble = store_trouble(exc)
        if trouble is None and not isinstance(exc, MlflowException):
            raise
        first = (trouble or str(exc).strip().splitlines()[0]) if str(exc).strip() else type(exc).__name__
        print(f"error: {first}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
