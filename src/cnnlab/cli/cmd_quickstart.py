"""`cnnlab quickstart`: a first look that works offline anywhere (the embedded digits set)."""

from __future__ import annotations

import argparse

from cnnlab.data import describe, format_summary, load


def add_parser(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser("quickstart", help="embedded data, works offline anywhere")
    p.add_argument("--out", default="cnnlab-quickstart", help="output folder")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    print(format_summary(describe(load("digits"))))
    return 0
