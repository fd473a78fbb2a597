"""Muon: orthogonalised steps on conv filters checked against an SVD, SGD groups against torch's SGD."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tests.fakes import stop_at_epoch, without_seconds
from torch import nn

from cnnlab.config import OptimConfig, ScheduleConfig, load_config
from cnnlab.train import build_optimizer, build_scheduler, resume, train
from cnnlab.train.muon import Muon, orthogonalize
from cnnlab.train.optim import current_lr


@pytest.mark.parametrize("shape", [(16, 72), (72, 16), (8, 8)])
def test_orthogonalize_keeps_the_singular_vectors_and_flattens_the_values(shape) -> None:
    torch.manual_seed(0)
    g = torch.randn(shape)
    x = orthogonalize(g, steps=5)
    s = torch.linalg.svdvals(x)
    assert x.shape == g.shape
    assert s.min() > 0.5 and s.max() < 1.5  # near 1, as the quintic intends
    exact = torch.linalg.svd(g, full_matrices=False)
    polar = exact.U @ exact.Vh
    # same directions as the exact U V^T: the cosine between them is high
    assert torch.nn.functional.cosine_similarity(x.flatten(), polar.flatten(), dim=0) > 0.95
    assert torch.allclose(orthogonalize(10 * g, steps=5), x, atol=1e-5)  # blind to the gradient's scale


def test_orthogonalize_refuses_a_vector() -> None:
    with pytest.raises(ValueError, match="matrix"):
        orthogonalize(torch.ones(3))


def _net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 6, 3, bias=False), nn.BatchNorm2d(6), nn.Flatten(), nn.Linear(6 * 4 * 4, 2))


def _grads(model: nn.Module) -> None:
    model.zero_grad()
    model(torch.randn(4, 3, 6, 6)).square().sum().backward()


def test_non_filter_groups_step_exactly_like_torch_sgd() -> None:
    ours, reference = _net(), _net()
    config = OptimConfig(name="muon", lr=0.05, momentum=0.85, nesterov=True, weight_decay=1e-3)
    muon = build_optimizer(ours, config)
    assert isinstance(muon, Muon)
    sgd_params = [p for p, q in zip(reference.parameters(), ours.parameters(), strict=True) if q.ndim != 4]
    sgd = torch.optim.SGD(sgd_params, lr=0.05, momentum=0.85, nesterov=True, weight_decay=1e-3)
    for step in range(3):  # the same gradients for both, set by hand: the filters' steps differ
        torch.manual_seed(step)
        for p, q in zip(ours.parameters(), reference.parameters(), strict=True):
            p.grad = torch.randn_like(p)
            q.grad = p.grad.clone()
        muon.step()
        sgd.step()
    for p, q in zip(ours.parameters(), reference.parameters(), strict=True):
        if p.ndim != 4:
            assert torch.allclose(p, q, atol=1e-6)
        else:
            assert not torch.allclose(p, q)  # the filters took Muon's step instead


def test_filter_steps_renormalise_then_move_along_the_orthogonalised_nesterov_momentum() -> None:
    model = _net()
    conv = model[0]
    optimizer = build_optimizer(model, OptimConfig(name="muon", muon_lr=0.1, muon_momentum=0.5, muon_ns_steps=4))
    filters = [g for g in optimizer.param_groups if g["muon"]]
    assert len(filters) == 1 and filters[0]["params"] == [conv.weight] and filters[0]["lr"] == 0.1
    weight, buffer = conv.weight.detach().clone(), torch.zeros_like(conv.weight)
    for step in range(2):  # the second step also checks how the momentum builds up
        torch.manual_seed(step)
        _grads(model)
        grad = conv.weight.grad.clone()
        optimizer.step()
        buffer = 0.5 * buffer + grad
        nesterov = grad + 0.5 * buffer
        normalised = weight * (6**0.5 / weight.norm())
        weight = normalised - 0.1 * orthogonalize(nesterov.reshape(6, -1), 4).view_as(weight)
        assert torch.allclose(conv.weight, weight, atol=1e-5), step


def test_only_bias_free_convs_take_muon_steps() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 2), nn.GELU(), nn.Conv2d(4, 6, 3, bias=False), nn.BatchNorm2d(6))
    groups = build_optimizer(model, OptimConfig(name="muon")).param_groups
    assert [g["params"] for g in groups if g["muon"]] == [[model[2].weight]]
    assert groups[0]["weight_decay"] == 0.0  # renormalised filters: decay would do nothing
    # a conv with a bias, like fastnet's trainable whitening conv, feeds no batch norm: it stays on SGD
    assert any(model[0].weight is p for g in groups if not g["muon"] for p in g["params"])


def test_frozen_filters_stay_out_and_the_schedule_drives_every_group() -> None:
    model = _net()
    model[0].weight.requires_grad_(False)
    assert not any(g["muon"] for g in build_optimizer(model, OptimConfig(name="muon")).param_groups)
    model[0].weight.requires_grad_(True)
    optimizer = build_optimizer(model, OptimConfig(name="muon", lr=0.2, muon_lr=0.4, norm_bias_lr_scale=4))
    scheduler = build_scheduler(optimizer, ScheduleConfig(name="linear", min_lr=0.02), epochs=2, steps_per_epoch=5)
    for _ in range(10):
        optimizer.step()
        scheduler.step()
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([0.04, 0.02, 0.08])  # all at 10% of their peak
    assert current_lr(optimizer) == pytest.approx(0.02)  # the log shows optim.lr's group, not Muon's


def test_onecycle_leaves_muons_momentum_alone_and_ends_sgd_at_min_lr() -> None:
    model = _net()
    optimizer = build_optimizer(model, OptimConfig(name="muon", lr=0.2, muon_lr=0.4, muon_momentum=0.6))
    scheduler = build_scheduler(optimizer, ScheduleConfig(name="onecycle", min_lr=0.002), epochs=2, steps_per_epoch=5)
    for _ in range(9):
        optimizer.step()
        scheduler.step()
    muon, sgd = optimizer.param_groups
    assert muon["muon"] and muon["momentum"] == 0.6
    assert sgd["lr"] == pytest.approx(0.002, rel=1e-3) and muon["lr"] == pytest.approx(0.004, rel=1e-3)


def test_a_fastnet_trains_and_resumes_with_muon(tmp_path: Path) -> None:
    extra = [
        "data.source=digits",
        "model.name=fastnet",
        "model.widths=[8,16]",
        "train.epochs=3",
        "train.threads=1",
        "optim.name=muon",
        "optim.lr=0.05",
        "optim.muon_lr=0.1",
    ]

    whole = train(load_config(None, extra), tmp_path / "whole")
    assert whole.status == "completed" and whole.history[-1]["val_top1"] > 0.5  # digits: chance is 0.1
    train(load_config(None, extra), tmp_path / "stopped", callbacks=[stop_at_epoch(2)])
    resumed = resume(tmp_path / "stopped")
    assert without_seconds(resumed.history) == without_seconds(whole.history)


def test_muon_ns_bf16_orthogonalises_a_bf16_runs_steps_in_bf16_close_to_fp32() -> None:
    # the record runs Newton-Schulz in bf16; cnnlab does when asked, in a run that computes in bf16
    config = OptimConfig(name="muon", muon_lr=0.1, muon_ns_bf16=True)
    assert build_optimizer(_net(), config, "fp32").ns_dtype == torch.float32  # no bf16 without a bf16 run
    assert build_optimizer(_net(), OptimConfig(name="muon"), "bf16").ns_dtype == torch.float32  # off by default
    weights = {}
    for precision in ("fp32", "bf16"):
        model = _net()
        optimizer = build_optimizer(model, config, precision)
        assert optimizer.ns_dtype == (torch.bfloat16 if precision == "bf16" else torch.float32)
        torch.manual_seed(0)
        _grads(model)
        optimizer.step()
        weights[precision] = model[0].weight.detach().clone()
        assert weights[precision].dtype == torch.float32  # the weights stay fp32 either way
    assert not torch.equal(weights["fp32"], weights["bf16"])  # the iteration did run in bf16
    torch.testing.assert_close(weights["bf16"], weights["fp32"], rtol=0, atol=0.02)
    big = torch.randn(160, 1440)
    assert (
        torch.nn.functional.cosine_similarity(
            orthogonalize(big.bfloat16()).float().flatten(), orthogonalize(big).flatten(), dim=0
        )
        > 0.999
    )
