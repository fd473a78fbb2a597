"""Small matrices as one line of text ('1,0,2;3,2,0': rows by ';', entries by ','), and back as aligned rows.

The command line's way to give the manual convolution its image and kernel, and to print them.
"""

from __future__ import annotations

import re

import numpy as np

from cnnlab.errors import UserError

HOW_TO_WRITE = "write the rows separated by ';' and the entries by ',', e.g. '1,0,2;3,2,0' for a 2x3 matrix"
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def parse_matrix(text: str, name: str = "matrix") -> np.ndarray:
    """'1,0,2;3,2,0' as a (2, 3) float64 array; a UserError naming `name` says what is wrong and how to write it.

    Spaces around entries are allowed; an empty matrix or row, rows of different lengths and anything
    that is not a plain decimal number (nan and inf included) are refused.
    """
    if not text.strip():
        raise UserError(f"{name} is empty: {HOW_TO_WRITE}")
    rows = [row.split(",") for row in text.split(";")]
    values: list[list[float]] = []
    for number, row in enumerate(rows, start=1):
        entries = [entry.strip() for entry in row]
        if entries == [""]:
            raise UserError(f"{name} '{text}': row {number} is empty; {HOW_TO_WRITE}")
        bad = next((entry for entry in entries if not _NUMBER.fullmatch(entry)), None)
        if bad == "":
            raise UserError(f"{name} '{text}': row {number} has an empty entry; {HOW_TO_WRITE}")
        if bad is not None:
            raise UserError(f"{name} '{text}': '{bad}' in row {number} is not a number; {HOW_TO_WRITE}")
        values.append([float(entry) for entry in entries])
    widths = [len(row) for row in values]
    if len(set(widths)) > 1:
        ragged = next(i for i, width in enumerate(widths) if width != widths[0])
        raise UserError(
            f"{name} '{text}': row {ragged + 1} has {_entries(widths[ragged])} but row 1 has "
            f"{_entries(widths[0])}: every row needs the same number; {HOW_TO_WRITE}"
        )
    return np.array(values, dtype=np.float64)


def _entries(count: int) -> str:
    return f"{count} entry" if count == 1 else f"{count} entries"


def format_number(value: float) -> str:
    """A whole number without its '.0' ('2', '-13'), anything else in at most 6 significant digits."""
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


def format_matrix(matrix: np.ndarray, indent: str = "  ") -> str:
    """The rows of a 2-D matrix, one a line, entries right-aligned in columns of one width."""
    cells = [[format_number(v) for v in row] for row in np.asarray(matrix)]
    width = max((len(cell) for row in cells for cell in row), default=1)
    return "\n".join(indent + " ".join(cell.rjust(width) for cell in row) for row in cells)
