"""`python -m models compress METHOD --style anime [--options] --out PATH [--json]`.

Options are the fields of the method's config dataclass (`--ratio 0.5`, `--finetune-steps 200`,
`--layers Conv_4,Conv_5`); the config validates them and its errors name the bad value. `--source DIR`
starts from a saved Keras variant (a combination: prune, then `tflite_int8_full --source pruned/`).
Keras results are saved as a variant folder at --out (`models.variant_io`); TFLite results as --out.
"""

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from models.compression import METHODS, get_method
from models.compression.base import config_from
from models.dctnet import Architecture
from models.variant import KerasVariant
from models.variant_io import ARCH_FILE, load_variant, save_variant
from models.weights import STYLES, load_model


def _all_fields():
    fields = {}
    for method in METHODS.values():
        for f in dataclasses.fields(method.config_class):
            fields.setdefault(f.name, f)
    return fields


def register(subparsers):
    p = subparsers.add_parser("compress", help="make a compressed variant (prune, svd, tflite_*) and print its report",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("method", choices=sorted(METHODS))
    p.add_argument("--style", default="anime", choices=STYLES)
    p.add_argument("--source", help="a saved variant folder to start from (default: the style's original)")
    p.add_argument("--out", required=True, help="variant folder (Keras methods) or .tflite path (TFLite methods)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    group = p.add_argument_group("method options (fields of the method's config; see `docs/compression.md`)")
    for name, f in _all_fields().items():
        if name == "output_path":
            continue  # that is --out
        default = f.default if f.default is not dataclasses.MISSING else None
        group.add_argument(f"--{name.replace('_', '-')}", dest=f"opt_{name}", default=argparse.SUPPRESS,
                           metavar="VALUE", help=f"(default {default!r})")
    p.set_defaults(func=run)


def build_config(method, options):
    """The method's config from {field: text}; an option of another method is an error."""
    fields = {f.name: f for f in dataclasses.fields(method.config_class)}
    foreign = sorted(set(options) - set(fields))
    if foreign:
        raise ValueError(f"option(s) {', '.join('--' + n.replace('_', '-') for n in foreign)} do not apply to "
                         f"method {method.name!r}; its options: "
                         f"{', '.join('--' + n.replace('_', '-') for n in fields if n != 'output_path')}")
    return config_from(method.config_class, options, text=True)


def run(args):
    method = get_method(args.method)
    options = {k[len("opt_"):]: v for k, v in vars(args).items() if k.startswith("opt_")}
    config = build_config(method, options)
    if method.artifact == "tflite":
        config = dataclasses.replace(config, output_path=args.out)  # a file method writes --out itself
    else:
        out = Path(args.out)
        if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / ARCH_FILE).exists())):
            raise ValueError(f"--out {args.out} exists and is not a saved variant folder; refusing to overwrite it")
    if args.source:
        try:
            source = load_variant(args.source)
        except FileNotFoundError as exc:
            raise ValueError(f"--source: {exc}") from None
    else:
        source = KerasVariant(load_model(args.style), Architecture(), name=f"{args.style}/original")
    print(f"{method.name}: compressing {source.name} ...", file=sys.stderr)
    result = method.apply(source, config)
    if result.variant is not None:
        save_variant(result.variant, args.out)
    report = result.report
    if args.json:
        print(json.dumps({**report.to_dict(), "out": args.out}, indent=2, default=str))
    else:
        print(report.render())
        print(f"saved: {args.out}")
