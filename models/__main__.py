"""Command line: `python -m models cartoonize | import-weights | compress | distill` (see --help of each)."""

import argparse
import sys
import time

from models.images import ImageError
from models.weights import NETWORKS, STYLES, WeightsError


def _max_side(text):
    if text.lower() == "none":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--max-side must be an integer or 'none'. Received: {text!r}")
    if value < 16:
        raise argparse.ArgumentTypeError(f"--max-side must be >= 16. Received: {value}")
    return value


def cmd_cartoonize(args):
    from models.images import load_image, save_image
    from models.processing import Cartoonizer, ProcessingConfig, keras_network
    from models.weights import load_model

    photo = load_image(args.input)
    model = load_model(args.style)
    network = keras_network(model)
    config = ProcessingConfig(max_side=args.max_side)
    if args.portrait:
        from models.portrait import PortraitCartoonizer, load_head_network

        head_model, head_source = load_head_network(args.style, bg_model=model)
        head = network if head_model is model else keras_network(head_model)
        cartoonizer = PortraitCartoonizer(network, head, config, head_source=head_source)
    else:
        cartoonizer = Cartoonizer(network, config)
    start = time.perf_counter()
    result = cartoonizer(photo)
    save_image(result, args.output)
    print(f"{args.output}: {result.shape[1]}x{result.shape[0]} {args.style} cartoon "
          f"in {time.perf_counter() - start:.2f} s")
    if args.portrait:
        report = cartoonizer.last
        stages = ", ".join(f"{k[:-3]} {v:.0f} ms" for k, v in report.stages().items())
        print(f"portrait mode: {report.faces_used} of {report.faces_found} faces restyled with the head network "
              f"({cartoonizer.head_source}); {stages}")
        for note in report.notes:
            print(f"note: {note}")


def cmd_import_weights(args):
    from models.weights import import_weights

    dest, fp = import_weights(args.source, args.style, args.network)
    print(f"imported {args.source} -> {dest} (fingerprint {fp})")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m models", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("cartoonize", help="cartoonize one photo with the original DCT-Net")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--style", default="anime", choices=STYLES)
    p.add_argument("--max-side", type=_max_side, default=720,
                   help="shrink so the short side is at most this (official: 720), or 'none'")
    p.add_argument("--portrait", action="store_true",
                   help="official portrait pipeline: restyle each face with the head network and blend it in")
    p.set_defaults(func=cmd_cartoonize)

    p = sub.add_parser("import-weights", help="import official weights (.tflite, TF1 .pb or checkpoint)")
    p.add_argument("source")
    p.add_argument("--style", required=True, choices=STYLES)
    p.add_argument("--network", default="bg", choices=NETWORKS)
    p.set_defaults(func=cmd_import_weights)

    from models import distill_cli
    from models.compression import cli as compress_cli

    for module in (compress_cli, distill_cli):  # sub-commands that live beside their method
        module.register(sub)

    args = parser.parse_args(argv)
    try:
        args.func(args)
    except (ImageError, WeightsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
