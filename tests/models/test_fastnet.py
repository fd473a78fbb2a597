"""The fast net: whitening init from the training patches, frozen BN scales, the options a speed study needs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.errors import UserError
from cnnlab.models import build


def correlated_images(n: int = 64, seed: int = 0) -> torch.Tensor:
    """Smooth colour images whose neighbouring pixels and channels are strongly correlated, with a mean."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, 16, 16, generator=g)
    x = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="circular"), 3, 1) * 3
    x[:, 1] += 0.8 * x[:, 0]
    return x + torch.tensor([0.5, -0.2, 0.1]).view(1, 3, 1, 1)


def patch_moments(out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    flat = out.permute(0, 2, 3, 1).reshape(-1, out.shape[1]).double()
    mean = flat.mean(0)
    return mean, (flat - mean).T @ (flat - mean) / len(flat)


def test_whitening_init_decorrelates_the_training_patches() -> None:
    x = correlated_images()
    model = build("fastnet", input_size=16)
    conv = model.features.whiten
    _, before = patch_moments(F.unfold(x, 2).view(len(x), 12, 15, 15))
    assert (before - torch.diag(before.diag())).abs().max() > 0.5  # raw patches are correlated
    model.init_from_data(x)
    plus = F.conv2d(x, conv.weight, conv.bias)[:, :12]  # the +v filters; the -v half mirrors them
    mean, cov = patch_moments(plus)
    assert mean.abs().max() < 1e-4
    assert torch.allclose(cov, torch.eye(12, dtype=cov.dtype), atol=0.02)
    assert torch.equal(conv.weight[12:], -conv.weight[:12])


def test_whitening_filters_come_largest_eigenvalue_first_with_a_narrower_width() -> None:
    x = correlated_images()
    model = build("fastnet", input_size=16, whiten_width=4)
    model.init_from_data(x)
    w = model.features.whiten.weight.flatten(1)
    # the filter of the largest eigenvalue has the smallest norm: it is scaled by 1/sqrt(eigenvalue)
    assert w.shape == (4, 12) and w[0].norm() < w[1].norm()


def test_whitening_weights_are_frozen_unless_asked() -> None:
    assert not build("fastnet").features.whiten.weight.requires_grad
    assert build("fastnet").features.whiten.bias.requires_grad
    assert build("fastnet", whiten_trainable=True).features.whiten.weight.requires_grad


def test_init_from_data_refuses_the_wrong_channels() -> None:
    with pytest.raises(UserError, match=r"\(N, 3, H, W\)"):
        build("fastnet").init_from_data(torch.zeros(4, 1, 32, 32))


def test_the_record_layout() -> None:
    model = build("fastnet")
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [24, 64, 64, 256, 256, 256, 256]
    assert convs[0].kernel_size == (2, 2) and convs[0].padding == (0, 0)
    assert all(isinstance(m, nn.GELU) for name, m in model.features.named_children() if name.startswith("gelu"))
    assert isinstance(model.features.global_pool, nn.AdaptiveMaxPool2d)
    assert model.classifier.fc.bias is None and model.classifier.scale.factor == pytest.approx(1 / 9)
    names = list(dict(model.features.named_children()))
    assert names[2:6] == ["conv1_1", "pool1", "bn1_1", "gelu1_1"]  # conv, pool, BN, GELU


def test_the_head_scale_scales_the_output() -> None:
    torch.manual_seed(0)
    a = build("fastnet", head_scale=1.0).eval()
    b = build("fastnet", head_scale=0.5).eval()
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 3, 32, 32)
    assert torch.allclose(b(x), 0.5 * a(x), atol=1e-6)


def test_batch_norm_options() -> None:
    model = build("fastnet", bn_momentum=0.2, bn_eps=1e-5)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(bn.momentum == 0.2 and bn.eps == 1e-5 for bn in bns)
    assert all(not bn.weight.requires_grad and bn.bias.requires_grad for bn in bns)
    assert all(float(bn.weight.min()) == 1.0 for bn in bns)
    trained = build("fastnet", bn_frozen_scale=False)
    assert all(m.weight.requires_grad for m in trained.modules() if isinstance(m, nn.BatchNorm2d))


def test_sizes_for_a_speed_study() -> None:
    model = build("fastnet", widths=(32, 64), convs_per_block=1, whiten_kernel=3, activation="relu")
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [54, 32, 64] and convs[0].kernel_size == (3, 3)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_identity_init_passes_the_input_through() -> None:
    conv = build("fastnet").features.conv2_2  # 256 -> 256
    x = torch.randn(1, 256, 5, 5)
    assert torch.allclose(conv(x), x, atol=1e-6)


@pytest.mark.parametrize("width", [7, 26, 0])
def test_a_bad_whitening_width_is_a_user_error(width: int) -> None:
    with pytest.raises(UserError, match="whiten_width"):
        build("fastnet", whiten_width=width)


def test_whitening_bias_trains_for_the_first_epochs_only() -> None:
    from cnnlab.models import build

    model = build("fastnet", 3, 10, 32, widths=(8, 8, 8), whiten_bias_epochs=2)
    bias = model.features.whiten.bias
    for epoch, trained in ((1, True), (2, True), (3, False)):
        model.set_epoch(epoch)
        assert bias.requires_grad is trained
    always = build("fastnet", 3, 10, 32, widths=(8, 8, 8), whiten_bias_epochs=None)
    always.set_epoch(100)
    assert always.features.whiten.bias.requires_grad


def test_airbench96s_net_three_convs_a_block_with_a_skip() -> None:
    """The 96% record's net (whitening, then blocks 128/384/512 of three convs with a skip around the last
    two): 9,918,776 parameters by hand, 312 whitening + 27,648 + 2 x 147,456 + 442,368 + 2 x 1,327,104 +
    1,769,472 + 2 x 2,359,296 filters + 2 x (3 x 128 + 3 x 384 + 3 x 512) batch-norm + 5,120 head."""
    model = build("fastnet", widths=(128, 384, 512), convs_per_block=3, residual=True)
    assert sum(p.numel() for p in model.parameters()) == 9_918_776
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    block = model.features.res2
    x = torch.randn(2, 384, 8, 8)
    block.eval()
    torch.testing.assert_close(block(x), F.gelu(x + block.body(x)))  # the skip joins before the last activation
    assert [name for name, _ in block.body.named_children()] == ["conv2_2", "bn2_2", "gelu2_2", "conv2_3", "bn2_3"]
    plain = build("fastnet", widths=(128, 384, 512), convs_per_block=3)
    assert sum(p.numel() for p in plain.parameters()) == 9_918_776  # the skip adds no parameter
    with pytest.raises(UserError, match="model.residual=true needs model.convs_per_block of 2 or more"):
        build("fastnet", convs_per_block=1, residual=True)
