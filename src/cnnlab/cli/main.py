"""The `cnnlab` command: parse, call one public function, print. Exit 0 ok, 2 user error, 1 bug."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Sequence

from cnnlab import __version__
from cnnlab.errors import UserError

from . import (
    cmd_basics,
    cmd_data,
    cmd_export,
    cmd_inspect,
    cmd_lr_find,
    cmd_models,
    cmd_predict,
    cmd_quickstart,
    cmd_report,
    cmd_study,
    cmd_train,
    cmd_viz,
)

VERBS = [
    cmd_quickstart,
    cmd_train,
    cmd_lr_find,
    cmd_study,
    cmd_report,
    cmd_models,
    cmd_data,
    cmd_inspect,
    cmd_viz,
    cmd_predict,
    cmd_export,
    cmd_basics,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cnnlab",
        description="A laboratory for convolutional networks on small images.",
    )
    parser.add_argument("--version", action="version", version=f"cnnlab {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only results and errors")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb in VERBS:
        verb.add_parser(verbs)
    return parser


def parse_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """The arguments, with a verb's trailing words (its `key=value` overrides) taken wherever they stand.

    argparse reads a verb's positional words once, so `cnnlab train --out X optim.lr=0.1` would stop at
    `optim.lr=0.1`; a verb that sets `late_words` to the name of its list of words gets them there.
    """
    args, extra = parser.parse_known_args(argv)
    words = getattr(args, "late_words", None)
    stray = [word for word in extra if words is None or word.startswith("-")]
    if stray:
        parser.error(f"unrecognized arguments: {' '.join(stray)}")
    if extra:
        assert words is not None  # without a list of late words, every extra word was stray
        getattr(args, words).extend(extra)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parse_args(parser, argv)
    _configure_logging(quiet=args.quiet)
    try:
        return int(args.run(args) or 0)
    except UserError as err:
        print(f"cnnlab: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cnnlab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader stopped early (`cnnlab study --list | head`): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 0
    except Exception:  # a bug: show everything so it can be reported
        traceback.print_exc()
        print("cnnlab: internal error (a bug in cnnlab): please report the traceback above", file=sys.stderr)
        return 1


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (it may be replaced after set-up)."""

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def _configure_logging(quiet: bool) -> None:
    log = logging.getLogger("cnnlab")
    if not any(isinstance(h, _StderrHandler) for h in log.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("cnnlab: %(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.WARNING if quiet else logging.INFO)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
