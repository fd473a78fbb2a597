"""Training to a time budget, measured: does `--budget T` end within T and match the best fixed preset?

For each budget (2, 5, 10 and 20 minutes unless --budgets says otherwise) it runs what
`cnnlab train --preset fast --budget T` runs (`train_to_budget`: probe, choose, train, final evaluation
with test-time augmentation) on the CIFAR-10 JPEG copy, timing the whole call with the images already
decoded. It also trains each fixed preset (fast-80, fast-90 and fast-91 unless --presets says
otherwise) once, and for each budget takes the most accurate preset whose own run fitted within it:
the budgeted run should end within its budget + 5% and reach that preset's test top-1 within 0.3
points. One seed each (the presets' own); a seed moves top-1 by a few tenths of a point.

    python benchmarks/time_budget.py [--budgets 2 5 10 20] [--presets fast-80 fast-90 fast-91] [--data ROOT] [k=v ...]
    python benchmarks/time_budget.py --tiny   # a few minutes: the digits at 32x32, budgets of 1 and 2 minutes

`--tiny` checks the script end to end; its figures mean nothing. Overrides (key=value) apply to every
run, budgeted or fixed. Prints a table, then one JSON object.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from _common import finish, machine, require_cifar_jpeg
from cnnlab.builtin import preset_path
from cnnlab.config import load_config
from cnnlab.data import load
from cnnlab.errors import UserError
from cnnlab.train import train
from cnnlab.train.budget import train_to_budget

OVER_BUDGET = 0.05  # a budgeted run may end this fraction after its budget
TOP1_SLACK = 0.003  # and this far below the best fixed preset that fits
TINY = ["data.source=digits", "data.image_size=32", "train.tta=0"]


def timed(call: Callable[[Path], Any]) -> tuple[Any, float]:
    """`call(folder)` on a fresh temporary run folder; its result and wall seconds."""
    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        result = call(Path(scratch) / "run")
        return result, time.perf_counter() - start


def fixed_presets(presets: list[str], overrides: list[str]) -> list[dict[str, Any]]:
    """Each preset trained once: its test top-1 and wall seconds."""
    runs = []
    for name in presets:
        config = load_config(preset_path(name), overrides)
        result, seconds = timed(lambda folder, config=config: train(config, folder, progress=False))
        runs.append({"preset": name, "test_top1": result.summary["test_top1"], "seconds": round(seconds, 1)})
        print(f"{name}: test top-1 {runs[-1]['test_top1']:.2%} in {seconds:.0f} s", flush=True)
    return runs


def budgeted(minutes: float, overrides: list[str], fixed: list[dict[str, Any]]) -> dict[str, Any]:
    """One budgeted run against the best fixed preset that fitted the same budget."""
    budget = minutes * 60
    fitting = [run for run in fixed if run["seconds"] <= budget]
    best = max(fitting, key=lambda run: run["test_top1"], default=None)
    try:
        (result, plan), seconds = timed(lambda folder: train_to_budget(budget, folder, overrides, progress=False))
    except UserError as err:  # too short for the smallest net: right only if no fixed preset fitted either
        print(f"budget {minutes:g} min: {err}", flush=True)
        return {
            "budget_minutes": minutes,
            "chosen": None,
            "message": str(err),
            "seconds": None,
            "test_top1": None,
            "within_budget": True,
            "best_fixed": best and best["preset"],
            "best_fixed_top1": best and best["test_top1"],
            "matches_best_fixed": best is None,
        }
    top1 = result.summary["test_top1"]
    predicted = next(p["predicted_seconds"] for p in plan.predictions if p["fits"] and _is(p, plan.chosen))
    row = {
        "budget_minutes": minutes,
        "chosen": plan.chosen.label,
        "seconds": round(seconds, 1),
        "probe_seconds": round(plan.probe_seconds, 1),
        "probed_now": [setting for setting, when in plan.measured.items() if when == "now"],
        "predicted_seconds": round(plan.probe_seconds + predicted, 1),
        "test_top1": top1,
        "within_budget": seconds <= budget * (1 + OVER_BUDGET),
        "best_fixed": best and best["preset"],
        "best_fixed_top1": best and best["test_top1"],
        "matches_best_fixed": best is None or top1 >= best["test_top1"] - TOP1_SLACK,
    }
    print(
        f"budget {minutes:g} min: {row['chosen']}: test top-1 {top1:.2%} in {seconds:.0f} s "
        f"({seconds / budget:.0%} of the budget; predicted {row['predicted_seconds']:.0f} s with the plan's "
        f"{plan.probe_seconds:.0f} s, probed now: {'; '.join(row['probed_now']) or 'none'}); "
        "best fixed preset that fits: " + (f"{best['preset']} {best['test_top1']:.2%}" if best else "none"),
        flush=True,
    )
    return row


def _is(prediction: dict[str, Any], candidate: Any) -> bool:
    """Whether a plan's prediction row is the one of `candidate` (its preset, net, length and batch)."""
    return all(prediction[name] == value for name, value in asdict(candidate).items())


