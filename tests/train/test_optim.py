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


def _step_both(ours: torch.optim.Optimizer, reference: torch.optim.Optimizer, a, b, steps: int = 5) -> None:
    for k in range(steps):
        for p, q in ((a, b),):
            p.grad = torch.full_like(p, 0.3 * (k + 1)) * torch.arange(1.0, 4.0)
            q.grad = p.grad.clone()
        ours.step()
        reference.step()


@pytest.mark.parametrize(
    ("config", "reference"),
    [
        (
            OptimConfig(name="rmsprop", lr=0.01, alpha=0.9, momentum=0.5, weight_decay=1e-3),
            lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, momentum=0.5, weight_decay=1e-3),
        ),
        (
            OptimConfig(name="adagrad", lr=0.1, weight_decay=1e-3),
            lambda p: torch.optim.Adagrad(p, lr=0.1, weight_decay=1e-3),
        ),
    ],
)
def test_rmsprop_and_adagrad_step_as_torch_s_own(config, reference) -> None:
    ours_param = torch.nn.Parameter(torch.tensor([1.0, -2.0, 3.0]))
    ref_param = torch.nn.Parameter(ours_param.detach().clone())
    model = torch.nn.Module()
    model.weight = ours_param
    _step_both(build_optimizer(model, config), reference([ref_param]), ours_param, ref_param)
    assert torch.allclose(ours_param, ref_param) and not torch.equal(ours_param.detach(), torch.tensor([1.0, -2, 3]))


def test_multistep_decays_after_each_milestone_like_torch() -> None:
    optimizer = _optimizer()
    expected = _rates(lr_scheduler.MultiStepLR(optimizer, milestones=[2, 5], gamma=0.5), optimizer, 8)
    ours = _epoch_starts(ScheduleConfig(name="multistep", milestones=[2, 5], gamma=0.5), epochs=8, spe=3)
    assert ours == pytest.approx(expected) and ours[-1] == pytest.approx(0.025)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["schedule.name=multistep", "schedule.milestones=[5,3]"], "schedule.milestones.*increasing.*\\[3, 5\\]"),
        (["schedule.name=multistep"], "schedule.milestones.*needs epochs"),
        (["schedule.milestones=[0,3]"], "schedule.milestones.*counted from 1"),
        (["schedule.name=plateau", "schedule.gamma=1"], "schedule.gamma.*gamma < 1"),
        (["optim.name=rmsprp"], "did you mean 'rmsprop'"),
    ],
)
def test_bad_schedule_settings_name_the_key_and_the_fix(overrides, message) -> None:
    from cnnlab.config import load_config
    from cnnlab.errors import UserError

    with pytest.raises(UserError, match=message):
        load_config(None, overrides)
