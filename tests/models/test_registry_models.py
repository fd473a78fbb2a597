"""Every registered model builds for any input and class count, and trains: parametrised over the registry."""

from __future__ import annotations

import pytest
import torch

from cnnlab.errors import UserError
from cnnlab.models import available_models, build

# keep the registry-wide test to seconds: the 300-million-weight VGG heads and ResNet's 224x224 resize
# are tested at their defaults elsewhere (on the meta device, or once)
LIGHT = {
    "vgg16-cifar": {"hidden": (64, 64)},
    "vgg-truncated": {"hidden": (64, 64)},
    "resnet18": {"pretrained": False, "resize": 64},
    "layers": {"layers": [{"conv": 8, "kernel": 3, "padding": 1}, "relu", "maxpool", {"fc": "classes"}]},
}
MODELS = [entry.name for entry in available_models()]


@pytest.mark.parametrize("num_classes", [10, 4])
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)], ids=["1x28x28", "3x32x32"])
@pytest.mark.parametrize("name", MODELS)
def test_every_model_runs_forward_and_backward(name: str, shape: tuple[int, int, int], num_classes: int) -> None:
    torch.manual_seed(0)
    model = build(name, in_channels=shape[0], num_classes=num_classes, input_size=shape[1:], **LIGHT.get(name, {}))
    model.train()
    out = model(torch.randn(2, *shape))
    assert out.shape == (2, num_classes)
    torch.nn.functional.cross_entropy(out, torch.tensor([0, 1])).backward()
    for pname, param in model.named_parameters():
        if param.requires_grad:
            assert param.grad is not None and torch.isfinite(param.grad).all(), pname


def test_the_registry_holds_every_documented_architecture() -> None:
    documented = {
        "tme2",
        "rob313",
        "vgg16-cifar",
        "vgg-truncated",
        "eq2425",
        "tdt4265",
        "tdt4265-net1",
        "tdt4265-net2",
        "tdt4265-improved",
        "resnet18",
        "fastnet",
        "mlp",
        "layers",
    }
    assert documented <= set(MODELS)
    assert all(entry.description and entry.description != entry.name for entry in available_models())


def test_an_unknown_model_suggests_the_closest() -> None:
    with pytest.raises(UserError, match=r"unknown model 'tme3'.*did you mean 'tme2'"):
        build("tme3")


def test_an_unknown_option_lists_the_valid_ones() -> None:
    with pytest.raises(UserError, match=r"'eq2425' has no option 'widht'.*did you mean 'widths'"):
        build("eq2425", widht=(64, 128, 256))


def test_a_wrong_option_value_names_the_option() -> None:
    with pytest.raises(UserError, match=r"model\.activation"):
        build("tdt4265", activation="swish")


@pytest.mark.parametrize(
    ("name", "size", "layer"),
    [("eq2425", 16, "conv3"), ("tme2", 4, "pool3"), ("tdt4265", 4, "pool3"), ("vgg16-cifar", 4, "pool6")],
)
def test_too_small_an_input_names_the_layer(name: str, size: int, layer: str) -> None:
    with torch.device("meta"), pytest.raises(UserError, match=rf"too small.*layer '{layer}'"):
        build(name, input_size=size)


def test_variants_share_a_builder_with_their_own_defaults() -> None:
    from cnnlab.models import get_entry
    from cnnlab.models.registry import register_variant

    improved = get_entry("tdt4265-improved")
    assert improved.options["fc_dropout"].default == 0.0
    assert get_entry("tdt4265-net1").options["fc_dropout"].default == 0.05  # the base keeps its own defaults
    assert not any(isinstance(m, torch.nn.Dropout) for m in build("tdt4265-improved", 3, 10, 32).classifier)
    overridden = build("tdt4265-improved", 3, 10, 32, fc_dropout=0.2)  # an option given at build time wins
    assert [m.p for m in overridden.classifier if isinstance(m, torch.nn.Dropout)] == [0.2] * 4
    assert "Table 7" in improved.doc
    with pytest.raises(ValueError, match="unknown options: kernal"):
        register_variant("bad-variant", of="tdt4265", doc="x", kernal=3)
