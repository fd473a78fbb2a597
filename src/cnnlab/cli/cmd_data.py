"""`cnnlab data SOURCE [--json]`: what a source holds (the quickest way to see a bad folder's error)."""

from __future__ import annotations

import argparse
import json

from cnnlab.data import describe, format_dataset_summary, load


def add_parser(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser("data", help="what a data source holds: splits, counts a class, image size, cache")
    p.add_argument("source", help="cifar10, mnist, fashion-mnist, digits, circles, moons, or a folder")
    p.add_argument("--root", help="downloads and decoded cache (default: $CNNLAB_DATA or ~/.cache/cnnlab)")
    p.add_argument("--image-size", type=int, help="resize every image to this square size")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    info = describe(load(args.source, root=args.root, image_size=args.image_size))
    print(json.dumps(info, indent=2) if args.json else format_dataset_summary(info))
    return 0
