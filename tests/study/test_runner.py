"""Running studies: finished runs skipped, stopped ones resumed, failures recorded, workers."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

from cnnlab.config import StudySpec, validate
from cnnlab.errors import UserError
from cnnlab.runs import LAST_METRICS, METRICS, RunFolder, last_epoch, lower_is_better
from cnnlab.study import collect, read_results, run_study
from cnnlab.study import runner as runner_module
from cnnlab.train import train

BASE = {
    "data": {"source": "digits"},
    "model": {"widths": [4, 8, 8], "hidden": 16},
    "train": {"epochs": 2, "threads": 1, "batch_size": 128},
}


def _spec(variants: dict, seeds: int = 2) -> StudySpec:
    return validate({"name": "t", "base": BASE, "variants": variants, "seeds": seeds}, StudySpec)


@pytest.fixture
def count_trainings(monkeypatch):
    calls: list[str] = []
    real = runner_module.train

    def counting(config, out_dir, **kwargs):
        calls.append(str(out_dir))
        return real(config, out_dir, **kwargs)

    monkeypatch.setattr(runner_module, "train", counting)
    return calls


def test_second_invocation_trains_nothing(tmp_path: Path, count_trainings) -> None:
    spec = _spec({"a": {}, "b": {"data.preprocess": "none"}})
    first = run_study(spec, tmp_path)
    assert len(count_trainings) == 4 and len(first.trained) == 4 and not first.failed
    second = run_study(spec, tmp_path)
    assert len(count_trainings) == 4  # nothing trained again
    assert len(second.skipped) == 4 and not second.trained
    with open(tmp_path / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 and {r["status"] for r in rows} == {"completed"}
    assert {"variant", "seed", "best_epoch", "test_top1", "val_loss", "params", "images_per_second"} <= set(rows[0])


def test_an_interrupted_run_is_resumed_not_restarted(tmp_path: Path, count_trainings) -> None:
    spec = _spec({"a": {}}, seeds=1)
    from cnnlab.study import expand

    planned = expand(spec)[0]

    def stop(row):
        raise KeyboardInterrupt

    train(planned.config, tmp_path / planned.folder, callbacks=[stop])  # one epoch done, then Ctrl-C
    outcome = run_study(spec, tmp_path)
    assert outcome.trained == [str(planned.folder)]
    history = RunFolder(tmp_path / planned.folder).read_metrics()
    assert [row["epoch"] for row in history] == [0, 1, 2]  # epoch 0: the initial weights, evaluated once


def test_failed_and_diverged_runs_are_recorded_and_the_study_goes_on(tmp_path: Path, count_trainings) -> None:
    spec = _spec(
        {"ok": {}, "missing-data": {"data.source": str(tmp_path / "nowhere")}, "wild": {"optim.lr": 1e6}}, seeds=1
    )
    outcome = run_study(spec, tmp_path / "study")
    assert list(outcome.failed) == ["runs/missing-data/seed0"]
    rows = {r["variant"]: r for r in collect(tmp_path / "study")}
    assert rows["ok"]["status"] == "completed"
    assert rows["missing-data"]["status"] == "failed" and "nowhere" in rows["missing-data"]["message"]
    assert rows["wild"]["status"] == "diverged" and "diverged at epoch 1" in rows["wild"]["message"]
    again = run_study(spec, tmp_path / "study")
    assert list(again.failed) == ["runs/missing-data/seed0"]  # failures are retried, diverged runs are not
    assert sorted(again.skipped) == ["runs/ok/seed0", "runs/wild/seed0"]


def test_runs_of_another_config_stop_the_study_unless_rerun(tmp_path: Path, count_trainings) -> None:
    spec = _spec({"a": {}, "b": {"data.preprocess": "none"}}, seeds=1)
    run_study(spec, tmp_path, overrides=["train.epochs=1"])  # a dry pass, finished
    (tmp_path / "runs/b/seed0/summary.json").unlink()  # and one of its runs as if stopped
    results = (tmp_path / "results.csv").read_text()
    with pytest.raises(UserError, match=r"holds 2 run\(s\) trained with another config") as stopped:
        run_study(spec, tmp_path)  # the real one: 2 epochs a run
    assert "runs/a/seed0 differs in train.epochs" in str(stopped.value) and "--rerun-changed" in str(stopped.value)
    assert len(count_trainings) == 2 and (tmp_path / "results.csv").read_text() == results  # nothing touched
    outcome = run_study(spec, tmp_path, rerun_changed=True)
    assert sorted(outcome.trained) == ["runs/a/seed0", "runs/b/seed0"] and not outcome.failed
    assert [row["epoch"] for row in RunFolder(tmp_path / "runs/a/seed0").read_metrics()] == [0, 1, 2]
    assert run_study(spec, tmp_path).skipped == ["runs/a/seed0", "runs/b/seed0"]  # now they are the plan's


def test_finished_runs_stay_done_when_the_config_gains_a_key_with_a_default(tmp_path: Path, count_trainings) -> None:
    spec = _spec({"a": {}}, seeds=1)
    run_study(spec, tmp_path, workers=1)
    saved = tmp_path / "runs/a/seed0/config.yaml"
    config = yaml.safe_load(saved.read_text())
    del config["train"]["tta_fraction"], config["data"]["augment"]["brightness"]  # written before these keys
    config["train"]["threads"], config["train"]["progress"] = 2, False  # how it ran is not what it is
    saved.write_text(yaml.safe_dump(config))
    again = run_study(spec, tmp_path)
    assert again.skipped == ["runs/a/seed0"] and len(count_trainings) == 1


def test_a_damaged_run_is_failed_and_the_others_train(tmp_path: Path) -> None:
    spec = _spec({"a": {}, "b": {"data.preprocess": "none"}}, seeds=1)
    run_study(spec, tmp_path, overrides=["train.epochs=1"])
    for run in ("a", "b"):  # both stopped; a's summary then damaged
        (tmp_path / f"runs/{run}/seed0/summary.json").write_text('{"status": "interrupted", "epochs_run": 1}')
    (tmp_path / "runs/a/seed0/summary.json").write_text("")
    outcome = run_study(spec, tmp_path, overrides=["train.epochs=1"])
    assert outcome.trained == ["runs/b/seed0"]
    assert "summary.json' is damaged" in outcome.failed["runs/a/seed0"]
    rows = {row["variant"]: row for row in collect(tmp_path)}
    assert rows["a"]["status"] == "failed" and "summary.json' is damaged" in rows["a"]["message"]
    assert rows["b"]["status"] == "completed"


def test_workers_run_in_separate_processes(tmp_path: Path) -> None:
    outcome = run_study(_spec({"a": {}, "b": {"data.preprocess": "minmax"}}, seeds=1), tmp_path, workers=2)
    assert sorted(outcome.trained) == ["runs/a/seed0", "runs/b/seed0"]
    assert all(r["status"] == "completed" for r in collect(tmp_path))
    assert RunFolder(tmp_path / "runs/a/seed0").read_config().train.threads == 1  # two cores split in two


def test_results_hold_the_last_epoch_and_the_test_set_size(tmp_path: Path) -> None:
    spec = validate(
        {"name": "t", "base": {**BASE, "train": {**BASE["train"], "epochs": 3}}, "variants": {"a": {}}, "seeds": 1},
        StudySpec,
    )
    run_study(spec, tmp_path)
    folder = RunFolder(tmp_path / "runs/a/seed0")
    history = folder.read_metrics()
    (row,) = read_results(tmp_path)
    assert row["last_epoch"] == 3 and row["last_test_top1"] == pytest.approx(history[-1]["test_top1"])
    assert row["last_val_loss"] == pytest.approx(history[-1]["val_loss"])
    best = next(r for r in history if r["epoch"] == row["best_epoch"])
    assert row["test_top1"] == pytest.approx(best["test_top1"])  # the best epoch's figures stay as they were
    assert row["test_images"] == folder.read_info()["split_counts"]["test"] > 0


def test_the_last_epoch_is_the_highest_numbered_row() -> None:
    trained = [{"epoch": 0, "test_top1": 0.1}, {"epoch": 1, "test_top1": 0.5}, {"epoch": 2, "test_top1": 0.6}]
    assert last_epoch(trained) == {"last_epoch": 2, **{f"last_{m}": trained[2].get(m) for m in METRICS}}
    assert last_epoch(trained[:1])["last_test_top1"] == 0.1  # only the evaluation before training
    assert last_epoch([])["last_epoch"] is None  # a run that never wrote an epoch


def test_lower_is_better_for_losses_only() -> None:
    assert [m for m in METRICS + LAST_METRICS if lower_is_better(m)] == [
        "train_loss",
        "val_loss",
        "test_loss",
        "last_train_loss",
        "last_val_loss",
        "last_test_loss",
    ]


def test_a_conclusion_naming_no_variant_stops_the_study_before_any_training(tmp_path: Path, count_trainings) -> None:
    spec = validate(
        {
            "name": "t",
            "base": BASE,
            "variants": {"a": {}, "b": {}},
            "conclusions": [{"claim": "c", "variant": "bb", "expect": "better"}],
        },
        StudySpec,
    )
    with pytest.raises(UserError, match="variant 'bb' is not a variant of the study"):
        run_study(spec, tmp_path / "study")
    assert not count_trainings and not (tmp_path / "study").exists()
