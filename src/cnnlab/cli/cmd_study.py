"""`cnnlab study SPEC.yaml|BUILTIN [key=value ...] [--out DIR] [--workers N | --engine ray ...] [--rerun-changed]
[--max-runs N]`: run an ablation study, in this process, in a local pool of processes, or on Ray."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from cnnlab.builtin import STUDY_ALIASES, study_names
from cnnlab.config import StudySpec
from cnnlab.config.study import folder_name
from cnnlab.errors import UserError
from cnnlab.report import build_report
from cnnlab.study import StudyOutcome, expand, load_spec, run_study
from cnnlab.study.spec import MAX_RUNS, run_names

if TYPE_CHECKING:
    from cnnlab.study.ray_engine import RayEngine


def add_parser(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser(
        "study",
        help="run a study: variants x seeds, finished runs skipped; writes results.csv and the report",
        description="Run (or continue) a study. Overrides apply to every run, e.g. train.epochs=2 for a dry pass.",
    )
    p.add_argument("spec", nargs="?", help="a study YAML file or a built-in study name (see --list)")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="applied to every run")
    p.add_argument("--out", help="study folder (default: studies/<name>, the name made a safe folder name)")
    p.add_argument("--workers", type=int, default=1, help="runs at once, in separate processes (cores are split)")
    p.add_argument(
        "--rerun-changed",
        action="store_true",
        help="train again (replacing them) the runs whose folders hold a run of another config than the plan's; "
        "without it such a study stops before training anything",
    )
    p.add_argument(
        "--max-runs",
        type=int,
        default=MAX_RUNS,
        metavar="N",
        help=f"refuse a study of more than N runs (default {MAX_RUNS:,})",
    )
    p.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="local: this machine (--workers); ray: each run a Ray task, on a local Ray or a cluster (--address)",
    )
    p.add_argument(
        "--address",
        help="ray: the cluster to join (auto, or its head's HOST:PORT); default: a local Ray of this machine's cores",
    )
    p.add_argument("--cpus-per-run", type=int, help="ray: CPUs each run asks for, its torch threads (default 1)")
    p.add_argument("--gpus-per-run", type=float, help="ray: GPUs each run asks for, fractions allowed (default 0)")
    p.add_argument("--list", action="store_true", help="list the built-in studies")
    p.add_argument("--no-report", action="store_true", help="do not write the report at the end")
    p.set_defaults(run=run, late_words="overrides")  # overrides after the options are taken too


def run(args: argparse.Namespace) -> int:
    if args.list:
        for name in study_names():
            spec = load_spec(name)
            runs = expand(spec)
            summary = spec.description.strip().split(": ")[0].split(". ")[0]
            aliases = [old for old, new in STUDY_ALIASES.items() if new == name]
            also = f" (also: {', '.join(aliases)})" if aliases else ""
            print(f"{name:18s} {len(run_names(runs)):2d} variants x {len(spec.seeds)} seeds  {summary}{also}")
        return 0
    if not args.spec:
        raise UserError("give a study: a YAML file or a built-in name (cnnlab study --list)")
    bad = [o for o in args.overrides if "=" not in o]
    if bad:
        raise UserError(f"'{bad[0]}' is not key=value: give one study, then overrides such as train.epochs=2")
    engine = _engine(args)
    spec = load_spec(args.spec, max_runs=args.max_runs)
    out = Path(args.out) if args.out else default_folder(spec)
    outcome = run_study(
        spec,
        out,
        args.overrides,
        workers=args.workers,
        max_runs=args.max_runs,
        rerun_changed=args.rerun_changed,
        engine=engine,
    )
    print_outcome(outcome)
    if not args.no_report and not outcome.interrupted:
        files = build_report(out)
        print(f"report: {files.markdown} and {files.html}")
    return 130 if outcome.interrupted else 0


def default_folder(spec: StudySpec) -> Path:
    """studies/<name>, the spec's name made a folder name: inside the working folder, whatever the name says
    ('../x', '/tmp/x'); --out is the way to put a study elsewhere."""
    return Path("studies") / folder_name(spec.name, default="study")


def _engine(args: argparse.Namespace) -> RayEngine | None:
    """The engine the flags ask for: None for the local one."""
    ray_flags = {"--address": args.address, "--cpus-per-run": args.cpus_per_run, "--gpus-per-run": args.gpus_per_run}
    if args.engine == "local":
        given = [flag for flag, value in ray_flags.items() if value is not None]
        if given:
            raise UserError(f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} for --engine ray")
        return None
    if args.workers != 1:
        raise UserError("--workers is for the local engine: with --engine ray, Ray runs as many runs at once as fit")
    from cnnlab.study.ray_engine import RayEngine

    return RayEngine(args.address, args.cpus_per_run or 1, args.gpus_per_run or 0.0)


def print_outcome(outcome: StudyOutcome) -> None:
    print(
        f"study: {outcome.folder}  {outcome.planned} runs: {len(outcome.trained)} trained, "
        f"{len(outcome.skipped)} already done, {len(outcome.failed)} failed ({outcome.seconds:.0f} s)"
    )
    for folder, message in outcome.failed.items():
        print(f"  failed: {folder}: {message}")
    for folder in outcome.busy:
        print(f"  left to the process training it: {folder} (run the study again once it is done)")
    print(f"results: {outcome.folder / 'results.csv'}")
