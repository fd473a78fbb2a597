"""Each schedule's learning rates match torch's own schedulers stepped the same way."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch.optim import lr_scheduler

from cnnlab.config import OptimConfig, ScheduleConfig
from cnnlab.train import build_optimizer, build_scheduler


def _optimizer(lr: float = 0.1) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def _rates(scheduler, optimizer, steps: int) -> list[float]:
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def _epoch_starts(config: ScheduleConfig, epochs: int, spe: int) -> list[float]:
    optimizer = _optimizer()
    return _rates(build_scheduler(optimizer, config, epochs, spe), optimizer, epochs * spe)[::spe]


@pytest.mark.parametrize(
    ("config", "reference"),
    [
        (ScheduleConfig(name="step", step_size=3, gamma=0.5), lambda o: lr_scheduler.StepLR(o, 3, 0.5)),
        (ScheduleConfig(name="exponential", gamma=0.9), lambda o: lr_scheduler.ExponentialLR(o, 0.9)),
        (ScheduleConfig(name="none"), lambda o: lr_scheduler.ConstantLR(o, factor=1.0)),
    ],
)
def test_epoch_schedules_change_at_epoch_boundaries_like_torch(config, reference) -> None:
    optimizer = _optimizer()
    expected = _rates(reference(optimizer), optimizer, 10)
    ours = _epoch_starts(config, epochs=10, spe=4)
    assert ours == pytest.approx(expected)
    optimizer = _optimizer()
    within = _rates(build_scheduler(optimizer, config, 10, 4), optimizer, 40)
    assert within[4:8] == pytest.approx([expected[1]] * 4)  # constant within an epoch


def test_cosine_matches_torch_per_step() -> None:
    optimizer = _optimizer()
    expected = _rates(lr_scheduler.CosineAnnealingLR(optimizer, T_max=30, eta_min=0.001), optimizer, 30)
    optimizer = _optimizer()
    ours = _rates(build_scheduler(optimizer, ScheduleConfig(name="cosine", min_lr=0.001), 10, 3), optimizer, 30)
    assert ours == pytest.approx(expected)


def test_onecycle_matches_torch_per_step() -> None:
    optimizer = _optimizer()
    expected = _rates(lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=50, pct_start=0.2), optimizer, 50)
    optimizer = _optimizer()
    ours = _rates(build_scheduler(optimizer, ScheduleConfig(name="onecycle", warmup=1), 5, 10), optimizer, 50)
    assert ours == pytest.approx(expected)
    assert max(ours) == pytest.approx(0.1)


def test_warmup_rises_linearly_from_a_tenth_then_follows_the_schedule() -> None:
    optimizer = _optimizer()
    rates = _rates(build_scheduler(optimizer, ScheduleConfig(name="cosine", warmup=2), 10, 5), optimizer, 50)
    assert rates[0] == pytest.approx(0.01)
    assert rates[:10] == pytest.approx([0.01 + 0.09 * i / 10 for i in range(10)])
    assert rates[10] == pytest.approx(0.1)
    assert rates[-1] < 0.001 and all(a >= b for a, b in itertools.pairwise(rates[10:]))


def test_scheduler_state_reloads_mid_run() -> None:
    config = ScheduleConfig(name="exponential", gamma=0.5, warmup=1)
    optimizer = _optimizer()
    scheduler = build_scheduler(optimizer, config, 6, 2)
    _rates(scheduler, optimizer, 5)
    fresh_optimizer = _optimizer()
    fresh = build_scheduler(fresh_optimizer, config, 6, 2)
    fresh_optimizer.load_state_dict(optimizer.state_dict())
    fresh.load_state_dict(scheduler.state_dict())
    assert _rates(fresh, fresh_optimizer, 7) == pytest.approx(_rates(scheduler, optimizer, 7))


def test_optimizers_from_config() -> None:
    params = [torch.nn.Parameter(torch.zeros(2))]
    sgd = build_optimizer(params, OptimConfig(name="sgd", lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4))
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["nesterov"] and sgd.defaults["weight_decay"] == 1e-4
    adam = build_optimizer(params, OptimConfig(name="adam", lr=1e-3))
    assert isinstance(adam, torch.optim.Adam) and not isinstance(adam, torch.optim.AdamW)
    assert isinstance(build_optimizer(params, OptimConfig(name="adamw", weight_decay=0.01)), torch.optim.AdamW)
    assert math.isclose(adam.defaults["lr"], 1e-3)
