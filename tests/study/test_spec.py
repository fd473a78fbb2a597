"""Study specs: expansion into runs, override precedence, validation that names the variant."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from cnnlab.builtin import study_names
from cnnlab.config import StudySpec, validate
from cnnlab.errors import UserError
from cnnlab.study import expand, load_spec
from cnnlab.study.spec import baseline_of, check_reference, count_runs, run_names


def _spec(**fields) -> StudySpec:
    return validate({"name": "s", **fields}, StudySpec)


def test_variants_times_grid_times_seeds_in_order() -> None:
    spec = _spec(
        base={"data": {"source": "digits"}},
        variants={"a": {}, "b": {"optim.name": "adam"}},
        grid={"optim.lr": [0.1, 0.01], "train.batch_size": [32, 64]},
        seeds=[3, 4],
    )
    runs = expand(spec)
    assert len(runs) == 2 * 4 * 2
    assert [r.variant for r in runs[:3]] == ["a,lr=0.1,batch_size=32"] * 2 + ["a,lr=0.1,batch_size=64"]
    assert [r.seed for r in runs[:2]] == [3, 4]
    assert runs[0].folder == Path("runs/a,lr=0.1,batch_size=32/seed3")
    last = runs[-1]
    assert last.config.optim.name == "adam" and last.config.optim.lr == 0.01 and last.config.train.batch_size == 64
    assert last.config.train.seed == 4 and last.config.data.source == "digits"


def test_precedence_base_variant_grid_cli_seed() -> None:
    spec = _spec(
        base={"train": {"epochs": 5, "seed": 99}, "optim": {"lr": 0.5}},
        variants={"v": {"train.epochs": 7, "optim": {"lr": 0.2}}},
        grid={"optim.lr": [0.3]},
        seeds=2,
    )
    plain = expand(spec)
    assert plain[0].config.train.epochs == 7  # variant over base
    assert plain[0].config.optim.lr == 0.3  # grid over variant
    assert [r.config.train.seed for r in plain] == [0, 1]  # the seed list over everything
    cli = expand(spec, ["train.epochs=2", "optim.lr=0.9"])
    assert cli[0].config.train.epochs == 2 and cli[0].config.optim.lr == 0.9  # the command line over all


def test_only_a_grid_names_runs_by_the_grid() -> None:
    runs = expand(_spec(grid={"data.augment.flip": [True, False]}))
    assert [r.variant for r in runs] == ["flip=true", "flip=false"]


def test_a_bad_variant_is_named() -> None:
    spec = _spec(variants={"good": {}, "typo": {"optim.moemntum": 0.5}})
    with pytest.raises(UserError, match=r"variant 'typo': unknown config key 'optim.moemntum'"):
        expand(spec)
    spec = _spec(variants={"opt": {"model.drpout": 0.5}})
    with pytest.raises(UserError, match=r"variant 'opt': model 'tme2' has no option 'drpout'"):
        expand(spec)


def test_spec_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="seeds"):
        _spec(seeds=0)
    with pytest.raises(UserError, match="at least one variant"):
        _spec(variants={})
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nvariants: {a: {}}\nbaseline: b\n")
    with pytest.raises(UserError, match="baseline 'b' is not one of its variants"):
        load_spec(path)
    with pytest.raises(UserError, match="built-in studies"):
        load_spec("no-such-study")


@pytest.mark.parametrize("name", study_names())
def test_every_builtin_study_validates(name: str) -> None:
    spec = load_spec(name)
    runs = expand(spec)
    assert runs and spec.description.strip()
    assert baseline_of(spec, runs) in run_names(runs)


def _claims(**fields) -> StudySpec:
    return _spec(
        variants={"a": {}, "b": {"optim.name": "adam"}}, grid={"optim.lr": [0.1, 0.01]}, baseline="a", **fields
    )


def test_reference_and_conclusions_name_expanded_variants() -> None:
    spec = _claims(
        reference={"figures": {"b,lr=0.01": {"best_epoch": 7, "test_top1": 0.76, "test_loss": 0.72}}},
        conclusions=[
            {"claim": "b beats a", "variant": "b,lr=0.1", "expect": "better"},
            {"claim": "a small step is slower", "variant": "a,lr=0.01", "baseline": "a,lr=0.1", "expect": "worse"},
            {"claim": "b's last epoch", "variant": "b,lr=0.1", "metric": "last_val_loss", "expect": "better"},
        ],
    )
    runs = expand(spec)
    check_reference(spec, run_names(runs), baseline_of(spec, runs))  # every name exists: no error


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"reference": {"figures": {"b,lr=0.001": {"test_top1": 0.7}}}},
            r"study 's': reference figures: 'b,lr=0.001' is not a variant of the study \(did you mean 'b,lr=0.01'\?\); "
            r"variants: a,lr=0.1, a,lr=0.01, b,lr=0.1, b,lr=0.01$",
        ),
        (
            {"reference": {"figures": {"a,lr=0.1": {"tset_top1": 0.7}}}},
            r"reference figure 'a,lr=0.1.tset_top1': 'tset_top1' is not one of: best_epoch, train_loss, .*test_top5 "
            r"\(did you mean 'test_top1'\?\)",
        ),
        (
            {"reference": {"figures": {"a,lr=0.1": {"test_top1": 76.31}}}},
            r"'a,lr=0.1.test_top1' = 76.31: top-k figures are fractions",
        ),
        (
            {"conclusions": [{"claim": "c", "variant": "b", "expect": "better"}]},
            r"conclusion 1 \('c'\): variant 'b' is not a variant of the study",
        ),
        (
            {"conclusions": [{"claim": "c", "variant": "b,lr=0.1", "metric": "test_acc", "expect": "better"}]},
            r"conclusion 1 \('c'\): metric 'test_acc' is not one of: train_loss, .*last_test_top5",
        ),
        (
            {"conclusions": [{"claim": "c", "variant": "a,lr=0.1", "expect": "better"}]},
            r"compares 'a,lr=0.1' with itself",  # the study's baseline is a's first grid point
        ),
    ],
)
def test_a_bad_name_in_reference_or_conclusions_is_named(fields: dict, expected: str, tmp_path: Path) -> None:
    spec = _claims(**fields)
    runs = expand(spec)
    with pytest.raises(UserError, match=expected):
        check_reference(spec, run_names(runs), baseline_of(spec, runs))
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(spec.model_dump(mode="json")))
    with pytest.raises(UserError, match=expected):  # loading the spec checks them, before any run
        load_spec(path)


def test_several_bad_names_are_listed_together() -> None:
    spec = _claims(
        reference={"figures": {"c": {"test_top1": 0.5}}},
        conclusions=[{"claim": "c", "variant": "d,lr=0.1", "baseline": "e", "expect": "worse"}],
    )
    runs = expand(spec)
    with pytest.raises(UserError) as err:
        check_reference(spec, run_names(runs), baseline_of(spec, runs))
    lines = str(err.value).splitlines()
    assert lines[0] == "study 's': invalid reference or conclusions:" and len(lines) == 4
    assert "'c'" in lines[1] and "variant 'd,lr=0.1'" in lines[2] and "baseline 'e'" in lines[3]


@pytest.mark.parametrize(
    ("seeds", "expected"),
    [
        ([-1], r"'seeds\[0\]' = -1 is invalid: input should be greater than or equal to 0"),
        ([2**32], r"'seeds\[0\]' = 4294967296 is invalid"),
        ([], r"'seeds' = \[\] is invalid: list should have at least 1 item"),
        ([0, 1, 0], r"seed 0 is given twice: list each seed once"),
        ([True], r"'seeds\[0\]' = True is invalid: input should be a valid integer"),
        (10**9, r"a count of seeds is from 1 to 1,000,000"),
    ],
)
def test_seeds_are_distinct_whole_numbers_a_generator_takes(seeds, expected: str) -> None:
    started = time.perf_counter()
    with pytest.raises(UserError, match=expected):
        _spec(seeds=seeds)
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize("name", ["..", ".", "/..", "...", "../"])
def test_a_name_that_would_be_this_folder_or_its_parent_is_refused(name: str) -> None:
    with pytest.raises(UserError, match=r"names no folder .*give it a name with a letter or digit"):
        _spec(variants={name: {}})
    with pytest.raises(UserError, match="names no folder"):
        _spec(name=name)


def test_run_folders_stay_inside_the_study_whatever_the_names(tmp_path: Path) -> None:
    runs = expand(_spec(variants={"../../x": {}, "/etc/y": {}, "a/../../b": {}}, seeds=1))
    assert [str(r.folder) for r in runs] == ["runs/.._.._x/seed0", "runs/etc_y/seed0", "runs/a_.._.._b/seed0"]
    assert all((tmp_path / r.folder).resolve().is_relative_to(tmp_path / "runs") for r in runs)


def test_a_variant_given_twice_in_the_yaml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nvariants:\n  a: {optim.lr: 0.1}\n  b: {}\n  a: {optim.lr: 0.5}\n")
    with pytest.raises(UserError, match=r"s.yaml' is refused: key 'a' is given twice in one mapping \(again on line 5"):
        load_spec(path)


def test_a_study_of_more_runs_than_max_runs_is_refused_at_once_saying_how_many(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    values = ", ".join(str(v) for v in range(1000))
    path.write_text(f"name: huge\ngrid:\n  optim.lr: [{values}]\n  train.batch_size: [{values}]\nseeds: 3\n")
    started = time.perf_counter()
    with pytest.raises(UserError, match=r"would be 3,000,000 runs \(1 variants x 1,000,000 grid points x 3 seeds\), "):
        load_spec(path)
    assert time.perf_counter() - started < 2
    spec = _spec(variants={"a": {}, "b": {}}, grid={"optim.lr": [0.1, 0.2, 0.3]}, seeds=2)
    assert count_runs(spec) == 12
    with pytest.raises(UserError, match="more than --max-runs 11: shrink the grid or the seeds, or raise --max-runs"):
        expand(spec, max_runs=11)
    assert len(expand(spec, max_runs=12)) == 12
