"""The course nets exactly as the reports describe them: parameter counts and per-layer shapes, by hand."""

from __future__ import annotations

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


def shapes(model: nn.Module, input_shape: tuple[int, ...]) -> dict[str, tuple]:
    """Output shape of every named layer of features then classifier."""
    layers = [*model.features.named_children(), *model.classifier.named_children()]
    return dict(trace_shapes(layers, input_shape))


def test_tme2_counts_with_and_without_biases() -> None:
    weights = conv(3, 32, 5, False) + conv(32, 64, 5, False) + conv(64, 64, 5, False) + fc(1024, 1000, False)
    weights += fc(1000, 10, False)
    assert weights == 1_190_000
    assert params(build("tme2")) == 1_191_170 == weights + (32 + 64 + 64) + (1000 + 10)
    assert params(build("tme2", conv_bias=False)) == 1_191_010
    assert params(build("tme2", fc_bias=False)) == 1_190_160


def test_tme2_shapes() -> None:
    s = shapes(build("tme2"), (3, 32, 32))
    assert s["conv1"] == (32, 32, 32) and s["pool1"] == (32, 16, 16)
    assert s["pool2"] == (64, 8, 8) and s["pool3"] == (64, 4, 4)
    assert s["flatten"] == (1024,) and s["fc1"] == (1000,) and s["fc2"] == (10,)


def test_tdt4265_has_390410_parameters_and_the_report_shapes() -> None:
    model = build("tdt4265")
    expected = conv(3, 32, 5) + conv(32, 64, 5) + conv(64, 128, 5) + fc(2048, 64) + fc(64, 10)
    assert params(model) == expected == 390_410
    s = shapes(model, (3, 32, 32))
    assert [s[f"pool{i}"] for i in (1, 2, 3)] == [(32, 16, 16), (64, 8, 8), (128, 4, 4)]
    assert s["flatten"] == (2048,) and s["fc1"] == (64,)


def test_rob313_layout() -> None:
    model = build("rob313")
    expected = conv(3, 16, 3) + 2 * 16 + conv(16, 16, 3) + fc(16 * 8 * 8, 64) + fc(64, 10)
    assert params(model) == expected == 69_050
    names = list(dict(model.features.named_children()))
    assert names == ["conv1", "relu1", "pool1", "bn1", "conv2", "relu2", "dropout2", "pool2"]
    assert model.features.dropout2.p == 0.35 and isinstance(model.features.dropout2, nn.Dropout)
    s = shapes(model, (3, 32, 32))
    assert s["pool1"] == (16, 16, 16) and s["pool2"] == (16, 8, 8) and s["flatten"] == (1024,)
    assert isinstance(build("rob313", dropout2d=True).features.dropout2, nn.Dropout2d)


def test_eq2425_original_spec() -> None:
    model = build("eq2425")
    # valid convs: 32 -conv5-> 28 -pool-> 14 -conv3-> 12 -pool-> 6 -conv3-> 4 -pool-> 2
    expected = conv(3, 24, 5) + conv(24, 48, 3) + conv(48, 96, 3) + fc(96 * 2 * 2, 512) + fc(512, 10)
    assert params(model) == expected == 256_058
    s = shapes(model, (3, 32, 32))
    assert (s["conv1"], s["conv2"], s["conv3"], s["pool3"]) == ((24, 28, 28), (48, 12, 12), (96, 4, 4), (96, 2, 2))
    names = list(dict(model.features.named_children()))
    assert "relu3" not in names and names.index("pool3") == names.index("conv3") + 1  # no ReLU after conv3
    assert "relu3" in dict(build("eq2425", last_conv_activation=True).features.named_children())


def test_eq2425_variants() -> None:
    wide = build("eq2425", widths=(64, 128, 256), extra_fc=128, activation="leaky_relu", slope=0.1)
    expected = conv(3, 64, 5) + conv(64, 128, 3) + conv(128, 256, 3) + fc(1024, 512) + fc(512, 128) + fc(128, 10)
    assert params(wide) == expected
    leaky = [m for m in wide.modules() if isinstance(m, nn.LeakyReLU)]
    assert len(leaky) == 4 and all(m.negative_slope == 0.1 for m in leaky)
    with_bn = build("eq2425", batch_norm=True, dropout=0.5)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in with_bn.modules()) == 3
    assert [m.p for m in with_bn.modules() if isinstance(m, nn.Dropout)] == [0.5]


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


def test_vgg16_cifar_has_13_convs_and_the_stride_one_pools() -> None:
    with torch.device("meta"):  # 333 million parameters: count them without allocating them
        model = build("vgg16-cifar")
        s = shapes(model, (3, 32, 32))
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    assert [s[f"pool{i}"][1:] for i in range(1, 6)] == [(16, 16), (15, 15), (14, 14), (13, 13), (12, 12)]
    assert sum(isinstance(m, nn.Dropout2d) for m in model.features) == 5
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.features) == 13
    conv_params = 14_714_688  # VGG16's convolutions, a published figure
    bn = 2 * sum(c.out_channels for c in convs)
    assert params(model) == conv_params + bn + fc(512 * 12 * 12, 4096) + fc(4096, 4096) + fc(4096, 10)
    assert model.classifier.dropout1.p == 0.1 and s["fc3"] == (10,)


def test_vgg_truncated_is_the_first_three_blocks() -> None:
    with torch.device("meta"):
        model = build("vgg-truncated")
        s = shapes(model, (3, 32, 32))
    convs = [m.out_channels for m in model.features if isinstance(m, nn.Conv2d)]
    assert convs == [64, 64, 128, 128, 256, 256, 256]
    assert s["pool3"] == (256, 14, 14) and model.classifier.fc1.in_features == 256 * 14 * 14


@pytest.mark.parametrize("name", ["tdt4265-net1", "tdt4265-net2", "tdt4265-improved"])
def test_tdt4265_report_nets_improve_on_task2(name: str) -> None:
    model = build(name)
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert params(model) > 390_410
    assert "reconstructed" in get_entry(name).doc


def test_tdt4265_net1_shapes() -> None:
    s = shapes(build("tdt4265-net1"), (3, 32, 32))
    assert s["conv1_1"] == (32, 32, 32) and s["conv1_2"] == (32, 32, 32) and s["pool3"] == (128, 4, 4)


@pytest.mark.parametrize("pool", ["avg", "none"])
def test_pooling_can_be_changed_or_removed(pool: str) -> None:
    model = build("tdt4265", pool=pool)
    names = dict(model.features.named_children())
    if pool == "none":
        assert "pool1" not in names and model.classifier.fc1.in_features == 128 * 32 * 32
    else:
        assert isinstance(names["pool1"], nn.AvgPool2d) and model.classifier.fc1.in_features == 2048


def test_the_flatten_size_follows_the_input() -> None:
    assert build("tdt4265", input_size=40).classifier.fc1.in_features == 128 * 5 * 5
    assert build("rob313", in_channels=1, input_size=28).classifier.fc1.in_features == 16 * 7 * 7


@pytest.mark.parametrize("init", ["uniform", "kaiming", "xavier"])
def test_init_schemes_reset_weights_and_zero_biases(init: str) -> None:
    torch.manual_seed(0)
    model = build("rob313", init=init)
    assert all(not m.bias.detach().any() for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear))
    if init == "uniform":
        assert float(model.features.conv1.weight.detach().abs().max()) <= 0.05
