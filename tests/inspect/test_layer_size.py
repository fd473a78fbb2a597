"""(W - K + 2P) / S + 1 for one layer, with the reports' cases, and a clear refusal of fractions."""

from __future__ import annotations

import pytest

from cnnlab.errors import UserError
from cnnlab.inspect import explain_layer_size, kernel_for_output, layer_output_size


def test_the_reports_cases() -> None:
    assert kernel_for_output(514, 504) == 11  # which kernel takes 514 to 504 (no padding, stride 1)
    assert layer_output_size(514, 11) == 504
    assert layer_output_size(504, 2, 0, 2) == 252  # 2x2 pooling
    assert layer_output_size(252, 3) == 250  # a 3x3 conv without padding
    assert explain_layer_size(514, 11, 0, 1) == "(514 - 11 + 2*0) / 1 + 1 = 504"


def test_same_padding_keeps_the_size() -> None:
    assert layer_output_size(32, 5, 2, 1) == 32 and layer_output_size(32, 4, 1, 2) == 16


def test_a_fraction_is_refused_with_the_reason() -> None:
    with pytest.raises(UserError, match=r"= 15.5 is not a whole number.*floor it to 15"):
        layer_output_size(32, 3, 0, 2)


@pytest.mark.parametrize(("w", "k", "p", "s"), [(3, 5, 0, 1), (0, 3, 0, 1), (8, 3, -1, 1), (8, 3, 0, 0)])
def test_impossible_layers_are_refused(w: int, k: int, p: int, s: int) -> None:
    with pytest.raises(UserError):
        layer_output_size(w, k, p, s)


def test_no_kernel_can_grow_the_image() -> None:
    with pytest.raises(UserError, match="no kernel"):
        kernel_for_output(10, 12)
