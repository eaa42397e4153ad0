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

from models.weights import STYLES


def _parse_value(text, field):
    """Text -> None / bool / int / float / tuple (comma list for tuple fields) / str."""
    low = text.strip().lower()
    if low in ("none", "null"):
        return None
    if low in ("true", "false"):
        return low == "true"
    if "tuple" in str(field.type):
        return tuple(part.strip() for part in text.split(",") if part.strip())
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _all_fields():
    from models.compression import METHODS

    fields = {}
    for method in METHODS.values():
        for f in dataclasses.fields(method.config_class):
            fields.setdefault(f.name, f)
    return fields


def register(subparsers):
    from models.compression import METHODS

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
    return method.config_class(**{k: _parse_value(v, fields[k]) for k, v in options.items()})


def run(args):
    from models.compression import get_method
    from models.variant import KerasVariant
    from models.dctnet import Architecture

    method = get_method(args.method)
    options = {k[len("opt_"):]: v for k, v in vars(args).items() if k.startswith("opt_")}
    config = build_config(method, options)
    if "output_path" in {f.name for f in dataclasses.fields(method.config_class)}:
        config = dataclasses.replace(config, output_path=args.out)  # a file method writes --out itself
    else:
        from pathlib import Path

        from models.variant_io import ARCH_FILE

        out = Path(args.out)
        if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / ARCH_FILE).exists())):
            raise ValueError(f"--out {args.out} exists and is not a saved variant folder; refusing to overwrite it")
    if args.source:
        from models.variant_io import load_variant

        try:
            source = load_variant(args.source)
        except FileNotFoundError as exc:
            raise ValueError(f"--source: {exc}") from None
    else:
        from models.weights import load_model

        source = KerasVariant(load_model(args.style), Architecture(), name=f"{args.style}/original")
    print(f"{method.name}: compressing {source.name} ...", file=sys.stderr)
    result = method.apply(source, config)
    if result.variant is not None:
        from models.variant_io import save_variant

        save_variant(result.variant, args.out)
    report = result.report
    if args.json:
        print(json.dumps({**report.to_dict(), "out": args.out}, indent=2, default=str))
    else:
        print(report.render())
        print(f"saved: {args.out}")
