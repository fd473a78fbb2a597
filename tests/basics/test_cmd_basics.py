"""`cnnlab basics mlp|svm` through an argparse parser built with the verb's own add_parser."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from cnnlab.cli import cmd_basics
from cnnlab.cli.main import main
from cnnlab.data.sources import idx
from cnnlab.errors import UserError
from tests.fakes import write_bar_idx_folder


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
        (["basics", "mlp", "--data", "cifar10"], "choose one of circles, moons, digits, mnist, fashion-mnist"),
        (["basics", "mlp", "--lr", "-1"], "--lr must be a positive number"),
        (["basics", "mlp", "--hidden", "0"], "--hidden must be at least 1"),
        (["basics", "mlp", "--init-std", "0"], "--init-std must be a positive finite number"),
        (["basics", "mlp", "--init-std", "-0.3"], "--init-std must be a positive finite number"),
        (["basics", "mlp", "--init-std", "nan"], "--init-std must be a positive finite number"),
        (["basics", "mlp", "--init-std", "inf"], "--init-std must be a positive finite number"),
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
    [
        ["basics", "mlp", "--step", "keras"],
        ["basics", "mlp", "--boundary-at", "a,b"],
        ["basics", "mlp", "--init-std", "wide"],
        ["basics"],
    ],
)
def test_malformed_options_are_usage_errors(argv, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        _cli(argv)
    assert exit_.value.code == 2
    assert "usage: cnnlab basics" in capsys.readouterr().err


# -- MNIST (report 002, section 1.2.5) and the initial weights' std (section 1.2.1) ---------------


def test_mlp_learns_a_tiny_mnist_in_the_official_idx_files(data_root: Path, tmp_path: Path, capsys) -> None:
    write_bar_idx_folder(data_root / "mnist")  # where `--data mnist` looks first: the data root's mnist/
    out = tmp_path / "mlp"
    assert main(["basics", "mlp", "--data", "mnist", "--epochs", "20", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "mnist: 784 -> 32 tanh -> 10 softmax" in printed and "weights N(0, 1/fan_in)" in printed
    assert "60 train / 30 test examples" in printed
    assert float(printed.split("test accuracy ")[1].split("%")[0]) >= 90.0  # chance is 10%
    assert {p.name for p in out.iterdir()} == {"curves.png", "history.csv", "summary.json"}  # no 2-D boundary


def test_mlp_on_mnist_offline_without_the_files_says_where_to_put_them(
    data_root: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    # a loopback port nobody listens on: the download fails at once, whatever the machine's network
    monkeypatch.setitem(idx.DATASETS, "mnist", dict(idx.DATASETS["mnist"], mirrors=["http://127.0.0.1:9/"]))
    out = tmp_path / "mlp"
    assert main(["basics", "mlp", "--data", "mnist", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cnnlab: error: could not download mnist") and "Traceback" not in err
    names = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    assert all(f"{name}.gz" in err for name in names) and "gzipped or not" in err
    assert f"in '{data_root / 'mnist'}'" in err and "$CNNLAB_DATA" in err
    assert not out.exists()


def test_init_std_reaches_the_run(tmp_path: Path, capsys) -> None:
    argv = ["basics", "mlp", "--data", "circles", "--epochs", "1", "--init-std", "0.3", "--out", str(tmp_path)]
    assert main(argv) == 0
    assert "seed 0, weights N(0, 0.3^2)" in capsys.readouterr().out
    assert json.loads((tmp_path / "summary.json").read_text())["settings"]["init_std"] == 0.3
