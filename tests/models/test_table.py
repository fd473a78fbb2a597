"""Nets written as layer tables: rows to modules, shapes inferred, report-style names, clear mistakes."""

from __future__ import annotations

import pytest
import torch
import yaml
from torch import nn

from cnnlab.cli.main import main
from cnnlab.errors import UserError
from cnnlab.models import build, build_table, format_table, table_of

OWN_NET = yaml.safe_load(
    """
- {conv: 16, kernel: 3, padding: 1}
- relu
- batchnorm
- {maxpool: 2}
- {conv: 32, kernel: [3, 3], padding: same}
- {leaky_relu: 0.1}
- {dropout2d: 0.1}
- {avgpool: 2, stride: 2}
- {fc: 64}
- relu
- batchnorm
- {dropout: 0.5}
- {fc: classes, bias: false}
"""
)


def test_a_table_of_ones_own_builds_with_every_size_inferred() -> None:
    model = build("layers", in_channels=3, num_classes=7, input_size=32, layers=OWN_NET)
    names = [*dict(model.features.named_children()), *dict(model.classifier.named_children())]
    assert names == [
        "conv1", "relu1", "bn1", "pool1", "conv2", "leaky_relu2", "dropout2", "pool2",
        "flatten", "fc3", "relu3", "bn3", "dropout3", "fc4",
    ]  # fmt: skip
    assert isinstance(model.features.bn1, nn.BatchNorm2d) and isinstance(model.classifier.bn3, nn.BatchNorm1d)
    assert model.features.conv2.in_channels == 16 and model.features.leaky_relu2.negative_slope == 0.1
    assert model.classifier.fc3.in_features == 32 * 8 * 8  # a flatten was added before the first fc
    assert model.classifier.fc4.out_features == 7 and model.classifier.fc4.bias is None
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 7)
    assert build("layers", in_channels=1, num_classes=7, input_size=28, layers=OWN_NET).classifier.fc3.in_features == (
        32 * 7 * 7
    )


@pytest.mark.parametrize("name", ["tme2", "rob313", "eq2425", "tdt4265", "tdt4265-net1", "tdt4265-net2", "mlp"])
def test_a_course_net_is_its_printed_table(name: str) -> None:
    """`cnnlab models NAME` prints the table; model.name=layers with it builds the same net, weight for weight."""
    rows = yaml.safe_load(format_table(table_of(name)))
    torch.manual_seed(0)
    course = build(name).eval()
    own = build("layers", layers=rows).eval()
    assert [(k, v.shape) for k, v in own.state_dict().items()] == [(k, v.shape) for k, v in course.state_dict().items()]
    own.load_state_dict(course.state_dict())
    x = torch.randn(3, 3, 32, 32)
    assert torch.equal(own(x), course(x))


def test_two_layers_of_one_kind_in_one_layer_number_get_distinct_names() -> None:
    model = build_table([{"conv": 4}, "relu", "relu", {"fc": "classes"}], 1, 2, (8, 8))
    assert list(dict(model.features.named_children())) == ["conv1", "relu1", "relu1_2"]


def test_points_take_fully_connected_tables_without_a_flatten() -> None:
    model = build_table([{"fc": 8}, "tanh", {"fc": "classes"}], 2, 2, None)
    assert not list(model.features) and model(torch.randn(5, 2)).shape == (5, 2)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"convv": 8}, {"fc": "classes"}], r"model\.layers\[0\] = \{'convv': 8\} has no layer kind"),
        (["rellu", {"fc": "classes"}], r"unknown layer kind 'rellu' \(did you mean 'relu'\?\)"),
        ([{"conv": 8, "kernal": 3}, {"fc": "classes"}], r"\[0\]: a conv row has no setting 'kernal'"),
        ([{"conv": 8}, {"fc": "classes"}, "softmax"], r"\[2\]: leave softmax out"),
        (
            [{"conv": 8}, "flatten", {"fc": 64}],
            r"ends with an output of shape \(64,\).*end the table with \{fc: classes\}",
        ),
        ([{"conv": 0}, {"fc": "classes"}], r"conv's out channels must be a whole number of at least 1, not 0"),
        ([{"dropout": 1.5}, {"fc": "classes"}], r"dropout takes its rate, a number in \[0, 1\)"),
        (["flatten", {"conv": 8}, {"fc": "classes"}], r"\[1\]: a conv row needs an image input"),
        ([{"fc": 8}, {"dropout2d": 0.1}, {"fc": "classes"}], r"\[1\]: a dropout2d row needs an image input"),
        ([{"leaky_relu": "much"}, {"fc": "classes"}], r"leaky_relu's value is its negative slope"),
        (["relu", {"relu": 3}, {"fc": "classes"}], r"\[1\]: relu takes no value"),
        ([{"conv": 8, "bias": "no"}, {"fc": "classes"}], r"bias is true or false"),
        ([42, {"fc": "classes"}], r"\[0\] = 42 is not a layer"),
        ([{"conv": 8, "kernel": 9}, {"fc": "classes"}], r"input 3x8x8 is too small.*layer 'conv1'"),
        ([{"conv": 8, "stride": 2, "padding": "same"}, {"fc": "classes"}], r"\[0\]: padding 'same' needs stride 1"),
        ([{"maxpool": 2, "padding": 2}, {"fc": "classes"}], r"layer 'pool0' \(model.layers\[0\]\) cannot take"),
    ],
)
def test_a_mistake_names_the_row_and_the_fix(rows: list, message: str) -> None:
    with pytest.raises(UserError, match=message):
        build("layers", in_channels=3, num_classes=10, input_size=8, layers=rows)


def test_the_layers_model_needs_its_table() -> None:
    with pytest.raises(UserError, match=r"model 'layers' needs its table: model\.layers="):
        build("layers")


def test_inspect_takes_a_table_and_models_prints_one(capsys) -> None:
    table = "layers=[{conv: 8, kernel: 3, padding: 1}, relu, maxpool, {fc: classes}]"
    assert main(["inspect", "layers", table]) == 0
    assert f"{8 * 3 * 9 + 8 + 8 * 16 * 16 * 10 + 10:,}" in capsys.readouterr().out
    assert main(["inspect", "layers", "layers=[{conv: 8}, softmax]"]) == 2
    assert "leave softmax out" in capsys.readouterr().err
    assert main(["models", "tdt4265-net2"]) == 0
    printed = capsys.readouterr().out
    assert "- {conv: 32, kernel: 3, padding: 2}" in printed and "- {fc: classes}" in printed


def test_an_empty_table_says_what_to_write() -> None:
    with pytest.raises(UserError, match=r"my net is empty: give the net's layers"):
        build_table([], 3, 10, (32, 32), where="my net")


@pytest.mark.parametrize("before", ["tanh", "sigmoid", "relu"])
def test_an_activation_after_one_whose_backward_needs_its_output_trains(before: str) -> None:
    """A ReLU overwrites its input only after a conv, fc, batch norm or pooling (whose backward does not need it)."""
    model = build("layers", in_channels=3, num_classes=4, input_size=8, layers=[{"conv": 4}, before, "relu", {"fc": 4}])
    model(torch.randn(2, 3, 8, 8)).sum().backward()  # an in-place ReLU here would break autograd
    assert not model.features.relu1_2.inplace if before == "relu" else not model.features.relu1.inplace
    assert build("tme2").features.relu1.inplace  # after a conv it still saves the copy
