"""The course nets exactly as their reports list them: parameter counts and per-layer shapes, by hand.

Each test cites the report table it pins (the reports: RDFIA homework 1-cd, ROB313 TP4, RDFIA TME 2,
EQ2425 project 3, TDT4265 assignment 3). Counts are on 3x32x32 inputs and 10 classes.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from cnnlab.models import build, get_entry
from cnnlab.models.blocks import trace_shapes


def params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def conv(c_in: int, c_out: int, k: int, bias: bool = True) -> int:
    return c_in * c_out * k * k + (c_out if bias else 0)


def fc(n_in: int, n_out: int, bias: bool = True) -> int:
    return n_in * n_out + (n_out if bias else 0)


def bn(channels: int) -> int:
    return 2 * channels


def shapes(model: nn.Module, input_shape: tuple[int, ...]) -> dict[str, tuple]:
    """Output shape of every named layer of features then classifier."""
    layers = [*model.features.named_children(), *model.classifier.named_children()]
    return dict(trace_shapes(layers, input_shape))


def kinds(model: nn.Module) -> list[str]:
    """The layer types in forward order, as a report's table lists them."""
    return [type(m).__name__ for m in [*model.features, *model.classifier]]


def test_tme2_counts_with_and_without_biases() -> None:
    # RDFIA homework 1-cd, Q10-Q11: its table lists the convs' weights without biases and counts 1,191,010;
    # RDFIA TME 2, Q11, sums 1,190,160 (the fc biases left out). With every bias: 1,191,170.
    weights = conv(3, 32, 5, False) + conv(32, 64, 5, False) + conv(64, 64, 5, False) + fc(1024, 1000, False)
    weights += fc(1000, 10, False)
    assert weights == 1_190_000
    assert params(build("tme2")) == 1_191_170 == weights + (32 + 64 + 64) + (1000 + 10)
    assert params(build("tme2", conv_bias=False)) == 1_191_010
    assert params(build("tme2", fc_bias=False)) == 1_190_160


def test_tme2_shapes_and_names_follow_the_homework_table() -> None:
    # RDFIA homework 1-cd, Q10: conv1 32x32x32, pool1 16x16x32, ..., pool3 4x4x64, fc4 1000, fc5 10
    s = shapes(build("tme2"), (3, 32, 32))
    assert s["conv1"] == (32, 32, 32) and s["pool1"] == (32, 16, 16)
    assert s["conv2"] == (64, 16, 16) and s["pool2"] == (64, 8, 8)
    assert s["conv3"] == (64, 8, 8) and s["pool3"] == (64, 4, 4)
    assert s["flatten"] == (1024,) and s["fc4"] == (1000,) and s["fc5"] == (10,)
    with_bn = build("tme2", batch_norm=True, dropout=0.65)  # homework Q34 (BN after each conv), Q29 (dropout)
    assert kinds(with_bn)[:4] == ["Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d"]
    assert [m.p for m in with_bn.classifier if isinstance(m, nn.Dropout)] == [0.65]
    assert list(dict(with_bn.classifier.named_children())).index("dropout4") == 3  # between fc4 and fc5


def test_tdt4265_task2_has_390410_parameters_and_the_report_shapes() -> None:
    # TDT4265 assignment 3, Table 1 and task 1g: 2,432 + 51,264 + 204,928 + 131,136 + 650 = 390,410
    model = build("tdt4265")
    expected = conv(3, 32, 5) + conv(32, 64, 5) + conv(64, 128, 5) + fc(2048, 64) + fc(64, 10)
    assert params(model) == expected == 390_410
    s = shapes(model, (3, 32, 32))
    assert [s[f"pool{i}"] for i in (1, 2, 3)] == [(32, 16, 16), (64, 8, 8), (128, 4, 4)]
    assert s["flatten"] == (2048,) and s["fc4"] == (64,)


