"""resnet18 for transfer learning: local weights, the offline error, a frozen backbone, inputs resized on the batch."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision
from safetensors.torch import save_file

from cnnlab.errors import UserError
from cnnlab.models import build
from cnnlab.models.architectures import resnet


@pytest.fixture(scope="module")
def imagenet_like() -> dict[str, torch.Tensor]:
    """The state dict of a randomly initialised torchvision resnet18 (1000 classes), standing in for ImageNet's."""
    torch.manual_seed(1)
    return torchvision.models.resnet18().state_dict()


@pytest.fixture(autouse=True)
def no_download(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests never download: asking for ImageNet weights fails as it does offline."""

    def offline(*args, **kwargs):
        raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setattr(resnet.ResNet18_Weights.IMAGENET1K_V1.__class__, "get_state_dict", offline)


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_local_weights_load_everything_but_the_head(tmp_path: Path, imagenet_like, suffix: str) -> None:
    path = tmp_path / f"resnet18{suffix}"
    if suffix == ".safetensors":
        save_file(imagenet_like, str(path))
    else:
        torch.save(imagenet_like, path)
    model = build("resnet18", num_classes=4, weights=str(path))
    assert torch.equal(model.conv1.weight, imagenet_like["conv1.weight"])
    assert torch.equal(model.layer4[1].bn2.running_var, imagenet_like["layer4.1.bn2.running_var"])
    assert model.fc.out_features == 4 and model.fc.in_features == 512


def test_offline_without_a_file_says_what_to_do() -> None:
    with pytest.raises(UserError, match=r"model\.weights=PATH.*model\.pretrained=false"):
        build("resnet18")


def test_random_weights_need_no_download() -> None:
    assert build("resnet18", pretrained=False, num_classes=3).fc.out_features == 3


def test_a_missing_or_foreign_weights_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        build("resnet18", weights=str(tmp_path / "nope.pt"))
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="not a safetensors file or a torch state dict"):
        build("resnet18", weights=str(tmp_path / "junk.pt"))
    save_file({"conv1.weight": torch.zeros(64, 3, 7, 7)}, str(tmp_path / "part.safetensors"))
    with pytest.raises(UserError, match="lack resnet18 weights"):
        build("resnet18", weights=str(tmp_path / "part.safetensors"))


def test_freeze_trains_the_head_only(tmp_path: Path, imagenet_like) -> None:
    save_file(imagenet_like, str(tmp_path / "w.safetensors"))
    model = build("resnet18", weights=str(tmp_path / "w.safetensors"), freeze=True, resize=64).train()
    assert [n for n, p in model.named_parameters() if p.requires_grad] == ["fc.weight", "fc.bias"]
    assert not model.bn1.training and model.fc.training  # ImageNet's BN statistics stay put
    before = model.bn1.running_mean.clone()
    model(torch.rand(2, 3, 32, 32)).sum().backward()
    assert torch.equal(model.bn1.running_mean, before)
    assert model.conv1.weight.grad is None and model.fc.weight.grad is not None


def test_inputs_are_resized_and_normalised_inside_the_model() -> None:
    model = build("resnet18", pretrained=False).eval()
    seen = {}

    def keep_input(module, args, out) -> None:
        seen["x"] = args[0]

    model.conv1.register_forward_hook(keep_input)
    grey = torch.full((2, 1, 32, 32), 0.5)
    model(grey)
    x = seen["x"]
    assert x.shape == (2, 3, 224, 224)
    expected = (0.5 - torch.tensor(resnet.IMAGENET_MEAN)) / torch.tensor(resnet.IMAGENET_STD)
    assert torch.allclose(x[0, :, 100, 100], expected, atol=1e-6)


def test_the_state_dict_is_torchvisions() -> None:
    keys = set(build("resnet18", pretrained=False).state_dict())
    assert keys == set(torchvision.models.resnet18().state_dict())


def test_other_channel_counts_are_refused() -> None:
    with pytest.raises(UserError, match="4 channels"):
        build("resnet18", in_channels=4, pretrained=False)
