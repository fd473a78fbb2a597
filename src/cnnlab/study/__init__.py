"""Studies: a base config, variants and seeds expanded into runs, run (and resumed) into one folder.

outcome = run_study(load_spec("rdfia-homework"), "studies/rdfia", overrides=["train.epochs=2"])
outcome = run_study(spec, "studies/rdfia", engine=RayEngine(address="auto"))   # cnnlab.study.ray_engine

Reading a study folder (`collect`, `read_plan`, `read_results`) never imports the trainer: the runner
(`run_study`, `StudyOutcome`) is loaded on first use, so the report and other readers stay light.
"""

from __future__ import annotations

import importlib
from typing import Any

from .results import collect, read_plan, read_results, write_results
from .spec import PlannedRun, check_reference, expand, load_spec

_RUNNER = ("StudyOutcome", "run_study")

__all__ = [
    "PlannedRun",
    "StudyOutcome",
    "check_reference",
    "collect",
    "expand",
    "load_spec",
    "read_plan",
    "read_results",
    "run_study",
    "write_results",
]


def __getattr__(name: str) -> Any:
    """The runner's names, imported when first asked for (PEP 562)."""
    if name in _RUNNER:
        return getattr(importlib.import_module(".runner", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