def test_tdt4265_network1_is_table_2() -> None:
    # TDT4265 assignment 3, Tables 2-3: 5x5 convs with padding 2, BN after the ReLU of layers 1 and 3,
    # pooling after layers 2 and 4, Dropout2D after layer 4, four fc 64 (ReLU, BatchNorm1d, dropout), fc 10
    model = build("tdt4265-net1")
    convs = conv(3, 32, 5) + conv(32, 64, 5) + conv(64, 128, 5) + conv(128, 128, 5) + bn(32) + bn(128)
    head = fc(128 * 8 * 8, 64) + 3 * fc(64, 64) + 4 * bn(64) + fc(64, 10)
    assert params(model) == convs + head == 1_206_666
    assert kinds(model)[:13] == [
        "Conv2d", "ReLU", "BatchNorm2d",
        "Conv2d", "ReLU", "MaxPool2d",
        "Conv2d", "ReLU", "BatchNorm2d",
        "Conv2d", "ReLU", "MaxPool2d", "Dropout2d",
    ]  # fmt: skip
    assert kinds(model)[13:] == ["Flatten", *["Linear", "ReLU", "BatchNorm1d", "Dropout"] * 4, "Linear"]
    assert {m.p for m in model.modules() if isinstance(m, nn.Dropout | nn.Dropout2d)} == {0.05}  # Table 3's rate
    s = shapes(model, (3, 32, 32))
    assert s["pool2"] == (64, 16, 16) and s["pool4"] == (128, 8, 8) and s["fc5"] == (64,) and s["fc9"] == (10,)


def test_tdt4265_network2_is_table_4_with_the_padding_the_report_states() -> None:
    # TDT4265 assignment 3, Tables 4-5 and section 3.1: 3x3 convs "with a padding of 2" grow the maps
    # (32 -> 34 -> 36 -> pool 18 -> 20 -> pool 10), so fc1 reads 128x10x10: 913,674 parameters
    model = build("tdt4265-net2")
    body = conv(3, 32, 3) + conv(32, 64, 3) + bn(64) + conv(64, 128, 3) + bn(128)
    assert params(model) == body + fc(128 * 10 * 10, 64) + bn(64) + fc(64, 10) == 913_674
    s = shapes(model, (3, 32, 32))
    assert (s["conv1"], s["conv2"], s["pool2"], s["conv3"], s["pool3"]) == (
        (32, 34, 34),
        (64, 36, 36),
        (64, 18, 18),
        (128, 20, 20),
        (128, 10, 10),
    )
    assert kinds(model) == [
        "Conv2d", "ReLU",
        "Conv2d", "ReLU", "BatchNorm2d", "MaxPool2d",
        "Conv2d", "ReLU", "BatchNorm2d", "MaxPool2d", "Dropout",
        "Flatten", "Linear", "ReLU", "BatchNorm1d", "Linear",
    ]  # fmt: skip
    assert model.features.dropout3.p == 0.1  # Table 5
    assert params(build("tdt4265-net2", padding=1)) == 618_762  # had the sizes been kept


def test_tdt4265_improved_is_network1_without_its_fc_dropout() -> None:
    # TDT4265 assignment 3, Tables 7-8: network 1's layers without the fc dropouts; Dropout2D 0.05 stays
    model = build("tdt4265-improved")
    assert params(model) == 1_206_666
    assert kinds(model)[13:] == ["Flatten", *["Linear", "ReLU", "BatchNorm1d"] * 4, "Linear"]
    assert [m.p for m in model.modules() if isinstance(m, nn.Dropout | nn.Dropout2d)] == [0.05]
    assert "Table 7" in get_entry("tdt4265-improved").doc


