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
    params = torch.nn.Linear(2, 2)
    sgd = build_optimizer(params, OptimConfig(name="sgd", lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4))
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["nesterov"] and sgd.defaults["weight_decay"] == 1e-4
    adam = build_optimizer(params, OptimConfig(name="adam", lr=1e-3))
    assert isinstance(adam, torch.optim.Adam) and not isinstance(adam, torch.optim.AdamW)
    assert isinstance(build_optimizer(params, OptimConfig(name="adamw", weight_decay=0.01)), torch.optim.AdamW)
    assert math.isclose(adam.defaults["lr"], 1e-3)


def test_linear_schedule_rises_then_falls_to_min_lr() -> None:
    optimizer = _optimizer()
    config = ScheduleConfig(name="linear", warmup=2, start_factor=0.2, min_lr=0.01)
    rates = _rates(build_scheduler(optimizer, config, 10, 5), optimizer, 51)
    assert rates[0] == pytest.approx(0.02) and rates[5] == pytest.approx(0.02 + 0.08 * 0.5)
    assert rates[10] == pytest.approx(0.1) and max(rates) == pytest.approx(0.1)
    assert rates[30] == pytest.approx(0.1 + (0.01 - 0.1) * 20 / 40)
    assert rates[50] == pytest.approx(0.01)


def test_norm_biases_get_their_own_rate_and_decay() -> None:
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Linear(4, 2))
    model[1].weight.requires_grad_(False)  # frozen scales are left out entirely
    config = OptimConfig(lr=0.1, weight_decay=0.01, norm_bias_lr_scale=64)
    optimizer = build_optimizer(model, config)
    others, biases = optimizer.param_groups
    assert len(biases["params"]) == 1 and biases["params"][0] is model[1].bias and biases["lr"] == pytest.approx(6.4)
    assert biases["weight_decay"] == pytest.approx(0.01 / 64)
    assert others["lr"] == 0.1 and len(others["params"]) == 4
    assert all(p is not model[1].weight and p is not model[1].bias for p in others["params"])
    assert len(build_optimizer(model, OptimConfig()).param_groups) == 1
