"""Wall-clock seconds from data loaded to a target CIFAR-10 test accuracy, with cnnlab's fast presets.

Picks the preset aimed at the target (fast-80 for up to 80.6%, fast-90 for up to 90%, fast-91 for up
to 91%, fast-94 above), trains it on the CIFAR-10 JPEG copy with the trainer itself, and times
everything after the decoded images are in memory: fitting the preprocessing, the whitening init,
training, and the final test evaluation with test-time augmentation. One line an epoch; last, one JSON
object.

    python benchmarks/time_to_accuracy.py --target 0.806 [--budget 300] [--data ROOT] [key=value ...]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import finish, machine, require_cifar_jpeg
from cnnlab.config import load_config
from cnnlab.data import load
from cnnlab.presets import preset_path
from cnnlab.train import train

PRESETS = [(0.806, "fast-80"), (0.90, "fast-90"), (0.91, "fast-91"), (0.94, "fast-94")]


def preset_for(target: float) -> str:
    """The smallest preset sized for at least `target`."""
    for sized_for, name in PRESETS:
        if target <= sized_for + 1e-9:
            return name
    return PRESETS[-1][1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", type=float, required=True, help="test top-1 to reach: 0.806 or 80.6")
    parser.add_argument("--budget", type=float, help="seconds allowed (reported as within_budget)")
    parser.add_argument("--data", help="CIFAR-10 ImageFolder root (default: ../shared/data/cifar10-jpeg)")
    parser.add_argument("--preset", help="use this preset instead of the one sized for the target")
    parser.add_argument("--out", help="run folder (default: a temporary folder)")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides (for searching)")
    args = parser.parse_args()
    target = args.target / 100 if args.target > 1 else args.target
    root = require_cifar_jpeg(args.data)
    name = args.preset or preset_for(target)
    config = load_config(preset_path(name), [f"data.source={root}", "train.progress=false", *args.overrides])
    print(f"machine: {machine()}; target {target:.1%} -> preset {name}", flush=True)

    load(str(root))  # decode once (or find the cache): the clock starts with the data loaded
    start = time.perf_counter()

    def report(row: dict) -> None:
        test = f"  test top-1 {row['test_top1']:.2%}" if row["test_top1"] is not None else ""
        print(
            f"epoch {row['epoch']:2d}/{config.train.epochs}  train loss {row['train_loss']:.4f} "
            f"top-1 {row['train_top1']:.2%}{test}  elapsed {time.perf_counter() - start:7.1f} s",
            flush=True,
        )

    with tempfile.TemporaryDirectory() as scratch:
        out = Path(args.out) if args.out else Path(scratch) / "run"
        result = train(config, out, on_epoch=[report])
        seconds = time.perf_counter() - start
    top1 = result.summary["test_top1"]
    reached = top1 is not None and top1 >= target
    within = None if args.budget is None else bool(reached and seconds <= args.budget)
    print(
        f"test top-1 {top1:.2%} (with TTA level {config.train.tta}) after {seconds:.1f} s: "
        f"{'reached' if reached else 'missed'} {target:.1%}",
        flush=True,
    )
    finish(
        {
            "target": target,
            "test_top1": top1,
            "seconds": round(seconds, 1),
            "reached": reached,
            "budget": args.budget,
            "within_budget": within,
            "preset": name,
            "epochs": config.train.epochs,
            "images_per_second": result.summary["images_per_second"],
            "overrides": args.overrides,
        }
    )


if __name__ == "__main__":
    main()