def test_vgg16_cifar_is_the_rob313_listing() -> None:
    # ROB313 TP4, the printed module listing: 12 convs (two in block 3), ReLU after each, one BN at the end
    # of each block, Dropout2d(0.05) in block 1 only, pooling stride 2 then 1, Dropout(0.1), fc 73728-4096-4096-10
    with torch.device("meta"):  # 333 million parameters: count them without allocating them
        model = build("vgg16-cifar")
        s = shapes(model, (3, 32, 32))
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512]
    pools = [m for m in model.features if isinstance(m, nn.MaxPool2d)]
    assert [p.stride for p in pools] == [2, 1, 1, 1, 1]
    assert [s[name][1:] for name in ("pool2", "pool4", "pool6", "pool9", "pool12")] == [
        (16, 16),
        (15, 15),
        (14, 14),
        (13, 13),
        (12, 12),
    ]
    assert [m.num_features for m in model.features if isinstance(m, nn.BatchNorm2d)] == [64, 128, 256, 512, 512]
    assert [m.p for m in model.features if isinstance(m, nn.Dropout2d)] == [0.05]
    assert kinds(model)[:7] == ["Conv2d", "ReLU", "Conv2d", "ReLU", "BatchNorm2d", "Dropout2d", "MaxPool2d"]
    assert kinds(model)[-7:] == ["Flatten", "Dropout", "Linear", "ReLU", "Linear", "ReLU", "Linear"]
    widths = [3, 64, 64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512]
    conv_params = sum(conv(a, b, 3) for a, b in itertools.pairwise(widths))
    head = fc(73_728, 4096) + fc(4096, 4096) + fc(4096, 10)
    assert model.classifier.fc13.in_features == 512 * 12 * 12 == 73_728
    assert params(model) == conv_params + bn(64) + bn(128) + bn(256) + 2 * bn(512) + head == 332_943_818


def test_vgg_truncated_is_the_listing_first_three_blocks_pooled_by_two() -> None:
    # ROB313 TP4, optimiser section: the first three blocks (64,64 | 128,128 | 256,256) halved by each pooling
    with torch.device("meta"):
        model = build("vgg-truncated")
        s = shapes(model, (3, 32, 32))
    convs = [m.out_channels for m in model.features if isinstance(m, nn.Conv2d)]
    assert convs == [64, 64, 128, 128, 256, 256]
    assert s["pool6"] == (256, 4, 4) and model.classifier.fc7.in_features == 256 * 4 * 4
    widths = [3, 64, 64, 128, 128, 256, 256]
    body = sum(conv(a, b, 3) for a, b in itertools.pairwise(widths)) + bn(64) + bn(128) + bn(256)
    assert params(model) == body + fc(4096, 4096) + fc(4096, 4096) + fc(4096, 10)


def test_rob313_layout() -> None:
    # ROB313 TP4, MyConvolutionalNetwork: conv1, pool, bn1, conv2, dropout 0.35, pool1, fc1 64, fc2 10
    model = build("rob313")
    expected = conv(3, 16, 3) + bn(16) + conv(16, 16, 3) + fc(16 * 8 * 8, 64) + fc(64, 10)
    assert params(model) == expected == 69_050
    names = list(dict(model.features.named_children()))
    assert names == ["conv1", "relu1", "pool1", "bn1", "conv2", "relu2", "dropout2", "pool2"]
    assert model.features.dropout2.p == 0.35 and isinstance(model.features.dropout2, nn.Dropout)
    s = shapes(model, (3, 32, 32))
    assert s["pool1"] == (16, 16, 16) and s["pool2"] == (16, 8, 8) and s["flatten"] == (1024,)
    assert isinstance(build("rob313", dropout2d=True).features.dropout2, nn.Dropout2d)
    # the report's comparisons: without dropout, without pooling (fc1 then reads 16x32x32), without batch norm
    assert not any(isinstance(m, nn.Dropout) for m in build("rob313", conv_dropout=0).modules())
    assert build("rob313", pool="none").classifier.fc3.in_features == 16 * 32 * 32
    assert params(build("rob313", batch_norm=False)) == 69_050 - bn(16)


def test_eq2425_original_spec() -> None:
    # EQ2425 project 3, section 4 (appendix column 3.2): valid convs 5x5 24, 3x3 48, 3x3 96, fc 512, fc 10
    model = build("eq2425")
    # valid convs: 32 -conv5-> 28 -pool-> 14 -conv3-> 12 -pool-> 6 -conv3-> 4 -pool-> 2
    expected = conv(3, 24, 5) + conv(24, 48, 3) + conv(48, 96, 3) + fc(96 * 2 * 2, 512) + fc(512, 10)
    assert params(model) == expected == 256_058
    s = shapes(model, (3, 32, 32))
    assert (s["conv1"], s["conv2"], s["conv3"], s["pool3"]) == ((24, 28, 28), (48, 12, 12), (96, 4, 4), (96, 2, 2))
    names = list(dict(model.features.named_children()))
    assert "relu3" not in names and names.index("pool3") == names.index("conv3") + 1  # no ReLU after conv3
    assert "relu3" in dict(build("eq2425", last_conv_activation=True).features.named_children())


