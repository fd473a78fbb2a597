"""SVM kernels on circles: a linear boundary cannot separate the rings, degree 2 and RBF can."""

from __future__ import annotations

import csv
import io

import pytest

from cnnlab.basics import SVMSetting, default_grid, fit_svm_grid, load_basics_data, table_csv, table_markdown
from cnnlab.basics.svm import accuracy_range_by_kernel, table_text


@pytest.fixture
def circle_results():
    return fit_svm_grid(load_basics_data("circles"))


def _pick(results, **match):
    return [r for r in results if all(getattr(r.setting, k) == v for k, v in match.items())]


def test_the_grid_covers_linear_poly_degrees_one_to_eight_and_rbf_over_c_and_gamma() -> None:
    grid = default_grid()
    assert {s.kernel for s in grid} == {"linear", "poly", "rbf"}
    assert sorted({s.degree for s in grid if s.kernel == "poly"}) == list(range(1, 9))
    rbf = [s for s in grid if s.kernel == "rbf"]
    assert len({s.C for s in rbf}) >= 2 and len({s.gamma for s in rbf}) >= 2
    assert len(set(grid)) == len(grid)


def test_rbf_beats_linear_on_circles_and_linear_is_near_chance(circle_results) -> None:
    linear, rbf = _pick(circle_results, kernel="linear"), _pick(circle_results, kernel="rbf")
    assert all(0.35 <= r.test_accuracy <= 0.65 for r in linear)  # two balanced classes: chance is 50%
    assert min(r.test_accuracy for r in rbf) >= 0.95
    assert min(r.test_accuracy for r in rbf) > max(r.test_accuracy for r in linear) + 0.3
    ranges = accuracy_range_by_kernel(circle_results)
    assert ranges["rbf"][0] > ranges["linear"][1]


def test_degree_two_separates_the_rings_and_homogeneous_odd_degrees_cannot(circle_results) -> None:
    for coef0 in (0.0, 1.0):
        assert _pick(circle_results, kernel="poly", degree=2, coef0=coef0)[0].test_accuracy >= 0.95
        assert _pick(circle_results, kernel="poly", degree=1, coef0=coef0)[0].test_accuracy <= 0.65
    for degree in (3, 5, 7):  # (gamma <x, x'>)^odd has only odd powers: no x1^2 + x2^2 term
        assert _pick(circle_results, kernel="poly", degree=degree, coef0=0.0)[0].test_accuracy <= 0.7
        assert _pick(circle_results, kernel="poly", degree=degree, coef0=1.0)[0].test_accuracy >= 0.95


def test_tables_hold_one_row_a_setting(circle_results) -> None:
    rows = list(csv.DictReader(io.StringIO(table_csv(circle_results))))
    assert len(rows) == len(circle_results) == len(default_grid())
    assert rows[0]["kernel"] == "linear" and 0 <= float(rows[0]["test_accuracy"]) <= 1
    markdown = table_markdown(circle_results).splitlines()
    assert markdown[0].startswith("| kernel |") and len(markdown) == len(circle_results) + 2
    text = table_text(circle_results).splitlines()
    assert len(text) == len(circle_results) + 1 and "test acc" in text[0] and "%" in text[1]


def test_a_custom_grid_is_fitted_as_given() -> None:
    grid = [SVMSetting("rbf", C=1.0, gamma=2.0), SVMSetting("linear", C=0.5)]
    results = fit_svm_grid(load_basics_data("moons"), grid)
    assert [r.setting for r in results] == grid
    assert results[0].test_accuracy > results[1].test_accuracy and results[0].support_vectors > 0
