"""Study specs: load (a file or a built-in name), and expand into one RunConfig per variant and seed."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnlab.builtin import preset_path, study_path
from cnnlab.config import RunConfig, StudySpec, merge, parse_overrides, read_yaml, validate
from cnnlab.config.loading import set_dotted
from cnnlab.config.study import folder_name
from cnnlab.errors import UserError, did_you_mean
from cnnlab.models import check_options
from cnnlab.runs import is_top_k

from .results import COMPARED, REFERENCE_FIGURES
from .sampling import sample_points


@dataclass(frozen=True)
class PlannedRun:
    """One run of a study: which variant and seed, its full config, and its folder inside the study."""

    variant: str
    seed: int
    config: RunConfig
    folder: Path  # relative to the study folder: runs/<variant>/seed<k>


MAX_RUNS = 1_000  # a larger study needs --max-runs: a slip in a grid must not start 10,000 runs


def load_spec(source: str | Path, max_runs: int = MAX_RUNS) -> StudySpec:
    """A study spec from a YAML path, or by the name of a built-in study; refused beyond `max_runs` runs."""
    path = Path(source)
    if not path.is_file() and not str(source).endswith((".yaml", ".yml")):
        path = study_path(str(source))
    data = read_yaml(path)
    spec = validate(data, StudySpec)
    runs = expand(spec, max_runs=max_runs)
    # a baseline, reference figure or conclusion that names nothing is an error now, not in the report
    check_reference(spec, run_names(runs), baseline_of(spec, runs))
    return spec


def run_names(runs: Sequence[PlannedRun]) -> list[str]:
    """The distinct variant names of the expanded runs, in order."""
    return list(dict.fromkeys(r.variant for r in runs))


def baseline_of(spec: StudySpec, runs: Sequence[PlannedRun]) -> str:
    """The expanded variant the report compares against: `baseline` (a variant, or a variant's first grid
    point, or a grid point's name like 'lr=0.1'), else the first."""
    names = run_names(runs)
    if spec.baseline is None:
        return names[0]
    if spec.baseline in names:
        return spec.baseline
    crossed = [n for n in names if n.split(",", 1)[0] == spec.baseline]
    if crossed:
        return crossed[0]
    raise UserError(f"study baseline '{spec.baseline}' is not one of its variants: {', '.join(names)}")


def check_reference(spec: StudySpec, names: Sequence[str], baseline: str) -> None:
    """Every variant and figure that the spec's `reference` and `conclusions` name exists in the study.

    `names` are the expanded variant names (grid points included, e.g. 'lr=0.1') and `baseline` the
    study's; a problem is a UserError listing each bad name with the valid ones.
    """
    problems = _reference_problems(spec, names) + _conclusion_problems(spec, names, baseline)
    if len(problems) == 1:
        raise UserError(f"study '{spec.name}': {problems[0]}")
    if problems:
        raise UserError(f"study '{spec.name}': invalid reference or conclusions:\n  " + "\n  ".join(problems))


def _reference_problems(spec: StudySpec, names: Sequence[str]) -> list[str]:
    problems = []
    for variant, figures in (spec.reference.figures if spec.reference else {}).items():
        if variant not in names:
            problems.append(f"reference figures: {_not_a_variant(variant, names)}")
        for figure, value in figures.items():
            where = f"reference figure '{variant}.{figure}'"
            if figure not in REFERENCE_FIGURES:
                problems.append(f"{where}: {_not_one_of(figure, REFERENCE_FIGURES)}")
            elif is_top_k(figure) and not 0 <= value <= 1:
                problems.append(f"{where} = {value:g}: top-k figures are fractions (0.7631 for 76.31%)")
    return problems


def _conclusion_problems(spec: StudySpec, names: Sequence[str], baseline: str) -> list[str]:
    problems = []
    for k, conclusion in enumerate(spec.conclusions):
        where = f"conclusion {k + 1} ('{conclusion.claim}')"
        for role in ("variant", "baseline"):
            name = getattr(conclusion, role)
            if name is not None and name not in names:
                problems.append(f"{where}: {role} {_not_a_variant(name, names)}")
        if conclusion.metric not in COMPARED:
            problems.append(f"{where}: metric {_not_one_of(conclusion.metric, COMPARED)}")
        if conclusion.variant == (conclusion.baseline or baseline):
            problems.append(f"{where}: compares '{conclusion.variant}' with itself; name another baseline")
    return problems


def _not_a_variant(name: str, names: Sequence[str]) -> str:
    return f"'{name}' is not a variant of the study{did_you_mean(name, names)}; variants: {', '.join(names)}"


def _not_one_of(name: str, valid: Sequence[str]) -> str:
    return f"'{name}' is not one of: {', '.join(valid)}{did_you_mean(name, valid)}"


def nested(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """{'data.augment.flip': True} -> {'data': {'augment': {'flip': True}}}; nested mappings stay nested."""
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        part: dict[str, Any] = {}
        set_dotted(part, str(key), nested(value) if isinstance(value, Mapping) else value)
        out = merge(out, part)
    return out


def count_runs(spec: StudySpec) -> int:
    """How many runs `spec` expands to, counted without building one."""
    return len(spec.variants) * math.prod(len(values) for values in spec.grid.values()) * len(spec.seeds)


def check_size(spec: StudySpec, max_runs: int = MAX_RUNS) -> None:
    """A UserError saying how many runs `spec` would be when that is more than `max_runs`."""
    runs = count_runs(spec)
    if runs > max_runs:
        points = math.prod(len(values) for values in spec.grid.values())
        raise UserError(
            f"study '{spec.name}' would be {runs:,} runs ({len(spec.variants):,} variants x {points:,} grid points x "
            f"{len(spec.seeds):,} seeds), more than --max-runs {max_runs:,}: shrink the grid or the seeds, "
            "or raise --max-runs if you mean it"
        )


def expand(spec: StudySpec, overrides: Sequence[str] = (), max_runs: int = MAX_RUNS) -> list[PlannedRun]:
    """Every run of the study: variants x grid points x seeds, in that order; more than `max_runs` is refused
    before any is built.

    Precedence, lowest first: base preset, base, variant, grid point, command-line overrides (which
    apply to every run, e.g. train.epochs=2 for a dry pass), then the seed. With `sample`, the grid points
    are the ones drawn (`study/sampling.py`), each named by its values like a crossed point.
    """
    check_size(spec, max_runs)
    cli = parse_overrides(overrides)
    base = nested(spec.base)
    if spec.base_preset is not None:
        base = merge(read_yaml(preset_path(spec.base_preset)), base)
    grid_keys = list(spec.grid)
    if spec.sample is not None:
        points = sample_points(spec.grid, spec.sample) if grid_keys else [()]
    else:
        points = list(itertools.product(*(spec.grid[k] for k in grid_keys))) if grid_keys else [()]
    runs = []
    for variant, changes in spec.variants.items():
        for point in points:
            name = _run_name(variant, grid_keys, point, only_grid=len(spec.variants) == 1 and not changes)
            data = merge(merge(base, nested(changes)), nested(dict(zip(grid_keys, point, strict=True))))
            data = merge(data, cli)
            for seed in spec.seeds:
                config = _validated(merge(data, {"train": {"seed": seed}}), spec.name, name)
                runs.append(PlannedRun(name, seed, config, Path("runs") / folder_name(name) / f"seed{seed}"))
    names = [r.variant for r in runs]
    if len({folder_name(n) for n in names}) != len(set(names)):
        raise UserError(f"study '{spec.name}': two variants map to the same folder name; rename one")
    return runs


def _validated(data: dict[str, Any], study: str, variant: str) -> RunConfig:
    try:
        config: RunConfig = validate(data)
        check_options(config.model.name, config.model.options())
    except UserError as err:
        raise UserError(f"study '{study}', variant '{variant}': {err}") from None
    return config


def _run_name(variant: str, keys: list[str], point: tuple, only_grid: bool) -> str:
    if not keys:
        return variant
    label = ",".join(f"{k.rsplit('.', 1)[-1]}={_value_label(v)}" for k, v in zip(keys, point, strict=True))
    return label if only_grid else f"{variant},{label}"


def _value_label(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "x".join(str(v) for v in value)
    return str(value).lower() if isinstance(value, bool) else str(value)