def test_eq2425_appendix_columns() -> None:
    # EQ2425 project 3, appendix: 4.A.1 filters 64/128/256, 4.A.2 + fc 128, 4.B 7x7 then 5x5, 4.C Leaky ReLU
    # with a = 100 (slope 0.01), 4.D dropout, 4.E batch norm
    wide = build("eq2425", widths=(64, 128, 256), extra_fc=128, activation="leaky_relu")
    expected = conv(3, 64, 5) + conv(64, 128, 3) + conv(128, 256, 3) + fc(1024, 512) + fc(512, 128) + fc(128, 10)
    assert params(wide) == expected
    leaky = [m for m in wide.modules() if isinstance(m, nn.LeakyReLU)]
    assert len(leaky) == 4 and all(m.negative_slope == 0.01 for m in leaky)
    # 4.B: 32 -conv7-> 26 -pool-> 13 -conv5-> 9 -pool-> 4 -conv3-> 2 -pool-> 1
    big = build("eq2425", widths=(64, 128, 256), kernels=(7, 5, 3), extra_fc=128)
    s = shapes(big, (3, 32, 32))
    assert (s["conv1"], s["conv2"], s["conv3"], s["pool3"]) == ((64, 26, 26), (128, 9, 9), (256, 2, 2), (256, 1, 1))
    assert params(big) == conv(3, 64, 7) + conv(64, 128, 5) + conv(128, 256, 3) + fc(256, 512) + fc(512, 128) + fc(
        128, 10
    )
    with_bn = build("eq2425", batch_norm=True, dropout=0.3)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in with_bn.modules()) == 3
    assert [m.p for m in with_bn.modules() if isinstance(m, nn.Dropout)] == [0.3]


@pytest.mark.parametrize("name", ["tme2", "eq2425"])
def test_2d_dropout_follows_each_pooled_stage_and_keeps_the_shapes(name: str) -> None:
    model = build(name, conv_dropout=0.2)
    stages = [m for m in model.features.modules() if isinstance(m, nn.Dropout2d)]
    assert len(stages) == 3 and all(m.p == 0.2 for m in stages)
    assert params(model) == params(build(name))
    model.eval()  # dropout off: the same weights give the same output as the net without it
    plain = build(name)
    plain.load_state_dict(model.state_dict())
    plain.eval()
    x = torch.randn(2, 3, 32, 32)
    assert torch.equal(model(x), plain(x))


@pytest.mark.parametrize("pool", ["avg", "none"])
def test_pooling_can_be_changed_or_removed(pool: str) -> None:
    model = build("tdt4265", pool=pool)
    names = dict(model.features.named_children())
    if pool == "none":
        assert "pool1" not in names and model.classifier.fc4.in_features == 128 * 32 * 32
    else:
        assert isinstance(names["pool1"], nn.AvgPool2d) and model.classifier.fc4.in_features == 2048


def test_the_flatten_size_follows_the_input() -> None:
    assert build("tdt4265", input_size=40).classifier.fc4.in_features == 128 * 5 * 5
    assert build("rob313", in_channels=1, input_size=28).classifier.fc3.in_features == 16 * 7 * 7


@pytest.mark.parametrize("init", ["uniform", "kaiming", "xavier"])
def test_init_schemes_reset_weights_and_zero_biases(init: str) -> None:
    torch.manual_seed(0)
    model = build("rob313", init=init)
    assert all(not m.bias.detach().any() for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear))
    if init == "uniform":
        assert float(model.features.conv1.weight.detach().abs().max()) <= 0.05
