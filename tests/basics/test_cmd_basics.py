"""`cnnlab basics mlp|svm` through an argparse parser built with the verb's own add_parser."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from cnnlab.cli import cmd_basics
from cnnlab.errors import UserError


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="cnnlab")
    cmd_basics.add_parser(parser.add_subparsers(dest="verb", required=True))
    args = parser.parse_args(argv)
    return args.run(args)


def test_mlp_prints_final_accuracies_and_writes_its_files(tmp_path: Path, capsys) -> None:
    out = tmp_path / "mlp"
    assert _cli(["basics", "mlp", "--data", "circles", "--epochs", "30", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "final train accuracy" in printed and "test accuracy" in printed and str(out) in printed
    test_accuracy = float(printed.split("test accuracy ")[1].split("%")[0])
    assert test_accuracy >= 95.0
    assert {p.name for p in out.iterdir()} == {"curves.png", "boundary.png", "history.csv", "summary.json"}


def test_mlp_options_reach_the_run(tmp_path: Path, capsys) -> None:
    argv = ["basics", "mlp", "--data", "Moons", "--step", "optim", "--hidden", "7", "--lr", "0.2"]
    argv += ["--epochs", "2", "--batch-size", "400", "--seed", "5", "--boundary-at", "0,3", "--out", str(tmp_path)]
    assert _cli(argv) == 0
    printed = capsys.readouterr().out
    assert "moons: 2 -> 7 tanh -> 2 softmax, step 'optim', SGD lr 0.2, batch 400, 2 epochs, seed 5" in printed
    assert "4 SGD steps" in printed
    assert '"boundary_steps": [\n    0,\n    3\n  ]' in (tmp_path / "summary.json").read_text()


def test_mlp_writes_into_a_default_folder(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert _cli(["basics", "mlp", "--epochs", "1", "--step", "nn"]) == 0
    assert (tmp_path / "cnnlab-basics" / "mlp-circles-nn" / "curves.png").is_file()


def test_svm_prints_the_table_and_writes_csv_markdown_and_figure(tmp_path: Path, capsys) -> None:
    assert _cli(["basics", "svm", "--data", "circles", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    lines = printed.splitlines()
    assert any(line.startswith("kernel") and "test acc" in line for line in lines)
    assert sum(line.startswith("rbf ") for line in lines) == 9
    assert "test accuracy by kernel: linear" in printed
    assert {p.name for p in tmp_path.iterdir()} == {"svm.csv", "svm.md", "svm-boundaries.png"}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["basics", "mlp", "--data", "circels"], "unknown --data 'circels' (did you mean 'circles'?)"),
        (["basics", "mlp", "--data", "cifar10"], "choose one of circles, moons, digits, fashion-mnist"),
        (["basics", "mlp", "--lr", "-1"], "--lr must be a positive number"),
        (["basics", "mlp", "--hidden", "0"], "--hidden must be at least 1"),
        (["basics", "mlp", "--data", "digits", "--boundary-at", "5"], "--boundary-at needs 2-D points"),
        (["basics", "mlp", "--epochs", "1", "--boundary-at", "99"], "outside this run's SGD steps, 0 to 25"),
        (["basics", "svm", "--data", "digits"], "2-D sets only"),
        (["basics", "svm", "--data", "spirals"], "unknown --data 'spirals'"),
    ],
)
def test_bad_input_is_a_user_error_and_writes_nothing(tmp_path: Path, argv, message) -> None:
    out = tmp_path / "out"
    with pytest.raises(UserError) as err:
        _cli([*argv, "--out", str(out)])
    assert message in str(err.value)
    assert not out.exists()


@pytest.mark.parametrize(
    "argv",
    [["basics", "mlp", "--step", "keras"], ["basics", "mlp", "--boundary-at", "a,b"], ["basics"]],
)
def test_malformed_options_are_usage_errors(argv, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        _cli(argv)
    assert exit_.value.code == 2
    assert "usage: cnnlab basics" in capsys.readouterr().err
