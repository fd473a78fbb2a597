"""`cnnlab lr-find [CONFIG.yaml] [key=value ...]`: sweep the learning rate, plot the loss, suggest optim.lr."""

from __future__ import annotations

import argparse
from pathlib import Path

from cnnlab.train import lr_find, plot_lr_find, write_lr_find

from .cmd_train import parse_config_args


def add_parser(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser(
        "lr-find",
        help="sweep the learning rate over a few hundred steps and suggest optim.lr",
        description="Train the config's run from its initial weights for --steps steps while the learning rate "
        "grows geometrically from --start to --end, plot the training loss against it, and print the rate where "
        "the smoothed loss falls fastest (before its minimum). No run folder is written: only the plot, or a "
        "folder with the sweep when --out is given.",
    )
    p.add_argument("args", nargs="*", metavar="CONFIG.yaml | key=value", help="a YAML config, then overrides")
    p.add_argument("--preset", help="start from a built-in config (e.g. fast-80)")
    p.add_argument("--steps", type=int, default=200, help="training steps in the sweep (default 200)")
    p.add_argument("--start", type=float, default=1e-7, help="the first learning rate (default 1e-7)")
    p.add_argument("--end", type=float, default=10.0, help="the last learning rate (default 10)")
    p.add_argument("--plot", default="lr-find.png", metavar="FILE", help="where to draw the plot (default lr-find.png)")
    p.add_argument("--out", metavar="DIR", help="keep the sweep: DIR/lr-find.csv, lr-find.png and config.yaml")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config, _ = parse_config_args(args.args, args.preset)
    result = lr_find(config, steps=args.steps, start=args.start, end=args.end)
    plot = write_lr_find(result, config, args.out) if args.out else plot_lr_find(result, Path(args.plot))
    end = "stopped when the loss blew up" if result.stopped_early else "to the end"
    print(f"swept {len(result.lrs)} steps from lr {result.lrs[0]:.3g} to {result.lrs[-1]:.3g} ({end})")
    print(f"lowest smoothed loss {min(result.smoothed):.4f} at lr {result.minimum:.3g}")
    if result.suggestion is None:
        print("no suggestion: the loss did not fall before its minimum; widen the sweep (--start, --end, --steps)")
    else:
        print(f"suggested optim.lr={result.suggestion:.3g} (steepest descent of the smoothed loss)")
    print(f"plot: {plot}")
    return 0
