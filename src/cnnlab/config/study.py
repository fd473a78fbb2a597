"""The StudySpec schema: a base run config, named variants, an optional grid, seeds, and optionally
the course report's own figures and conclusions that the study's report checks."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from cnnlab.errors import did_you_mean

from .schema import MAX_SEED, Section, Seed

MAX_SEED_COUNT = 1_000_000  # `seeds: N` beyond this is refused before its list is built


class Reference(Section):
    """A course report's own figures, one run each, to print beside the study's means over seeds.

    `figures` maps a variant of the study to the report's figures for it, by the run summary's names
    (`test_top1`, `train_loss`, `best_epoch`, ...; top-k as fractions). Which names and variants
    exist is checked when the study is expanded (`cnnlab.study.spec.check_reference`), since grid
    points only get their names there.
    """

    report: str = Field("", description="which report, and which of its tables, the figures come from")
    figures: dict[str, dict[str, float]] = Field(default_factory=dict)


class Conclusion(Section):
    """One conclusion a course report draws, checked against the study's statistics.

    It holds when the study's verdict on `variant` against `baseline` (default: the study's
    baseline) on `metric` is `expect`; for a loss, better means lower.
    """

    claim: str
    variant: str
    baseline: str | None = None
    metric: str = "test_top1"
    expect: Literal["better", "worse"]


RANGES = ("choice", "uniform", "loguniform", "randint")  # what a grid entry of a sampled study may be besides a list


class Sample(Section):
    """A sampled search: `count` points drawn from the grid (seeded) instead of its whole product."""

    count: int = Field(gt=0, description="points to draw (a point drawn twice is run once)")
    seed: int = Field(0, description="the same seed draws the same points")


def check_grid_entry(key: str, value: Any, sampled: bool) -> None:
    """A ValueError naming `key` unless `value` is a non-empty list or, in a sampled study, one range:
    {choice: [...]}, {uniform: [low, high]}, {loguniform: [low, high]} (0 < low) or {randint: [low, high]}."""
    if isinstance(value, list):
        if not value:
            raise ValueError(f"grid key '{key}' needs at least one value")
        return
    kinds = ", ".join(f"{{{kind}: ...}}" for kind in RANGES)
    if not isinstance(value, dict) or len(value) != 1:
        raise ValueError(f"grid key '{key}' = {value!r}: give a list of values, or in a sampled study one of {kinds}")
    ((kind, bounds),) = value.items()
    if kind not in RANGES:
        raise ValueError(f"grid key '{key}': unknown range '{kind}'{did_you_mean(str(kind), RANGES)}; use {kinds}")
    if not sampled:
        raise ValueError(
            f"grid key '{key}' is a range ({kind}), which only a sampled study draws from: add "
            "sample: {count: N, seed: S} to the spec, or give a list of values"
        )
    if kind == "choice":
        if not isinstance(bounds, list) or not bounds:
            raise ValueError(f"grid key '{key}': choice needs a list of values, e.g. {{choice: [64, 128]}}")
        return
    numbers = isinstance(bounds, list) and len(bounds) == 2 and all(isinstance(b, int | float) for b in bounds)
    if not numbers or not (bounds[0] <= bounds[1] if kind == "randint" else bounds[0] < bounds[1]):
        raise ValueError(f"grid key '{key}': {kind} needs [low, high] with low < high, e.g. {{{kind}: [0.001, 0.1]}}")
    if kind == "loguniform" and bounds[0] <= 0:
        raise ValueError(f"grid key '{key}': loguniform needs 0 < low, e.g. {{loguniform: [0.001, 0.1]}}")
    if kind == "randint" and not all(isinstance(b, int) for b in bounds):
        raise ValueError(f"grid key '{key}': randint needs whole numbers, e.g. {{randint: [16, 64]}}")


class StudySpec(Section):
    """An ablation study: every variant (x every grid point) is run once per seed on the same base.

    `base` is a (partial) RunConfig, laid over the built-in `base_preset` if one is named; each
    variant is a mapping of dotted overrides laid over it (`{data.preprocess: zca}`); `grid` maps
    dotted keys to value lists whose product is crossed with the variants (with `sample`, `count` points
    drawn from the entries instead, which may then be ranges as well as lists); `baseline` names the
    variant (or grid point, e.g. `lr=0.1`) the report compares the others against. `reference` and
    `conclusions` carry a course report's own figures and claims, which the report sets beside its own.
    """

    name: str = "study"
    description: str = ""
    base_preset: str | None = None
    base: dict[str, Any] = Field(default_factory=dict)
    variants: dict[str, dict[str, Any]] = Field(default_factory=lambda: {"baseline": dict[str, Any]()})
    sample: Sample | None = None  # before grid: the grid's check reads it
    grid: dict[str, list[Any] | dict[str, Any]] = Field(default_factory=dict)
    seeds: list[Seed] = Field(default_factory=lambda: [0], min_length=1)
    baseline: str | None = None
    reference: Reference | None = None
    conclusions: list[Conclusion] = Field(default_factory=list)

    @field_validator("seeds", mode="before")
    @classmethod
    def _count_means_range(cls, value: Any) -> Any:
        """`seeds: 3` means seeds 0, 1, 2."""
        if isinstance(value, int) and not isinstance(value, bool):
            if not 1 <= value <= MAX_SEED_COUNT:
                raise ValueError(f"a count of seeds is from 1 to {MAX_SEED_COUNT:,}")
            return list(range(value))
        return value

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, value: list[int]) -> list[int]:
        """Each seed once: two equal seeds would be one run folder counted twice."""
        seen: set[int] = set()
        for seed in value:
            if seed in seen:
                raise ValueError(f"seed {seed} is given twice: list each seed once (0 to {MAX_SEED:,})")
            seen.add(seed)
        return value

    @field_validator("name")
    @classmethod
    def _a_folder_name(cls, value: str) -> str:
        return _folder_safe(value, "the study's name")

    @field_validator("variants")
    @classmethod
    def _some_variants(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        if not value:
            raise ValueError("needs at least one variant (e.g. baseline: {})")
        for name in value:
            _folder_safe(name, f"variant '{name}'")
        return {name: overrides or {} for name, overrides in value.items()}

    @field_validator("grid", mode="before")
    @classmethod
    def _lists_or_ranges(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, dict):
            for key, entry in value.items():
                check_grid_entry(str(key), entry, info.data.get("sample") is not None)
        return value


def folder_name(name: str, default: str = "variant") -> str:
    """A folder name for a study or variant name: letters, digits and . , = + - _ kept, anything else '_'.

    A study's default folder and each variant's run folders are named this way, so no name, however
    written ('../x', '/tmp/x'), puts a folder outside the one it belongs in.
    """
    return re.sub(r"[^A-Za-z0-9.,=+_-]+", "_", name).strip("_") or default


def _folder_safe(name: str, what: str) -> str:
    """`name`, or a ValueError when its folder name would be '.', '..' or the like (this folder, its parent)."""
    if set(folder_name(name)) == {"."}:
        raise ValueError(f"{what} names no folder ('{folder_name(name)}'): give it a name with a letter or digit")
    return name
