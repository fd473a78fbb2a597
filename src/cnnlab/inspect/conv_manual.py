"""The 2-D convolution written out in numpy, to see what torch.nn.functional.conv2d computes."""

from __future__ import annotations

import numpy as np


def rotate_180(kernel: np.ndarray) -> np.ndarray:
    """The kernel turned by 180 degrees in its last two axes (each channel of a (C, kh, kw) kernel alike)."""
    return np.asarray(kernel)[..., ::-1, ::-1]


def conv2d_manual(
    image: np.ndarray, kernel: np.ndarray, padding: int = 0, stride: int = 1, flip: bool = False
) -> np.ndarray:
    """Slide `kernel` over the zero-padded `image`, summing element-wise products (cross-correlation, no flip).

    `image` is (H, W) or (C, H, W) and `kernel` (kh, kw) or (C, kh, kw): channels are summed, as one
    output channel of a conv layer does. Equal to F.conv2d(image[None], kernel[None], padding=, stride=)[0, 0];
    like conv2d, a stride that does not fit leaves the last rows or columns of the padded image unused.

    `flip=True` computes the true convolution of signal processing instead: the kernel rotated by 180
    degrees, then slid the same way (equal to conv2d with the flipped kernel).
    """
    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(rotate_180(kernel) if flip else kernel, dtype=np.float64)
    if image.ndim == 2:
        image, kernel = image[None], kernel[None]
    if image.ndim != 3 or kernel.ndim != 3 or image.shape[0] != kernel.shape[0]:
        raise ValueError(f"image {image.shape} and kernel {kernel.shape} must be (H, W) and (kh, kw), or both (C, ...)")
    if padding < 0 or stride < 1:
        raise ValueError(f"padding {padding} must be >= 0 and stride {stride} >= 1")
    padded = np.pad(image, ((0, 0), (padding, padding), (padding, padding)))
    _, kh, kw = kernel.shape
    if kh > padded.shape[1] or kw > padded.shape[2]:
        raise ValueError(f"kernel {kh}x{kw} is larger than the padded image {padded.shape[1]}x{padded.shape[2]}")
    out_h = (padded.shape[1] - kh) // stride + 1
    out_w = (padded.shape[2] - kw) // stride + 1
    out = np.zeros((out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            window = padded[:, i * stride : i * stride + kh, j * stride : j * stride + kw]
            out[i, j] = np.sum(window * kernel)
    return out
