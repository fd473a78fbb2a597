"""`cnnlab quickstart`: a small CNN trained on the embedded digits set; works offline anywhere."""

from __future__ import annotations

import argparse

from cnnlab.config import load_config
from cnnlab.presets import preset_path
from cnnlab.train import RunFolder, train

from .cmd_train import print_result


def add_parser(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser("quickstart", help="embedded data, a small CNN, a run folder: works offline anywhere")
    p.add_argument("--out", default="cnnlab-quickstart", help="output folder (default: cnnlab-quickstart)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(preset_path("quickstart"))
    result = train(config, args.out, resume=RunFolder(args.out).has_run())
    print_result(result)
    return 0
