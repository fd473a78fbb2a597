"""Wall-clock seconds from data loaded to a target CIFAR-10 test accuracy, with cnnlab's fast presets.

Picks the preset aimed at the target (fast-80 for up to 80.6%, fast-90 for up to 90%, fast-91 for up
to 91%, fast-93 for up to 93%, fast-94 above), trains it on the CIFAR-10 JPEG copy with the trainer itself, and times
everything after the decoded images are in memory: fitting the preprocessing, the whitening init,
training, and the final test evaluation with test-time augmentation. One line an epoch; last, one JSON
object. With `--seeds`, one run a seed in turn, and the JSON gives each run and their mean +- std
(one seed's accuracy moves by a few tenths of a point): `reached` when the mean reaches the target,
`within_budget` when it does and every run took at most the budget.

    python benchmarks/time_to_accuracy.py --target 0.806 [--budget 300] [--seeds 0 1 2] [--data ROOT] [key=value ...]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import finish, machine, require_cifar_jpeg, spread
from cnnlab.builtin import preset_path
from cnnlab.config import RunConfig, load_config
from cnnlab.data import load
from cnnlab.errors import UserError
from cnnlab.runs import RunFolder
from cnnlab.train import train

PRESETS = [(0.806, "fast-80"), (0.90, "fast-90"), (0.91, "fast-91"), (0.93, "fast-93"), (0.94, "fast-94")]


def preset_for(target: float) -> str:
    """The smallest preset sized for at least `target`."""
    for sized_for, name in PRESETS:
        if target <= sized_for + 1e-9:
            return name
    return PRESETS[-1][1]


def timed_run(config: RunConfig, out: str | None) -> dict[str, Any]:
    """Train `config` (its data already decoded), printing a line an epoch; its test top-1 and seconds."""
    start = time.perf_counter()

    def report(row: dict) -> None:
        test = f"  test top-1 {row['test_top1']:.2%}" if row["test_top1"] is not None else ""
        print(
            f"epoch {row['epoch']:2d}/{config.train.epochs}  train loss {row['train_loss']:.4f} "
            f"top-1 {row['train_top1']:.2%}{test}  elapsed {time.perf_counter() - start:7.1f} s",
            flush=True,
        )

    with tempfile.TemporaryDirectory() as scratch:
        result = train(config, Path(out) if out else Path(scratch) / "run", callbacks=[report])
        seconds = time.perf_counter() - start
    return {
        "seed": config.train.seed,
        "test_top1": result.summary["test_top1"],
        "seconds": round(seconds, 1),
        "images_per_second": result.summary["images_per_second"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", type=float, required=True, help="test top-1 to reach: 0.806 or 80.6")
    parser.add_argument("--budget", type=float, help="seconds allowed (reported as within_budget)")
    parser.add_argument("--seeds", type=int, nargs="+", help="train.seed of each run (default: the preset's)")
    parser.add_argument("--data", help="CIFAR-10 ImageFolder root (default: ../shared/data/cifar10-jpeg)")
    parser.add_argument("--preset", help="use this preset instead of the one sized for the target")
    parser.add_argument("--out", help="run folder (default: a temporary folder; with several seeds, one per seed)")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides (for searching)")
    # key=value words are overrides wherever they stand, so they may follow --seeds' list too
    argv = sys.argv[1:]
    overrides = [word for word in argv if re.match(r"[A-Za-z_][\w.]*=", word)]
    args = parser.parse_args([word for word in argv if word not in overrides])
    if args.overrides:  # what is left in the positional slot is not key=value
        parser.error(f"'{args.overrides[0]}' is not key=value: give overrides such as train.epochs=2")
    args.overrides = overrides
    target = args.target / 100 if args.target > 1 else args.target
    root = require_cifar_jpeg(args.data)
    name = args.preset or preset_for(target)
    base = [f"data.source={root}", "train.progress=false", *args.overrides]
    seeds = args.seeds or [None]
    if len(set(seeds)) < len(seeds):
        parser.error(f"--seeds repeats a seed ({' '.join(map(str, args.seeds))}): give each seed once")
    outs = [args.out and (args.out if len(seeds) == 1 else f"{args.out}/seed{s}") for s in seeds]
    for out in outs:
        if out and RunFolder(out).has_run():  # found now, not after the runs before it
            parser.error(f"'{out}' already holds a run: choose another --out folder")
    try:
        configs = [load_config(preset_path(name), base + ([] if s is None else [f"train.seed={s}"])) for s in seeds]
    except UserError as err:  # a mistyped override: say which, before any training
        parser.error(str(err))
    print(f"machine: {machine()}; target {target:.1%} -> preset {name}", flush=True)
    load(str(root))  # decode once (or find the cache): each clock starts with the data loaded

    runs = []
    for config, out in zip(configs, outs, strict=True):
        run = timed_run(config, out)
        run["reached"] = run["test_top1"] >= target
        run["within_budget"] = None if args.budget is None else bool(run["reached"] and run["seconds"] <= args.budget)
        print(
            f"seed {run['seed']}: test top-1 {run['test_top1']:.2%} (with TTA level {config.train.tta}) after "
            f"{run['seconds']:.1f} s: {'reached' if run['reached'] else 'missed'} {target:.1%}",
            flush=True,
        )
        runs.append(run)

    top1 = [r["test_top1"] for r in runs]
    seconds = [r["seconds"] for r in runs]
    mean_top1 = statistics.fmean(top1)
    reached = mean_top1 >= target
    if len(runs) > 1:
        print(
            f"{len(runs)} seeds: test top-1 {mean_top1:.2%} +- {spread(top1):.2%}, "
            f"{statistics.fmean(seconds):.0f} +- {spread(seconds):.0f} s; "
            f"{sum(r['reached'] for r in runs)} of {len(runs)} reached {target:.1%}",
            flush=True,
        )
    finish(
        {
            "target": target,
            "test_top1": round(mean_top1, 4),
            "test_top1_std": round(spread(top1), 4),
            "seconds": round(statistics.fmean(seconds), 1),
            "seconds_max": max(seconds),
            "reached": reached,
            "budget": args.budget,
            "within_budget": None if args.budget is None else bool(reached and max(seconds) <= args.budget),
            "preset": name,
            "epochs": configs[0].train.epochs,
            "images_per_second": round(statistics.fmean(r["images_per_second"] for r in runs), 1),
            "overrides": args.overrides,
            "runs": runs,
        }
    )


if __name__ == "__main__":
    main()
