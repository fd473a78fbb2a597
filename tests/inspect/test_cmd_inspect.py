"""The `inspect` and `models` verbs, through their own argparse sub-parsers."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys

import pytest

from cnnlab.cli import cmd_inspect, cmd_models
from cnnlab.cli.main import main
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


# -- --conv P K: report 004, task 1a ---------------------------------------------------------------

REPORT_P, SOBEL = "1,0,2,3,1;3,2,0,7,0;0,6,1,1,4", "-1,0,1;-2,0,2;-1,0,1"


def test_conv_prints_the_reports_output(capsys) -> None:
    # the kernel's first entry is negative: it must still be read as a value, not as an option
    assert main(["inspect", "--conv", REPORT_P, SOBEL, "--padding", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "c11 = 0(-1) + 0(0) + 0(1) + 0(-2) + 1(0) + 0(2) + 0(-1) + 3(0) + 2(1) = 2" in lines  # equation 5
    assert lines[-3:] == ["    2  -1  11  -2 -13", "   10  -4   8   2 -18", "   14  -1  -5   6  -9"]  # equation 6
    assert "  0 3 2 0 7 0 0" in lines  # the padded input, equation 2


def test_conv_flip_and_stride_reach_the_computation(capsys) -> None:
    assert main(["inspect", "--conv", REPORT_P, SOBEL, "--padding", "1", "--stride", "2", "--flip"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("P (3x5):") and "convolution: K rotated 180 degrees slides over Pz, stride 2" in out
    assert "conv2d computes the cross-correlation (no flip)" in out
    assert out.splitlines()[-2:] == ["   -2 -11  13", "  -14   5   9"]  # minus C at rows 1, 3 and columns 1, 3, 5


MALFORMED = "write the rows separated by ';' and the entries by ','"  # what a malformed matrix's error adds


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--conv", "1,0,2;3,2", SOBEL], "--conv P '1,0,2;3,2': row 2 has 2 entries but row 1 has 3 entries"),
        (["--conv", REPORT_P, "-1,0,1;-2,zero,2"], "--conv K '-1,0,1;-2,zero,2': 'zero' in row 2 is not a number"),
        (["--conv", "", SOBEL], f"--conv P is empty: {MALFORMED}"),
        (["--conv", "1,2;3,4", SOBEL], "the kernel K (3x3) is larger than the padded input (2x2"),
        (["--conv", REPORT_P, SOBEL, "--padding", "-1"], "--padding must be 0 or more"),
        (["--padding", "1"], "--padding is for --conv P K only"),
        (["--stride", "2", "--flip"], "--stride and --flip are for --conv P K only"),
        (["tme2", "--conv", REPORT_P, SOBEL], "--conv P K stands alone"),
    ],
)
def test_conv_mistakes_exit_2_naming_the_argument(argv: list[str], message: str, capsys) -> None:
    assert main(["inspect", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cnnlab: error: ") and message in err and "Traceback" not in err
    names_a_matrix = re.match(r"cnnlab: error: --conv [PK] ('|is empty)", err) is not None
    assert (MALFORMED in err) == names_a_matrix


def test_conv_with_one_matrix_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["inspect", "--conv", REPORT_P])
    assert exit_.value.code == 2 and "--conv: expected 2 arguments" in capsys.readouterr().err


def test_a_malformed_matrix_exits_2_without_a_traceback_from_the_shell() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cnnlab", "inspect", "--conv", "1,2;3", "1"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--conv P '1,2;3': row 2 has 1 entry" in result.stderr
