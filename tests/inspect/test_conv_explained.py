"""The manual convolution worked by hand (report 004, task 1a), checked against torch's conv2d."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnlab.errors import UserError
from cnnlab.inspect import explain_convolution, first_element_sum, format_explained_convolution, parse_matrix

# report 004, task 1a: equation 1 (P and K), equation 2 (Pz), equation 5 (c11) and equation 6 (C)
P_TEXT = "1,0,2,3,1;3,2,0,7,0;0,6,1,1,4"
K_TEXT = "-1,0,1;-2,0,2;-1,0,1"
REPORT_PZ = [[0] * 7, [0, 1, 0, 2, 3, 1, 0], [0, 3, 2, 0, 7, 0, 0], [0, 0, 6, 1, 1, 4, 0], [0] * 7]
REPORT_C11 = "c11 = 0(-1) + 0(0) + 0(1) + 0(-2) + 1(0) + 0(2) + 0(-1) + 3(0) + 2(1) = 2"
REPORT_C = [[2, -1, 11, -2, -13], [10, -4, 8, 2, -18], [14, -1, -5, 6, -9]]


def _text(matrix: np.ndarray) -> str:
    """A matrix as the command line takes it: rows by ';', entries by ','."""
    return ";".join(",".join(repr(float(v)) for v in row) for row in matrix)


def _torch_conv(image: np.ndarray, kernel: np.ndarray, padding: int, stride: int) -> np.ndarray:
    as_batch = lambda m: torch.from_numpy(np.ascontiguousarray(m))[None, None]  # noqa: E731
    return F.conv2d(as_batch(image), as_batch(kernel), padding=padding, stride=stride)[0, 0].numpy()


def test_the_reports_example_gives_its_padded_input_first_sum_and_output_exactly() -> None:
    explained = explain_convolution(parse_matrix(P_TEXT), parse_matrix(K_TEXT), padding=1)
    np.testing.assert_array_equal(explained.padded, REPORT_PZ)  # 004 task 1a, equation 2
    assert first_element_sum(explained) == REPORT_C11  # equation 5
    np.testing.assert_array_equal(explained.output, REPORT_C)  # equation 6
    assert explained.operation == "cross-correlation"


def test_the_printout_shows_each_step_of_the_hand_computation() -> None:
    text = format_explained_convolution(explain_convolution(parse_matrix(P_TEXT), parse_matrix(K_TEXT), padding=1))
    lines = text.splitlines()
    assert lines[lines.index("Pz: P with 1 ring of zeros (5x7):") + 2] == "  0 1 0 2 3 1 0"
    assert REPORT_C11 in lines
    assert "cross-correlation" in text and "what torch.nn.functional.conv2d computes" in text
    c_at = next(i for i, line in enumerate(lines) if line.startswith("C (3x5): rows (3 - 3 + 2*1) / 1 + 1 = 3"))
    assert [[int(v) for v in line.split()] for line in lines[c_at + 1 :]] == REPORT_C


def test_flip_is_the_true_convolution_and_says_conv2d_does_not_flip() -> None:
    explained = explain_convolution(parse_matrix(P_TEXT), parse_matrix(K_TEXT), padding=1, flip=True)
    # Sobel rotated by 180 degrees is minus itself, so the true convolution is minus the report's C
    np.testing.assert_array_equal(explained.output, -np.array(REPORT_C))
    np.testing.assert_array_equal(explained.sliding_kernel, -parse_matrix(K_TEXT))
    text = format_explained_convolution(explained)
    assert explained.operation == "convolution" and "K rotated 180 degrees (3x3):" in text
    assert "conv2d computes the cross-correlation (no flip)" in text
    assert "c11 = 0(1) + 0(0) + 0(-1) + 0(2) + 1(0) + 0(-2) + 0(1) + 3(0) + 2(-1) = -2" in text


@pytest.mark.parametrize(("padding", "stride"), [(0, 1), (1, 1), (2, 1), (0, 2), (1, 2), (2, 3)])
@pytest.mark.parametrize("flip", [False, True])
def test_random_matrices_through_their_text_agree_with_torch(padding: int, stride: int, flip: bool) -> None:
    rng = np.random.default_rng(10 * padding + stride)
    image, kernel = rng.normal(size=(6, 7)).round(3), rng.normal(size=(3, 2)).round(3)
    explained = explain_convolution(parse_matrix(_text(image)), parse_matrix(_text(kernel)), padding, stride, flip)
    # conv2d never flips: the true convolution is conv2d with the kernel rotated by 180 degrees
    expected = _torch_conv(image, np.flip(kernel) if flip else kernel, padding, stride)
    assert explained.output.shape == expected.shape
    np.testing.assert_allclose(explained.output, expected, atol=1e-12)
    other = _torch_conv(image, kernel if flip else np.flip(kernel), padding, stride)
    assert not np.allclose(explained.output, other)  # the flip matters for this kernel


def test_a_stride_that_does_not_fit_is_rounded_down_like_conv2d_and_said() -> None:
    explained = explain_convolution(parse_matrix("1,2,3,4,5,6"), parse_matrix("1,1,1"), stride=2)
    np.testing.assert_array_equal(explained.output, [[6, 12]])  # 1+2+3 and 3+4+5; the 6 is never reached
    text = format_explained_convolution(explained)
    assert "(6 - 3 + 2*0) / 2 + 1 = 2.5, rounded down to 2 as conv2d does" in text
    assert "(the padded input's last column unused)" in text


@pytest.mark.parametrize(
    ("image", "kernel", "padding", "stride", "message"),
    [
        ("1,2;3,4", "1,1,1", 0, 1, r"the kernel K \(1x3\) is larger than the padded input \(2x2: P is 2x2, pad"),
        ("1,2;3,4", "1,1;1,1;1,1", 0, 1, "more --padding"),
        ("1,2;3,4", "1", -1, 1, "--padding must be 0 or more"),
        ("1,2;3,4", "1", 0, 0, "--stride must be at least 1"),
    ],
)
def test_impossible_convolutions_are_user_errors(image: str, kernel: str, padding: int, stride: int, message) -> None:
    with pytest.raises(UserError, match=message):
        explain_convolution(parse_matrix(image), parse_matrix(kernel), padding, stride)


def test_a_kernel_that_fits_only_with_padding_is_accepted() -> None:
    explained = explain_convolution(parse_matrix("5"), parse_matrix("1,1,1;1,1,1;1,1,1"), padding=1)
    np.testing.assert_array_equal(explained.output, [[5]])
