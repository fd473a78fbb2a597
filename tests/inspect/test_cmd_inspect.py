"""The `inspect` and `models` verbs, through their own argparse sub-parsers."""

from __future__ import annotations

import argparse
import json

import pytest

from cnnlab.cli import cmd_inspect, cmd_models
from cnnlab.errors import UserError


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="cnnlab")
    verbs = parser.add_subparsers(dest="verb", required=True)
    cmd_inspect.add_parser(verbs)
    cmd_models.add_parser(verbs)
    args = parser.parse_args(list(argv))
    return args.run(args)


def test_inspect_prints_the_table(capsys) -> None:
    assert run("inspect", "tme2") == 0
    out = capsys.readouterr().out
    assert "features.conv1" in out and "1,191,170" in out and "1,191,010" in out and "1,190,160" in out


def test_inspect_json_with_options_input_and_classes(capsys) -> None:
    assert (
        run(
            "inspect",
            "tme2",
            "conv_bias=false",
            "model.fc_bias=false",
            "--input",
            "1x28x28",
            "--classes",
            "4",
            "--json",
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["params"] == data["totals"]["weights"] and data["totals"]["biases"] == 0
    assert data["input_shape"] == [1, 28, 28] and data["output_shape"] == [4]


def test_inspect_fully_conv(capsys) -> None:
    assert run("inspect", "tdt4265", "--fully-conv", "64") == 0
    assert "input 3x64x64 -> output 10x5x5" in capsys.readouterr().out


def test_layer_size_and_kernel_for(capsys) -> None:
    assert run("inspect", "--layer-size", "504", "2", "0", "2") == 0
    assert run("inspect", "--kernel-for", "514", "504") == 0
    assert capsys.readouterr().out.splitlines() == [
        "(504 - 2 + 2*0) / 2 + 1 = 252",
        "K = 11: (514 - 11 + 2*0) / 1 + 1 = 504",
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["inspect"], "give a model"),
        (["inspect", "tme3"], "unknown model 'tme3'"),
        (["inspect", "tme2", "colour=red"], "has no option 'colour'"),
        (["inspect", "tme2", "optim.lr=0.1"], "not a model option"),
        (["inspect", "tme2", "--input", "3,32"], "must be C,H,W"),
        (["inspect", "tme2", "--input", "3,0,32"], "positive whole numbers"),
        (["inspect", "tme2", "--input", "3,4,4"], "too small"),
        (["inspect", "resnet18", "--fully-conv", "64"], "no separate fully connected head"),
        (["inspect", "--layer-size", "32"], "takes 2 to 4"),
        (["inspect", "--layer-size", "32", "3", "0", "2"], "not a whole number"),
        (["models", "vgg"], "unknown model"),
    ],
)
def test_bad_input_is_a_user_error(argv: list[str], message: str) -> None:
    with pytest.raises(UserError, match=message):
        run(*argv)


def test_models_lists_every_model_on_one_line(capsys) -> None:
    assert run("models") == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("tme2 ") and "1,191,170" in line for line in lines)
    assert {line.split()[0] for line in lines} >= {"tme2", "resnet18", "fastnet", "vgg16-cifar", "mlp"}


def test_models_shows_one_models_options(capsys) -> None:
    assert run("models", "eq2425") == 0
    out = capsys.readouterr().out
    assert (
        "last_conv_activation" in out and "relu|leaky_relu|tanh|sigmoid|gelu" in out and "default [24, 48, 96]" in out
    )


def test_models_json(capsys) -> None:
    assert run("models", "--json") == 0
    data = {m["name"]: m for m in json.loads(capsys.readouterr().out)}
    assert data["resnet18"]["options"]["pretrained"] == {"type": "bool", "default": True}
    assert data["fastnet"]["options"]["widths"]["default"] == [64, 256, 256]
