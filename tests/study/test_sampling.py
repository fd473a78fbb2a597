"""Sampled searches: points drawn from the grid's lists and ranges, the same for the same seed, each a named
variant, crossed with variants and seeds, resumed like any study; bad ranges named."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from cnnlab.config import Sample, StudySpec, validate
from cnnlab.errors import UserError
from cnnlab.study import expand, load_spec, read_results, run_study
from cnnlab.study.sampling import draw, sample_points

GRID = {
    "optim.lr": {"loguniform": [0.001, 0.1]},
    "model.dropout": [0.0, 0.3, 0.5],
    "train.batch_size": {"choice": [64, 128, 256]},
    "train.epochs": {"randint": [1, 3]},
}


def _spec(**fields) -> StudySpec:
    return validate({"name": "search", "base": {"data": {"source": "digits"}}, **fields}, StudySpec)


def test_the_same_seed_draws_the_same_points_within_their_ranges() -> None:
    points = sample_points(GRID, Sample(count=20, seed=0))
    assert points == sample_points(GRID, Sample(count=20, seed=0))
    assert points != sample_points(GRID, Sample(count=20, seed=1))
    assert len(points) == 20
    for lr, dropout, batch, epochs in points:
        assert 0.001 <= lr <= 0.1 and lr == float(f"{lr:.3g}")
        assert dropout in (0.0, 0.3, 0.5) and batch in (64, 128, 256) and epochs in (1, 2, 3)
    assert {p[3] for p in points} == {1, 2, 3}  # randint includes both ends


def test_loguniform_is_uniform_on_the_logarithm_and_uniform_on_the_range() -> None:
    rng = np.random.default_rng(0)
    logs = [math.log10(draw({"loguniform": [1e-4, 1.0]}, rng)) for _ in range(4000)]
    assert abs(np.mean(logs) - (-2)) < 0.05 and abs(np.mean(np.array(logs) < -3) - 0.25) < 0.03
    values = [draw({"uniform": [2.0, 4.0]}, rng) for _ in range(4000)]
    assert min(values) >= 2 and max(values) <= 4 and abs(np.mean(values) - 3) < 0.05


def test_each_point_is_a_named_variant_crossed_with_variants_and_seeds() -> None:
    spec = _spec(
        variants={"sgd": {}, "adam": {"optim.name": "adam"}}, grid=GRID, sample={"count": 5, "seed": 3}, seeds=2
    )
    runs = expand(spec)
    points = sample_points(spec.grid, spec.sample)
    assert len(runs) == 2 * len(points) * 2
    first = runs[0]
    lr, dropout, batch, epochs = points[0]
    assert first.variant == f"sgd,lr={lr},dropout={dropout},batch_size={batch},epochs={epochs}"
    assert first.config.optim.lr == lr and first.config.model.options()["dropout"] == dropout
    assert first.config.train.batch_size == batch and first.config.train.epochs == epochs
    assert [r.seed for r in runs[:2]] == [0, 1] and runs[-1].config.optim.name == "adam"


def test_a_point_drawn_twice_is_run_once() -> None:
    spec = _spec(grid={"train.batch_size": [32, 64]}, sample={"count": 10, "seed": 0})
    assert sorted(r.variant for r in expand(spec)) == ["batch_size=32", "batch_size=64"]


def test_a_sampled_study_runs_reports_its_values_and_resumes(tmp_path: Path) -> None:
    spec = _spec(
        base={"data": {"source": "digits"}, "model": {"widths": [4, 8, 8], "hidden": 16}},
        grid={"optim.lr": {"loguniform": [0.01, 0.1]}, "train.batch_size": {"choice": [32, 64]}},
        sample={"count": 2, "seed": 7},
    )
    first = run_study(spec, tmp_path, overrides=["train.epochs=1", "train.threads=1"])
    assert len(first.trained) == 2 and not first.failed
    rows = read_results(tmp_path)
    names = [f"lr={lr},batch_size={batch}" for lr, batch in sample_points(spec.grid, spec.sample)]
    assert [row["variant"] for row in rows] == names
    again = run_study(spec, tmp_path, overrides=["train.epochs=1", "train.threads=1"])
    assert again.trained == [] and len(again.skipped) == 2


@pytest.mark.parametrize(
    ("grid", "sample", "message"),
    [
        (
            {"optim.lr": {"loguniform": [0.001, 0.1]}},
            None,
            "'optim.lr' is a range.*add sample: \\{count: N, seed: S\\}",
        ),
        (
            {"optim.lr": {"logunifrom": [0.001, 0.1]}},
            {"count": 2},
            "unknown range 'logunifrom'.*did you mean 'loguniform'",
        ),
        ({"optim.lr": {"loguniform": [0, 0.1]}}, {"count": 2}, "'optim.lr': loguniform needs 0 < low"),
        (
            {"optim.lr": {"uniform": [0.2, 0.1]}},
            {"count": 2},
            "'optim.lr': uniform needs \\[low, high\\] with low < high",
        ),
        ({"train.epochs": {"randint": [1, 2.5]}}, {"count": 2}, "'train.epochs': randint needs whole numbers"),
        ({"optim.lr": []}, None, "'optim.lr' needs at least one value"),
        ({"optim.lr": [0.1]}, {"count": 0}, "'sample.count' = 0 is invalid"),
    ],
)
def test_bad_grid_entries_are_named(tmp_path: Path, grid, sample, message: str) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({"name": "s", "grid": grid, **({"sample": sample} if sample else {})}))
    with pytest.raises(UserError, match=message):
        load_spec(path)
