"""The fully convolutional conversion: same output on the training size, a map of scores on larger images."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnnlab.errors import UserError
from cnnlab.models import build, to_fully_convolutional


@pytest.mark.parametrize(
    ("name", "options", "map_64"),
    [
        ("tme2", {"dropout": 0.5}, (5, 5)),  # features 64x8x8 on 64x64, fc1 reads 4x4: 8 - 4 + 1
        ("tdt4265", {}, (5, 5)),
        ("eq2425", {"extra_fc": 128}, (5, 5)),  # 64 -> 60/30 -> 28/14 -> 12/6; fc1 reads 2x2: 6 - 2 + 1
        ("tdt4265-improved", {}, (9, 9)),  # features 128x16x16 on 64x64, fc5 reads 8x8: 16 - 8 + 1
        ("mlp", {}, (33, 33)),  # no features: fc1 reads the whole 32x32 image
        ("fastnet", {}, (1, 1)),  # global pooling already makes it size-free
    ],
)
def test_conversion_agrees_on_32_and_maps_64(name: str, options: dict, map_64: tuple[int, int]) -> None:
    torch.manual_seed(0)
    model = build(name, **options).eval()
    # move the batch norms off their initial statistics, so the test sees them converted
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2)
    converted = to_fully_convolutional(model, (3, 32, 32))
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        out = converted(x)
        assert out.shape == (3, 10, 1, 1)
        assert torch.allclose(out.flatten(1), model(x), atol=1e-5, rtol=1e-4)
        assert converted(torch.randn(1, 3, 64, 64)).shape[2:] == map_64
    assert not converted.training


def test_the_first_linear_becomes_a_conv_of_the_feature_map_size() -> None:
    converted = to_fully_convolutional(build("tme2"), (3, 32, 32))
    assert isinstance(converted.classifier.fc4, nn.Conv2d) and converted.classifier.fc4.kernel_size == (4, 4)
    assert converted.classifier.fc5.kernel_size == (1, 1)
    assert not any(isinstance(m, nn.Linear | nn.Flatten) for m in converted.modules())


def test_the_original_is_left_untouched() -> None:
    model = build("tme2")
    to_fully_convolutional(model, (3, 32, 32))
    assert isinstance(model.classifier.fc4, nn.Linear)


def test_a_net_without_a_separate_head_is_refused() -> None:
    with pytest.raises(UserError, match="no separate fully connected head"):
        to_fully_convolutional(build("resnet18", pretrained=False), (3, 32, 32))
