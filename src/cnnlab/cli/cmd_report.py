"""`cnnlab report STUDY_DIR`: write report.md and report.html beside a study's runs."""

from __future__ import annotations

import argparse

from cnnlab.report import build_report


def add_parser(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser("report", help="write a study's report.md and self-contained report.html")
    p.add_argument("study_dir", help="the study folder")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    files = build_report(args.study_dir)
    print(f"report: {files.markdown} and {files.html} ({len(files.figures)} figures)")
    return 0
