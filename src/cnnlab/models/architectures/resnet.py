"""resnet18: torchvision's ResNet18 for transfer learning (ImageNet weights, a new head, optional frozen backbone)."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import ResNet, ResNet18_Weights
from torchvision.models.resnet import BasicBlock

from cnnlab.errors import UserError

from ..registry import SpatialSize, register

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
HEAD = "fc."  # the state-dict prefix of the classifier, replaced for the dataset's classes


class ImageNetInput(nn.Module):
    """Resize a batch of [0, 1] images to `size` (bilinear) and normalise it with ImageNet statistics.

    Grey images are repeated to three channels. Done on the batch, inside the model, so the data
    pipeline stays that of every other model (with `data.preprocess=none`).
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, size: int | None) -> None:
        super().__init__()
        self.size = size
        # `inspect` measures receptive fields in pixels of this layer's output when it resizes
        self.restarts_receptive_field = size is not None
        # not persistent: the state dict stays exactly torchvision's
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if self.size and tuple(x.shape[-2:]) != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"size={self.size}"


class ResNet18Transfer(ResNet):
    """torchvision's ResNet18 behind an ImageNetInput; `freeze_backbone` leaves only `fc` to train."""

    def __init__(self, resize: int | None) -> None:
        super().__init__(BasicBlock, [2, 2, 2, 2])
        self.imagenet_input = ImageNetInput(resize)
        self.frozen = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(self.imagenet_input(x))

    def freeze_backbone(self) -> None:
        """Train the head only: no gradients for the backbone, and its batch norms keep ImageNet's statistics."""
        self.frozen = True
        for name, param in self.named_parameters():
            param.requires_grad_(name.startswith(HEAD))
        self.train(self.training)

    def train(self, mode: bool = True) -> ResNet18Transfer:
        super().train(mode)
        if self.frozen:  # a frozen backbone is a fixed feature extractor, running statistics included
            for module in self.modules():
                if isinstance(module, nn.BatchNorm2d):
                    module.eval()
        return self


def weights_at_hand(*, pretrained: bool, weights: str | None, **_: object) -> None:
    """The weights resnet18 will load can be read: the local file, or ImageNet's (from torch's cache, or
    downloaded into it now); otherwise a UserError saying how to give them."""
    if weights is not None:
        read_state_dict(Path(weights).expanduser())
    elif pretrained:
        imagenet_state_dict()


@register("resnet18", check=weights_at_hand)
def resnet18(
    in_channels: int,
    num_classes: int,
    input_size: SpatialSize,
    *,
    pretrained: bool = True,
    weights: str | None = None,
    freeze: bool = False,
    resize: int | None = 224,
) -> nn.Module:
    """torchvision ResNet18 for transfer learning: ImageNet weights, new head, inputs resized to 224.

    Expects images in [0, 1] (`data.preprocess=none`): the model resizes the batch to `resize` (bilinear;
    null keeps the size) and normalises it with ImageNet statistics itself. The weights come from
    torchvision's download (`pretrained`) or from `weights`, a local safetensors file or torch state dict
    of torchvision's resnet18 (which wins over `pretrained`). `freeze` trains the new head only.
    """
    if in_channels not in (1, 3):
        raise UserError(f"resnet18 takes RGB or grey images, not {in_channels} channels: use another model")
    model = ResNet18Transfer(resize)
    if weights is not None:
        load_backbone(model, read_state_dict(Path(weights).expanduser()), str(weights))
    elif pretrained:
        load_backbone(model, imagenet_state_dict(), "ImageNet")
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    if freeze:
        model.freeze_backbone()
    return model


def imagenet_state_dict() -> dict[str, torch.Tensor]:
    """torchvision's ImageNet weights of ResNet18 (downloaded once into torch's cache)."""
    try:
        return ResNet18_Weights.IMAGENET1K_V1.get_state_dict(progress=False)
    except (OSError, RuntimeError) as err:  # no network (URLError is an OSError), or a corrupt download
        raise UserError(
            f"cannot download resnet18's ImageNet weights ({err}): put torchvision's resnet18-f37072fd.pth in "
            f"torch's cache ({Path(torch.hub.get_dir()) / 'checkpoints'}), or give a local file with "
            "model.weights=PATH (that file or a safetensors copy of it), or use random weights with "
            "model.pretrained=false"
        ) from None


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from a safetensors file or a torch file, loaded without executing code."""
    if not path.is_file():
        raise UserError(f"model.weights file '{path}' does not exist: give the path of resnet18 weights")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # any parse failure is the file's fault, not a bug
        raise UserError(
            f"model.weights file '{path}' is not a safetensors file or a torch state dict ({err}); "
            "give the weights of torchvision's resnet18"
        ) from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserError(f"model.weights file '{path}' does not hold a state dict (a mapping of names to tensors)")
    return state


def load_backbone(model: ResNet18Transfer, state: dict[str, torch.Tensor], source: str) -> None:
    """Load every weight but the head's (which is replaced); missing or foreign weights are a UserError."""
    backbone = {k: v for k, v in state.items() if not k.startswith(HEAD)}
    try:
        result = model.load_state_dict(backbone, strict=False)
    except RuntimeError as err:
        reason = str(err).splitlines()[1].strip() if "\n" in str(err) else str(err)
        raise UserError(f"the {source} weights do not fit resnet18: {reason}") from None
    missing = [k for k in result.missing_keys if not k.startswith(HEAD)]
    if missing or result.unexpected_keys:
        listed = ", ".join((missing or result.unexpected_keys)[:4])
        what = "lack" if missing else "have unknown"
        raise UserError(
            f"the {source} weights {what} resnet18 weights ({listed} ...): give a state dict of torchvision's resnet18"
        )
