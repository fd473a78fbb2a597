"""Rows the course nets' layer tables share: an activation with its slope, a pooling that may be left out."""

from __future__ import annotations

from ..table import Row


def activation_row(name: str, slope: float = 0.01) -> Row:
    """`relu`, or `{leaky_relu: slope}`: the activation row of a net's `activation` and `slope` options."""
    return {"leaky_relu": slope} if name == "leaky_relu" else name


def pool_row(kind: str, size: int = 2, stride: int | None = None) -> list[Row]:
    """The 2x2 pooling of a net's `pool` option (max, avg), as a row, or no row for `none`."""
    if kind == "none":
        return []
    row: dict = {f"{kind}pool": size}
    if stride is not None and stride != size:
        row["stride"] = stride
    return [row]
