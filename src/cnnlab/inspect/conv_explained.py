"""A 2-D convolution worked out the way a student does it by hand (report 004, task 1a).

explain_convolution(P, K, padding=1) gives the padded input Pz, the kernel that slides (K, or K
rotated 180 degrees for the true convolution), the output C and the sum behind c11, so that each
step of a hand computation can be checked; format_explained_convolution prints them.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from cnnlab.errors import UserError

from .conv_manual import conv2d_manual, rotate_180
from .layer_size import layer_size_formula
from .matrix_text import format_matrix, format_number


@dataclass(frozen=True)
class ExplainedConvolution:
    """One image P and kernel K, and every intermediate of sliding one over the other."""

    image: np.ndarray  # P (H, W)
    kernel: np.ndarray  # K (kh, kw), as given
    padding: int
    stride: int
    flip: bool  # True: the true convolution (K rotated 180 degrees); False: the cross-correlation
    padded: np.ndarray  # Pz (H + 2P, W + 2P)
    sliding_kernel: np.ndarray  # what slides over Pz: K, or K rotated 180 degrees
    output: np.ndarray  # C

    @property
    def operation(self) -> str:
        return "convolution" if self.flip else "cross-correlation"

    def first_terms(self) -> list[tuple[float, float]]:
        """The (Pz entry, kernel entry) pairs whose products sum to c11, row by row."""
        kh, kw = self.sliding_kernel.shape
        return list(zip(self.padded[:kh, :kw].ravel(), self.sliding_kernel.ravel(), strict=True))


def explain_convolution(
    image: np.ndarray, kernel: np.ndarray, padding: int = 0, stride: int = 1, flip: bool = False
) -> ExplainedConvolution:
    """Work out K slid over P zero-padded by `padding`, `stride` pixels a step.

    Without `flip` this is the cross-correlation, which torch.nn.functional.conv2d computes (and report
    004's equations 4-6); `flip=True` rotates K by 180 degrees first: the convolution of signal
    processing. A kernel larger than the padded image, a negative padding or a stride below 1 is a
    UserError.
    """
    image, kernel = np.asarray(image, dtype=np.float64), np.asarray(kernel, dtype=np.float64)
    if image.ndim != 2 or kernel.ndim != 2:
        raise UserError(f"P {image.shape} and K {kernel.shape} must both be 2-D matrices")
    if padding < 0:
        raise UserError(f"--padding must be 0 or more (rings of zeros around P), not {padding}")
    if stride < 1:
        raise UserError(f"--stride must be at least 1, not {stride}")
    padded = np.pad(image, padding)
    if kernel.shape[0] > padded.shape[0] or kernel.shape[1] > padded.shape[1]:
        raise UserError(
            f"the kernel K ({_size(kernel)}) is larger than the padded input ({_size(padded)}: P is {_size(image)}, "
            f"padding {padding}): give a smaller K, a larger P or more --padding"
        )
    return ExplainedConvolution(
        image=image,
        kernel=kernel,
        padding=padding,
        stride=stride,
        flip=flip,
        padded=padded,
        sliding_kernel=rotate_180(kernel) if flip else kernel,
        output=conv2d_manual(image, kernel, padding=padding, stride=stride, flip=flip),
    )


def first_element_sum(explained: ExplainedConvolution) -> str:
    """c11 as report 004 writes it in equation 5: 'c11 = 0(-1) + 0(0) + ... + 2(1) = 2'."""
    terms = " + ".join(f"{format_number(a)}({format_number(k)})" for a, k in explained.first_terms())
    return f"c11 = {terms} = {format_number(explained.output[0, 0])}"


def format_explained_convolution(explained: ExplainedConvolution) -> str:
    """P, the padded Pz, the kernel that slides, which operation it is, the sum behind c11, and C."""
    e = explained
    lines = [f"P ({_size(e.image)}):", format_matrix(e.image)]
    if e.padding:
        rings = "1 ring" if e.padding == 1 else f"{e.padding} rings"
        lines += [f"Pz: P with {rings} of zeros ({_size(e.padded)}):", format_matrix(e.padded)]
    lines += [f"K ({_size(e.kernel)}):", format_matrix(e.kernel)]
    over = "Pz" if e.padding else "P (no padding)"
    if e.flip:
        lines += [
            f"K rotated 180 degrees ({_size(e.sliding_kernel)}):",
            format_matrix(e.sliding_kernel),
            f"convolution: K rotated 180 degrees slides over {over}, stride {e.stride}. torch.nn.functional.conv2d "
            "computes the cross-correlation (no flip): it gives this C only when handed the rotated K.",
        ]
    else:
        lines.append(
            f"cross-correlation: K slides over {over} as it is (no flip), stride {e.stride}; this is what "
            "torch.nn.functional.conv2d computes (--flip for the true convolution)."
        )
    rows = _size_formula(e.image.shape[0], e.kernel.shape[0], e.padding, e.stride, "row")
    cols = _size_formula(e.image.shape[1], e.kernel.shape[1], e.padding, e.stride, "column")
    lines += [first_element_sum(e), f"C ({_size(e.output)}): rows {rows}; columns {cols}", format_matrix(e.output)]
    return "\n".join(lines)


def _size(matrix: np.ndarray) -> str:
    return "x".join(str(n) for n in matrix.shape)


def _size_formula(n: int, k: int, padding: int, stride: int, unit: str) -> str:
    """'(3 - 3 + 2*1) / 1 + 1 = 3', and what is left out when the stride does not fit, as conv2d does."""
    exact = Fraction(n - k + 2 * padding, stride) + 1
    text = f"{layer_size_formula(n, k, padding, stride)} = {format_number(float(exact))}"
    if exact.denominator == 1:
        return text
    unused = (n + 2 * padding - k) % stride
    left_out = unit if unused == 1 else f"{unused} {unit}s"
    return f"{text}, rounded down to {int(exact)} as conv2d does (the padded input's last {left_out} unused)"