COLUMNS = [
    "budget",
    "chosen",
    "seconds",
    "test top-1",
    "best fixed preset that fits",
    "within + 5%",
    "top-1 within 0.3",
]


def table_cells(row: dict[str, Any]) -> list[str]:
    """One budget's row of the printed table."""
    ran = row["chosen"] is not None
    return [
        f"{row['budget_minutes']:g} min",
        row["chosen"] or "too short",
        f"{row['seconds']:.0f}" if ran else "-",
        f"{row['test_top1']:.2%}" if ran else "-",
        f"{row['best_fixed']} {row['best_fixed_top1']:.2%}" if row["best_fixed"] else "none",
        "yes" if row["within_budget"] else "no",
        "yes" if row["matches_best_fixed"] else "no",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budgets", type=float, nargs="+", help="minutes (default 2 5 10 20)")
    parser.add_argument("--presets", nargs="+", help="fixed presets to compare with (default fast-80 fast-90 fast-91)")
    parser.add_argument("--data", help="CIFAR-10 ImageFolder root (default: ../shared/data/cifar10-jpeg)")
    parser.add_argument("--tiny", action="store_true", help="check the script on the embedded digits")
    parser.add_argument("overrides", nargs="*", metavar="key=value")
    args = parser.parse_args()
    if bad := [word for word in args.overrides if "=" not in word]:
        parser.error(f"'{bad[0]}' is not key=value: give overrides such as train.seed=1")
    logging.basicConfig(level=logging.WARNING)
    source = TINY if args.tiny else [f"data.source={require_cifar_jpeg(args.data)}"]
    overrides = [*source, *args.overrides]
    budgets = args.budgets or ([1, 2] if args.tiny else [2, 5, 10, 20])
    presets = args.presets or (["fast-80"] if args.tiny else ["fast-80", "fast-90", "fast-91"])
    print(f"machine: {machine()}", flush=True)
    load_config(preset_path(presets[0]), overrides)  # a mistyped override stops here, before any training
    load(overrides[0].split("=", 1)[1])  # decode once (or find the cache): every clock starts with it loaded

    fixed = fixed_presets(presets, overrides)
    rows = [budgeted(minutes, overrides, fixed) for minutes in budgets]
    print(f"\n| {' | '.join(COLUMNS)} |\n|---:|---|---:|---:|---|---|---|")
    for row in rows:
        print(f"| {' | '.join(table_cells(row))} |")
    finish(
        {
            "tiny": args.tiny,
            "budgets": rows,
            "fixed": fixed,
            "all_within_budget": all(row["within_budget"] for row in rows),
            "all_match_best_fixed": all(row["matches_best_fixed"] for row in rows),
            "overrides": args.overrides,
            "machine": machine(),
        }
    )


if __name__ == "__main__":
    main()
