"""The hand-written perceptron: its gradients against autograd, its stable loss, its forward pass."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from cnnlab.basics import MLPParams, autograd_gradients, cross_entropy, forward, gradient_errors, init_params
from cnnlab.basics.gradcheck import relative_error
from cnnlab.basics.mlp import backward, log_sum_exp, predict, sgd_update, softmax


def _random_problem(seed: int, batch: int, inputs: int, hidden: int, classes: int):
    """Random float64 weights (biases too, so that no gradient is trivially zero), inputs and labels."""
    g = torch.Generator().manual_seed(seed)
    params = init_params(inputs, hidden, classes, g, torch.float64)
    for t in params.as_dict().values():
        t.add_(0.5 * torch.randn(t.shape, generator=g, dtype=torch.float64))
    x = torch.randn(batch, inputs, generator=g, dtype=torch.float64)
    labels = torch.randint(0, classes, (batch,), generator=g)
    return params, x, labels


@pytest.mark.parametrize(
    ("seed", "batch", "inputs", "hidden", "classes"),
    [(0, 16, 2, 8, 2), (1, 7, 5, 3, 4), (2, 64, 64, 32, 10), (3, 1, 3, 5, 3)],
)
def test_hand_written_gradients_equal_autograd_for_every_parameter(seed, batch, inputs, hidden, classes) -> None:
    params, x, labels = _random_problem(seed, batch, inputs, hidden, classes)
    errors = gradient_errors(params, x, labels)
    assert set(errors) == {"W_h", "b_h", "W_y", "b_y"}
    assert all(error < 1e-6 for error in errors.values()), errors
    grads = autograd_gradients(params, x, labels)
    assert all(g.abs().max() > 1e-8 for g in grads.as_dict().values())  # a real comparison, not 0 against 0


def test_the_check_catches_a_backward_that_forgets_the_tanh_derivative() -> None:
    params, x, labels = _random_problem(4, 32, 4, 6, 3)
    fwd = forward(params, x)
    d_logits = (fwd.probs - F.one_hot(labels, 3).double()) / len(x)
    wrong_w_h = (d_logits @ params.W_y).T @ x  # dL/dW_h without the (1 - h^2) factor
    assert relative_error(wrong_w_h, autograd_gradients(params, x, labels).W_h) > 1e-2


def test_gradients_agree_with_finite_differences() -> None:
    """Independent of autograd: a central difference on one weight of each tensor."""
    params, x, labels = _random_problem(5, 10, 3, 4, 3)
    grads = backward(params, x, labels, forward(params, x))
    eps = 1e-6
    for name, tensor in params.as_dict().items():
        index = (0,) * tensor.dim()
        saved = tensor[index].item()
        tensor[index] = saved + eps
        up = cross_entropy(forward(params, x).logits, labels).item()
        tensor[index] = saved - eps
        down = cross_entropy(forward(params, x).logits, labels).item()
        tensor[index] = saved
        assert (up - down) / (2 * eps) == pytest.approx(getattr(grads, name)[index].item(), rel=1e-5, abs=1e-9)


def test_cross_entropy_is_stable_where_the_naive_form_is_not() -> None:
    logits = torch.tensor([[1000.0, -1000.0], [-1000.0, 1000.0]])
    labels = torch.tensor([1, 1])
    naive = -torch.log(softmax(logits)[torch.arange(2), labels]).mean()
    assert math.isinf(naive.item())  # softmax rounds to exactly 0 for the first example
    assert cross_entropy(logits, labels).item() == pytest.approx(1000.0)  # (2000 + 0) / 2
    assert log_sum_exp(torch.tensor([[1000.0, 1000.0]])).item() == pytest.approx(1000.0 + math.log(2))


def test_cross_entropy_and_softmax_match_torch() -> None:
    g = torch.Generator().manual_seed(0)
    logits = 5 * torch.randn(50, 7, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 7, (50,), generator=g)
    assert cross_entropy(logits, labels).item() == pytest.approx(F.cross_entropy(logits, labels).item(), rel=1e-12)
    assert torch.allclose(softmax(logits), torch.softmax(logits, dim=1), atol=1e-14)


def test_forward_shapes_and_probabilities() -> None:
    params, x, _ = _random_problem(6, 9, 4, 5, 3)
    fwd = forward(params, x)
    assert fwd.h_pre.shape == fwd.h.shape == (9, 5) and fwd.logits.shape == fwd.probs.shape == (9, 3)
    assert torch.allclose(fwd.probs.sum(dim=1), torch.ones(9, dtype=torch.float64))
    assert fwd.h.abs().max() < 1  # tanh
    assert torch.equal(predict(params, x), fwd.probs.argmax(dim=1))


def test_an_sgd_step_lowers_the_loss_and_uses_no_autograd() -> None:
    params, x, labels = _random_problem(7, 32, 3, 8, 2)
    before = cross_entropy(forward(params, x).logits, labels).item()
    with torch.no_grad():  # the hand-written step needs no graph at all
        grads = backward(params, x, labels, forward(params, x))
        sgd_update(params, grads, lr=0.1)
    assert cross_entropy(forward(params, x).logits, labels).item() < before
    assert not any(t.requires_grad for t in params.as_dict().values())


def test_initial_weights_are_seeded_and_scaled_by_fan_in() -> None:
    make = lambda seed: init_params(400, 50, 10, torch.Generator().manual_seed(seed))  # noqa: E731
    a, b, c = make(0), make(0), make(1)
    assert all(torch.equal(a.as_dict()[k], b.as_dict()[k]) for k in a.as_dict())
    assert not torch.equal(a.W_h, c.W_h)
    assert a.W_h.std().item() == pytest.approx(1 / 20, rel=0.05)  # 1 / sqrt(400)
    assert a.b_h.abs().sum() == 0 and a.sizes == (400, 50, 10)
    assert isinstance(a.clone(), MLPParams) and a.clone().W_h is not a.W_h
