"""Studies: a base config, variants and seeds expanded into runs, run (and resumed) into one folder.

outcome = run_study(load_spec("course-improvements"), "studies/ci", overrides=["train.epochs=2"])
"""

from .results import collect, read_plan, read_results, write_results
from .runner import StudyOutcome, run_study
from .spec import PlannedRun, builtin_studies, builtin_study_path, check_reference, expand, load_spec

__all__ = [
    "PlannedRun",
    "StudyOutcome",
    "builtin_studies",
    "builtin_study_path",
    "check_reference",
    "collect",
    "expand",
    "load_spec",
    "read_plan",
    "read_results",
    "run_study",
    "write_results",
]
