"""_step_cost: a fastnet step's FLOPs against a hand count, Muon's against its Newton-Schulz products, and the
profile's grouping of a real step's operators into kinds of work."""

from __future__ import annotations

import contextlib

import pytest
import torch
from torch import nn

from _step_cost import DATA_SCOPE, ScopedBatches, StepProfile, matmul_peak_gflops, profile_step, step_flops
from cnnlab.config import OptimConfig
from cnnlab.models import build
from cnnlab.train import build_optimizer

WIDTHS = (4, 8, 8)


def conv_macs(widths: tuple[int, int, int]) -> list[int]:
    """Multiply-accumulates an image of each 3x3 conv of fastnet on 32x32 inputs, by hand: (in, out, output side)."""
    w1, w2, w3 = widths
    # the 2x2 whitening conv leaves 31x31 (24 channels); each block's first conv runs before its pool
    shapes = [(24, w1, 31), (w1, w1, 15), (w1, w2, 15), (w2, w2, 7), (w2, w3, 7), (w3, w3, 3)]
    return [side * side * c_out * c_in * 9 for c_in, c_out, side in shapes]


def hand_count(widths: tuple[int, int, int], batch: int, whiten_bias_trains: bool) -> int:
    """Forward + backward FLOPs of a fastnet step: 2 a multiply-accumulate; backward, the weight gradient of every
    trained conv and of the head, and the input gradient of every layer whose input needs one (the first 3x3 conv's
    only while the whitening bias trains; the frozen whitening conv never needs a product)."""
    convs, head, whiten = conv_macs(widths), widths[2] * 10, 31 * 31 * 24 * 3 * 4
    forward = whiten + sum(convs) + head
    weight_grads = sum(convs) + head
    input_grads = sum(convs[1:]) + head + (convs[0] if whiten_bias_trains else 0)
    return 2 * batch * (forward + weight_grads + input_grads)


def fastnet_step(optimiser: str, epoch: int) -> tuple[nn.Module, torch.optim.Optimizer]:
    model = build("fastnet", 3, 10, 32, widths=WIDTHS)
    model.set_epoch(epoch)
    return model, build_optimizer(model, OptimConfig(name=optimiser, lr=0.01, momentum=0.9))


def batch(n: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(n, 3, 32, 32), torch.randint(0, 10, (n,))


@pytest.mark.parametrize("epoch, whiten_bias_trains", [(1, True), (4, False)])
def test_fastnet_step_flops_match_the_hand_count(epoch: int, whiten_bias_trains: bool) -> None:
    model, optimizer = fastnet_step("sgd", epoch)
    flops, optimiser_flops = step_flops(model, optimizer, nn.CrossEntropyLoss(), batch(2), contextlib.nullcontext)
    assert flops == hand_count(WIDTHS, 2, whiten_bias_trains)
    assert optimiser_flops == 0  # SGD adds and scales: no products
    assert all(p.grad is None for p in model.parameters())


def test_muon_flops_are_its_newton_schulz_products() -> None:
    model, optimizer = fastnet_step("muon", 1)
    _, optimiser_flops = step_flops(model, optimizer, nn.CrossEntropyLoss(), batch(2), contextlib.nullcontext)
    w1, w2, w3 = WIDTHS
    expected = 0
    for rows, cols in [(w1, 24 * 9), (w1, w1 * 9), (w2, w1 * 9), (w2, w2 * 9), (w3, w2 * 9), (w3, w3 * 9)]:
        small, large = min(rows, cols), max(rows, cols)
        # three iterations of gram = X X^T, gram @ gram, (b gram + c gram @ gram) @ X
        expected += 3 * (2 * small * small * large + 2 * small**3 + 2 * small * small * large)
    assert optimiser_flops == expected


def test_profile_groups_a_bf16_step_into_kinds_of_work() -> None:
    model = build("fastnet", 3, 10, 32, widths=WIDTHS).to(memory_format=torch.channels_last)
    optimizer = build_optimizer(model, OptimConfig(name="muon", lr=0.01, momentum=0.9))
    batches = ScopedBatches([batch(4), batch(4)])

    def run() -> None:
        for x, y in batches:
            x = x.contiguous(memory_format=torch.channels_last)  # a layout conversion outside the data scope
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    profile = profile_step(run, steps=2)
    kinds = set(profile.milliseconds)
    expected = {"convolution", "whitening conv (2x2)", "batch norm", "activation (GELU)", "pooling", "loss and head"}
    assert expected | {"optimiser: Newton-Schulz products", "optimiser: the rest", "casts between dtypes"} <= kinds
    assert "layout conversions and copies" in kinds and "outside operators" in kinds
    assert "optimiser: Newton-Schulz products" in profile.fp32_milliseconds  # Muon orthogonalises in fp32
    assert sum(profile.shares().values()) == pytest.approx(100, abs=0.5)


def test_data_scope_holds_what_the_batches_cost() -> None:
    def make_batches():
        for _ in range(2):
            yield torch.randn(64, 3, 32, 32).flip(3), torch.zeros(64, dtype=torch.long)

    scoped = ScopedBatches(list(make_batches()))
    assert len(scoped) == 2
    profile = profile_step(lambda: [x.sum() for x, _ in ScopedBatches(make_batches())], steps=2)
    assert DATA_SCOPE in profile.milliseconds


def test_shares_of_an_empty_profile_are_zero() -> None:
    assert StepProfile({"convolution": 0.0}, {}).shares() == {"convolution": 0.0}


def test_matmul_peak_is_a_positive_rate() -> None:
    assert matmul_peak_gflops(torch.float32, size=64, repeats=2) > 0
