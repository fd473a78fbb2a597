"""Matrices written on one line: '1,0,2;3,2,0' in, aligned rows out, and every malformed case named."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab.errors import UserError
from cnnlab.inspect import format_matrix, parse_matrix


def test_rows_by_semicolon_entries_by_comma() -> None:
    matrix = parse_matrix(" 1, 0,2 ; -3,2.5,1e2 ")
    assert matrix.shape == (2, 3) and matrix.dtype == np.float64
    np.testing.assert_array_equal(matrix, [[1, 0, 2], [-3, 2.5, 100]])
    np.testing.assert_array_equal(parse_matrix("7"), [[7]])


def test_formatting_aligns_the_columns_and_drops_the_point_of_whole_numbers() -> None:
    assert format_matrix(np.array([[2, -13], [10.0, 0.5]])).splitlines() == ["    2 -13", "   10 0.5"]
    assert format_matrix(np.array([[-0.0]])) == "  0"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "K is empty"),
        ("  ", "K is empty"),
        ("1,2;3", "row 2 has 1 entry but row 1 has 2 entries: every row needs the same number"),
        ("1,2;3,x", "'x' in row 2 is not a number"),
        ("1,nan", "'nan' in row 1 is not a number"),
        ("1,inf", "'inf' in row 1 is not a number"),
        ("1,,2", "row 1 has an empty entry"),
        ("1,2;;3,4", "row 2 is empty"),
        ("1 2;3 4", "'1 2' in row 1 is not a number"),
    ],
)
def test_malformed_matrices_name_the_argument_and_say_how_to_write_one(text: str, message: str) -> None:
    with pytest.raises(UserError, match="rows separated by ';' and the entries by ','") as err:
        parse_matrix(text, "K")
    assert message in str(err.value) and str(err.value).startswith("K ")
