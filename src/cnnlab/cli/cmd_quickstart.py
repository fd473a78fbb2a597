"""`cnnlab quickstart`: a small study on the embedded digits set, with its report; works offline anywhere."""

from __future__ import annotations

import argparse
from pathlib import Path

from cnnlab.report import build_report
from cnnlab.study import load_spec, run_study

from .cmd_study import print_outcome


def add_parser(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser("quickstart", help="a small study on embedded digits, with its report: works offline")
    p.add_argument("--out", default="cnnlab-quickstart", help="output folder (default: cnnlab-quickstart)")
    p.add_argument(
        "--rerun-changed",
        action="store_true",
        help="train again the runs that an earlier version trained with another config",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    outcome = run_study(load_spec("quickstart"), Path(args.out), rerun_changed=args.rerun_changed)
    print_outcome(outcome)
    if outcome.interrupted:
        return 130
    files = build_report(args.out)
    print(f"report: {files.markdown} (open {files.html} in a browser)")
    return 0
