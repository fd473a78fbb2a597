"""The package map holds: what reads run folders never imports the trainer (checked in fresh interpreters)."""

from __future__ import annotations

import subprocess
import sys

import pytest

READERS = [
    "cnnlab.runs",
    "cnnlab.report",
    "cnnlab.viz",
    "cnnlab.inference",
    "cnnlab.export",
    "cnnlab.study",
    "cnnlab.plotting",
]


@pytest.mark.parametrize("module", READERS)
def test_readers_of_run_folders_do_not_import_the_trainer(module: str) -> None:
    code = f"import sys, {module}; print('cnnlab.train' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False", f"{module} imports cnnlab.train"


def test_the_lower_rooms_import_nothing_above_them() -> None:
    code = (
        "import sys, cnnlab.machine, cnnlab.runs, cnnlab.checkpoint, cnnlab.plotting, cnnlab.evaluation;"
        "print(sorted(m for m in sys.modules if m.split('.')[:2] in (['cnnlab', 'train'], ['cnnlab', 'study'],"
        " ['cnnlab', 'report'], ['cnnlab', 'viz'])))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
