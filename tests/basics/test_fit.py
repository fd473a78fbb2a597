"""The training loop and the four steps: same weights and batches give the same curve; circles get learnt."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from cnnlab.basics import STEPS, MLPSettings, fit_mlp, load_basics_data, make_learner, mlp_layers
from cnnlab.basics.fit import default_epochs
from cnnlab.basics.mlp import cross_entropy, forward, init_params
from cnnlab.errors import UserError


@pytest.fixture
def circles64():
    return load_basics_data("circles", dtype=torch.float64)


@pytest.fixture
def circles():
    return load_basics_data("circles")


def test_the_four_steps_follow_the_same_loss_curve_in_float64(circles64) -> None:
    settings = MLPSettings(hidden=16, lr=0.3, epochs=3, batch_size=50, seed=3)
    runs = {step: fit_mlp(circles64, replace(settings, step=step)) for step in STEPS}
    reference = np.array(runs["manual"].batch_losses)
    assert len(reference) == 3 * 16 and reference[-1] < reference[0]  # it learns, so the curve is not flat
    for step, run in runs.items():
        np.testing.assert_allclose(run.batch_losses, reference, rtol=1e-10, err_msg=step)
        for name, tensor in run.params.as_dict().items():
            torch.testing.assert_close(tensor, runs["manual"].params.as_dict()[name], rtol=1e-10, atol=1e-12)
        assert [r.test_accuracy for r in run.history] == [r.test_accuracy for r in runs["manual"].history]


def test_the_four_steps_agree_in_float32_to_float_tolerance(circles) -> None:
    losses = {s: fit_mlp(circles, MLPSettings(step=s, epochs=2, seed=1)).batch_losses for s in STEPS}
    for step in STEPS:
        np.testing.assert_allclose(losses[step], losses["manual"], rtol=1e-4, err_msg=step)


def test_a_different_seed_gives_a_different_curve(circles) -> None:
    a = fit_mlp(circles, MLPSettings(epochs=1, seed=0)).batch_losses
    b = fit_mlp(circles, MLPSettings(epochs=1, seed=0)).batch_losses
    c = fit_mlp(circles, MLPSettings(epochs=1, seed=1)).batch_losses
    assert a == b and a != c


def test_the_manual_step_trains_without_autograd(circles) -> None:
    with torch.no_grad():  # autograd off: only the hand-written step can still learn
        run = fit_mlp(circles, MLPSettings(step="manual", epochs=5))
    assert run.final.train_loss < run.history[0].train_loss - 0.05
    with torch.no_grad(), pytest.raises(RuntimeError):
        fit_mlp(circles, MLPSettings(step="autograd", epochs=1))


@pytest.mark.parametrize("step", list(STEPS))
def test_every_step_reaches_95_percent_on_circles_with_the_defaults(circles, step) -> None:
    run = fit_mlp(circles, MLPSettings(step=step))
    assert run.final.test_accuracy >= 0.95
    assert run.final.train_accuracy >= 0.95
    assert run.history[0].epoch == 0 and run.history[0].test_accuracy < 0.8  # it started near chance
    assert len(run.history) == default_epochs(800) + 1 and not run.notes


def test_moons_and_digits_are_learnt_too() -> None:
    for source, floor in (("moons", 0.95), ("digits", 0.9)):
        data = load_basics_data(source)
        assert fit_mlp(data, MLPSettings(epochs=20)).final.test_accuracy >= floor, source


def test_snapshots_are_kept_at_the_requested_steps(circles) -> None:
    run = fit_mlp(circles, MLPSettings(epochs=2, batch_size=100), snapshot_at=[0, 1, 16])
    assert sorted(run.snapshots) == [0, 1, 16] and len(run.batch_losses) == 16
    assert not torch.equal(run.snapshots[0].W_h, run.snapshots[1].W_h)
    assert torch.equal(run.snapshots[16].W_h, run.params.W_h)
    with pytest.raises(UserError, match="outside this run's SGD steps, 0 to 16"):
        fit_mlp(circles, MLPSettings(epochs=2, batch_size=100), snapshot_at=[17])


def test_a_diverging_loss_stops_with_advice(circles) -> None:
    with pytest.raises(UserError, match=r"the loss became (inf|nan) .* lower --lr"):
        fit_mlp(circles, MLPSettings(lr=1e38, epochs=1))


def test_a_huge_but_finite_loss_leaves_a_note(circles) -> None:
    run = fit_mlp(circles, MLPSettings(lr=1000.0, epochs=2))
    assert run.notes and "probably too large" in run.notes[0]
    assert run.summary()["notes"] == run.notes


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (MLPSettings(step="manul"), "did you mean 'manual'"),
        (MLPSettings(hidden=0), "--hidden must be at least 1"),
        (MLPSettings(epochs=0), "--epochs must be at least 1"),
        (MLPSettings(batch_size=-2), "--batch-size must be at least 1"),
        (MLPSettings(lr=0.0), "--lr must be a positive number"),
        (MLPSettings(lr=float("nan")), "--lr must be a positive number"),
        (MLPSettings(init_std=0.0), "--init-std must be a positive finite number"),
        (MLPSettings(init_std=float("inf")), "--init-std must be a positive finite number"),
    ],
)
def test_bad_settings_are_user_errors(circles, settings, message) -> None:
    with pytest.raises(UserError, match=message):
        fit_mlp(circles, settings)


def test_the_nn_layers_hold_the_same_weights_and_compute_the_same_logits() -> None:
    params = init_params(3, 5, 4, torch.Generator().manual_seed(0), torch.float64)
    x = torch.randn(6, 3, dtype=torch.float64)
    layers = mlp_layers(params)
    assert [type(m).__name__ for m in layers] == ["Linear", "Tanh", "Linear"]
    manual = make_learner("manual", params, 0.1)
    torch.testing.assert_close(layers(x), manual.logits(x))
    with pytest.raises(UserError, match="choose one of manual, autograd, nn, optim"):
        make_learner("keras", params, 0.1)


def test_default_epochs_depend_on_the_size_of_the_set() -> None:
    assert default_epochs(800) == 50 and default_epochs(60_000) == 10
    assert MLPSettings().for_examples(800).epochs == 50 and MLPSettings(epochs=3).for_examples(800).epochs == 3


def test_init_std_sets_the_standard_deviation_of_the_initial_weights() -> None:
    params = init_params(784, 100, 10, torch.Generator().manual_seed(0), torch.float64, std=0.3)  # 002, 1.2.1
    assert params.W_h.std().item() == pytest.approx(0.3, abs=0.005)  # 78,400 draws
    assert params.W_y.std().item() == pytest.approx(0.3, abs=0.03)  # 1,000 draws
    assert params.W_h.mean().abs().item() < 0.005
    assert not params.b_h.any() and not params.b_y.any()  # biases start at zero either way
    default = init_params(784, 100, 10, torch.Generator().manual_seed(0), torch.float64)
    assert default.W_h.std().item() == pytest.approx(784**-0.5, rel=0.02)  # N(0, 1/fan_in)
    assert default.W_y.std().item() == pytest.approx(100**-0.5, rel=0.1)


def test_every_step_starts_from_the_init_std_weights_and_the_four_still_agree(circles64) -> None:
    settings = MLPSettings(hidden=16, lr=0.3, epochs=2, batch_size=50, seed=3, init_std=0.3)
    start = init_params(2, 16, 2, torch.Generator().manual_seed(3), torch.float64, std=0.3)
    start_loss = cross_entropy(forward(start, circles64.x_train).logits, circles64.y_train).item()
    runs = {step: fit_mlp(circles64, replace(settings, step=step)) for step in STEPS}
    for step, run in runs.items():
        # each learner's own weights give the loss at epoch 0: the N(0, 0.3^2) draw, not the default one
        assert run.history[0].train_loss == pytest.approx(start_loss, rel=1e-12), step
        np.testing.assert_allclose(run.batch_losses, runs["manual"].batch_losses, rtol=1e-10, err_msg=step)
    default = fit_mlp(circles64, replace(settings, init_std=None))
    assert default.history[0].train_loss != pytest.approx(start_loss, rel=1e-3)
