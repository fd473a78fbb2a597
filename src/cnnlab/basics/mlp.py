"""A two-layer perceptron written out by hand: forward, stable cross-entropy, backward, SGD update.

Written with torch tensor operations but never with autograd: the same functions then run under
autograd unchanged (the `autograd` step and the gradient check differentiate this very forward), in
float32 or float64, on any device. numpy would have needed a second copy of the forward for that.

Shapes (a batch is a matrix with one example a row, as `torch.nn.Linear` expects):
    X (B, D)   W_h (H, D)   b_h (H,)   W_y (K, H)   b_y (K,)   labels c (B,) in 0..K-1
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

PARAM_NAMES = ("W_h", "b_h", "W_y", "b_y")


@dataclass
class MLPParams:
    """The four parameter tensors, laid out as `torch.nn.Linear` lays out its weight and bias."""

    W_h: torch.Tensor  # (H, D); the capitals are the course's notation
    b_h: torch.Tensor  # (H,)
    W_y: torch.Tensor  # (K, H)
    b_y: torch.Tensor  # (K,)

    def as_dict(self) -> dict[str, torch.Tensor]:
        return {name: getattr(self, name) for name in PARAM_NAMES}

    def clone(self) -> MLPParams:
        """A detached copy (a snapshot that later updates do not change)."""
        return MLPParams(*(t.detach().clone() for t in self.as_dict().values()))

    @property
    def sizes(self) -> tuple[int, int, int]:
        """(inputs D, hidden H, classes K)."""
        return self.W_h.shape[1], self.W_h.shape[0], self.W_y.shape[0]


@dataclass
class Forward:
    """Every intermediate of the forward pass: the backward pass needs h; the loss needs y~."""

    h_pre: torch.Tensor  # h~ (B, H)
    h: torch.Tensor  # (B, H)
    logits: torch.Tensor  # y~ (B, K)
    probs: torch.Tensor  # y^ (B, K)


def init_params(
    inputs: int,
    hidden: int,
    classes: int,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float32,
    std: float | None = None,
) -> MLPParams:
    """Weights drawn from N(0, 1/fan_in), or from N(0, std^2) when `std` is given; biases zero.

    The default 1/fan_in variance keeps h~ of order 1 whatever D is, so tanh starts in its linear
    range instead of saturating (where its derivative 1 - h^2 vanishes and learning stalls). A fixed
    `std` is the course's choice: report 002 (section 1.2.1) draws its parameters with
    torch.normal(0, 0.3, size=(size 1, size 2)), which suits its 2-D circles but saturates tanh on
    784 pixels (with standardised inputs h~ then has a standard deviation of about
    0.3 * sqrt(784) = 8.4). The report does not say whether its biases are drawn too; here they stay
    zero, so `std` sets the weights only.
    """

    def weight(rows: int, cols: int) -> torch.Tensor:
        normal = torch.randn(rows, cols, generator=generator, dtype=dtype)
        return normal * std if std is not None else normal / cols**0.5

    return MLPParams(
        W_h=weight(hidden, inputs),
        b_h=torch.zeros(hidden, dtype=dtype),
        W_y=weight(classes, hidden),
        b_y=torch.zeros(classes, dtype=dtype),
    )


def forward(params: MLPParams, x: torch.Tensor) -> Forward:
    """The forward pass, for a batch X (B, D):

    h~ = W_h x + b_h        (B, H)   as matrices: H~ = X W_h^T + b_h
    h  = tanh(h~)           (B, H)
    y~ = W_y h + b_y        (B, K)   as matrices: Y~ = H W_y^T + b_y
    y^ = softmax(y~)        (B, K)   y^_k = exp(y~_k) / sum_j exp(y~_j)
    """
    h_pre = x @ params.W_h.T + params.b_h
    h = torch.tanh(h_pre)
    logits = h @ params.W_y.T + params.b_y
    return Forward(h_pre, h, logits, softmax(logits))


def softmax(logits: torch.Tensor) -> torch.Tensor:
    """softmax(y~)_k = exp(y~_k - m) / sum_j exp(y~_j - m), m = max_j y~_j.

    Subtracting m changes nothing mathematically and keeps exp() from overflowing.
    """
    shifted = logits - logits.max(dim=1, keepdim=True).values
    e = torch.exp(shifted)
    return e / e.sum(dim=1, keepdim=True)


def log_sum_exp(logits: torch.Tensor) -> torch.Tensor:
    """log sum_j exp(y~_j) = m + log sum_j exp(y~_j - m), m = max_j y~_j, one value a row (B,).

    Every exp() argument is <= 0, so nothing overflows, and the largest term is exp(0) = 1, so the
    log never sees 0.
    """
    m = logits.max(dim=1, keepdim=True).values
    return m.squeeze(1) + torch.log(torch.exp(logits - m).sum(dim=1))


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The mean cross-entropy of a batch, from the logits y~ and the class indices c.

        L = (1/B) sum_i -log y^_{i,c_i}
          = (1/B) sum_i [ log sum_j exp(y~_{i,j}) - y~_{i,c_i} ]

    The second (log-sum-exp) form never takes the log of a softmax that has rounded to 0, so it
    stays finite where -log(softmax) would give inf.
    """
    picked = logits.gather(1, labels[:, None]).squeeze(1)
    return (log_sum_exp(logits) - picked).mean()


def one_hot(labels: torch.Tensor, classes: int, dtype: torch.dtype) -> torch.Tensor:
    """y: (B, K) with y_{i,c_i} = 1 and zeros elsewhere."""
    y = torch.zeros(len(labels), classes, dtype=dtype, device=labels.device)
    return y.scatter_(1, labels[:, None], 1.0)


def backward(params: MLPParams, x: torch.Tensor, labels: torch.Tensor, fwd: Forward) -> MLPParams:
    """The gradients of the mean cross-entropy L with respect to each parameter, by the chain rule.

    With y the one-hot labels and B the batch size (the 1/B comes from the mean):
        dL/dy~  = (y^ - y) / B                  (B, K)   softmax and cross-entropy together
        dL/dW_y = (dL/dy~)^T h                  (K, H)
        dL/db_y = sum_i dL/dy~_i                (K,)
        dL/dh   = (dL/dy~) W_y                  (B, H)
        dL/dh~  = dL/dh * (1 - h^2)             (B, H)   tanh' = 1 - tanh^2, element-wise
        dL/dW_h = (dL/dh~)^T x                  (H, D)
        dL/db_h = sum_i dL/dh~_i                (H,)
    Returned in an MLPParams so that each gradient sits beside the parameter it updates.
    """
    y = one_hot(labels, params.W_y.shape[0], fwd.probs.dtype)
    d_logits = (fwd.probs - y) / len(x)
    d_h = d_logits @ params.W_y
    d_h_pre = d_h * (1.0 - fwd.h * fwd.h)
    return MLPParams(
        W_h=d_h_pre.T @ x,
        b_h=d_h_pre.sum(dim=0),
        W_y=d_logits.T @ fwd.h,
        b_y=d_logits.sum(dim=0),
    )


def sgd_update(params: MLPParams, grads: MLPParams, lr: float) -> None:
    """Plain gradient descent, in place: theta <- theta - lr * dL/dtheta for each parameter."""
    for name, p in params.as_dict().items():
        p.sub_(lr * getattr(grads, name))


def predict(params: MLPParams, x: torch.Tensor) -> torch.Tensor:
    """The class of highest probability for each row of x (argmax y~ = argmax y^)."""
    return forward(params, x).logits.argmax(dim=1)
