"""The output size of one conv or pooling layer, (W - K + 2P) / S + 1, and the kernel that gives a size."""

from __future__ import annotations

from fractions import Fraction

from cnnlab.errors import UserError


def _check(**values: int) -> None:
    for name, value in values.items():
        if value < (1 if name in ("W", "K", "S") else 0):
            raise UserError(f"{name} = {value} is not a valid layer size (W, K, S >= 1; P >= 0)")


def layer_output_size(w: int, k: int, p: int = 0, s: int = 1) -> int:
    """(W - K + 2P) / S + 1 for input width W, kernel K, padding P, stride S; a fraction is a UserError."""
    _check(W=w, K=k, P=p, S=s)
    size = Fraction(w - k + 2 * p, s) + 1
    if size <= 0:
        raise UserError(f"{layer_size_formula(w, k, p, s)} = {size}: the kernel is larger than the padded input")
    if size.denominator != 1:
        raise UserError(
            f"{layer_size_formula(w, k, p, s)} = {float(size):g} is not a whole number: stride {s} does not fit "
            f"the padded input (PyTorch would floor it to {int(size)} and drop the last rows); change P or S"
        )
    return int(size)


def kernel_for_output(w_in: int, w_out: int, p: int = 0, s: int = 1) -> int:
    """The kernel K that turns width `w_in` into `w_out` with padding P and stride S: K = W + 2P - (W' - 1) S."""
    _check(W=w_in, P=p, S=s)
    k = w_in + 2 * p - (w_out - 1) * s
    if w_out < 1 or k < 1:
        raise UserError(f"no kernel turns {w_in} into {w_out} with padding {p} and stride {s}")
    return k


def layer_size_formula(w: int, k: int, p: int = 0, s: int = 1) -> str:
    """The arithmetic as text: '(514 - 11 + 2*0) / 1 + 1'."""
    return f"({w} - {k} + 2*{p}) / {s} + 1"


def explain_layer_size(w: int, k: int, p: int = 0, s: int = 1) -> str:
    """'(514 - 11 + 2*0) / 1 + 1 = 504': the formula and its value."""
    return f"{layer_size_formula(w, k, p, s)} = {layer_output_size(w, k, p, s)}"
