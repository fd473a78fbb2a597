"""`cnnlab train [CONFIG.yaml] [key=value ...] [--out DIR] [--resume]`: one training run.

Under `torchrun --nproc_per_node N -m cnnlab train ...` the same command trains one run on N processes;
only rank 0 prints.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from cnnlab.builtin import preset_path
from cnnlab.config import RunConfig, load_config
from cnnlab.errors import UserError
from cnnlab.runs import SPLITS
from cnnlab.train import RunResult, resume, train
from cnnlab.train.budget import BUDGET_FILE, parse_budget, train_to_budget
from cnnlab.train.distributed import launched_by_torchrun, writes_results

EXIT = {"completed": 0, "early_stopped": 0, "diverged": 2, "interrupted": 130}


def add_parser(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser(
        "train",
        help="train one run: CONFIG.yaml and/or key=value overrides",
        description="Train one run. Without a config file the defaults train tme2 on CIFAR-10. "
        "`torchrun --nproc_per_node N -m cnnlab train ...` trains it on N processes (DistributedDataParallel).",
    )
    p.add_argument("args", nargs="*", metavar="CONFIG.yaml | key=value", help="a YAML config, then overrides")
    p.add_argument(
        "--preset",
        help="start from a built-in config (fast-80, fast-90, fast-91, fast-93, fast-94; fast with --budget)",
    )
    p.add_argument(
        "--budget",
        metavar="TIME",
        help="with --preset fast: train the fast family's best net that fits TIME here (10m, 90s, 1h30m), "
        "chosen after a short probe of this machine's speed",
    )
    p.add_argument("--out", help="run folder (default: runs/<model>-<source>-<time>)")
    p.add_argument("--resume", action="store_true", help="continue the stopped run in --out")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None, help="progress bar")
    p.set_defaults(run=run, late_words="args")  # overrides after the options are taken too


def parse_config_args(args: list[str], preset: str | None = None) -> tuple[RunConfig, bool]:
    """(config, given): the config from an optional YAML path (or preset) and key=value overrides."""
    path: Path | None = preset_path(preset) if preset else None
    overrides = []
    for arg in args:
        if "=" in arg:
            overrides.append(arg)
        elif path is None:
            path = Path(arg)
        else:
            raise UserError(f"'{arg}' is neither key=value nor the config file (only one config file is allowed)")
    given = path is not None or bool(overrides)
    return load_config(path, overrides), given


def run(args: argparse.Namespace) -> int:
    if args.budget is not None or args.preset == "fast":
        return run_budget(args)
    config, given = parse_config_args(args.args, args.preset)
    if args.resume:
        if not args.out:
            raise UserError("--resume needs --out DIR: the folder of the run to continue")
        result = resume(args.out, config if given else None, progress=args.progress)
    else:
        out = args.out or default_out(config)
        result = train(config, out, progress=args.progress)
    if writes_results():
        print_result(result)
    return EXIT.get(result.status, 1)


def run_budget(args: argparse.Namespace) -> int:
    """`--preset fast --budget T`: probe, choose, train; print the choice and the outcome."""
    if args.budget is None:
        raise UserError("--preset fast is the family of fast-80, fast-90 and fast-91: give --budget TIME (e.g. 10m)")
    if args.preset not in (None, "fast") or args.resume:
        raise UserError(
            "--budget chooses the net and its epochs itself: use it with --preset fast and without --resume"
        )
    if launched_by_torchrun():  # each process would probe and choose alone, and might choose differently
        raise UserError(
            "--budget plans a run for one process: run it without torchrun, or give torchrun the run it chose "
            "(the config.yaml of a budgeted run: torchrun ... -m cnnlab train RUN/config.yaml --out DIR)"
        )
    files = [arg for arg in args.args if "=" not in arg]
    if files:
        raise UserError(f"--budget takes key=value overrides only (such as data.source=...), not '{files[0]}'")
    budget = parse_budget(args.budget)
    out = args.out or str(Path("runs") / f"fast-budget-{time.strftime('%Y%m%d-%H%M%S')}")
    started = time.perf_counter()
    result, plan = train_to_budget(budget, out, args.args, progress=args.progress)
    assert plan.chosen is not None
    print(f"budget {args.budget}: probe {plan.probe_seconds:.0f} s; chose {plan.chosen.label}")
    print_result(result)
    spent = time.perf_counter() - started
    print(f"  {spent:.0f} s of the {budget:.0f} s budget ({spent / budget:.0%}); the choice: {Path(out) / BUDGET_FILE}")
    return EXIT.get(result.status, 1)


def default_out(config: RunConfig) -> str:
    source = Path(config.data.source).name or "data"
    return str(Path("runs") / f"{config.model.name}-{source}-{time.strftime('%Y%m%d-%H%M%S')}")


def print_result(result: RunResult) -> None:
    """The outcome in a few lines: status, best epoch and its figures, where the run is."""
    s = result.summary
    print(f"run: {result.folder.path}  status: {result.status}")
    if s.get("message"):
        print(f"  {s['message']}")
    if s.get("best_epoch"):
        figures = "  ".join(
            f"{split} loss {s[f'{split}_loss']:.4f} top-1 {s[f'{split}_top1']:.2%} top-5 {s[f'{split}_top5']:.2%}"
            for split in SPLITS
            if s.get(f"{split}_loss") is not None
        )
        print(f"  best epoch {s['best_epoch']} of {s['epochs_run']}: {figures}")
        print(f"  {s['params']:,} parameters, {s['seconds']:.1f} s, {s['images_per_second']:,.0f} training images/s")
