"""Support vector machines with linear, polynomial and RBF kernels over a small grid, on 2-D toy data.

The kernels k(x, x') are scikit-learn's:
    linear   <x, x'>
    poly     (gamma <x, x'> + coef0)^degree
    rbf      exp(-gamma ||x - x'||^2)
On circles a linear boundary cannot separate the rings (accuracy near chance), while degree-2 terms
(x1^2 + x2^2 is the radius squared) or an RBF kernel do. With coef0 = 0 the polynomial kernel is
homogeneous: only odd or only even powers appear, so odd degrees fail on circles, which are
symmetric about the origin, and even degrees fail on moons; coef0 = 1 brings every lower power back.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass

from sklearn.svm import SVC

from .inputs import BasicsData

LINEAR_C = (0.1, 1.0, 10.0)
POLY_DEGREES = tuple(range(1, 9))
POLY_COEF0 = (0.0, 1.0)
RBF_GAMMA = (0.1, 1.0, 10.0)
RBF_C = (0.1, 1.0, 10.0)


@dataclass(frozen=True)
class SVMSetting:
    """One SVC configuration. gamma 'scale' is 1 / (features * variance of the inputs): 0.5 here."""

    kernel: str
    C: float = 1.0
    gamma: float | str = "scale"
    degree: int = 3
    coef0: float = 0.0

    def model(self) -> SVC:
        return SVC(kernel=self.kernel, C=self.C, gamma=self.gamma, degree=self.degree, coef0=self.coef0)

    @property
    def family(self) -> str:
        """The settings that share a row of the boundary grid."""
        if self.kernel == "poly":
            return f"poly, coef0={self.coef0:g}"
        if self.kernel == "rbf":
            return f"rbf, gamma={_number(self.gamma)}"
        return self.kernel

    @property
    def label(self) -> str:
        """A short name of the setting within its family."""
        if self.kernel == "poly":
            return f"degree {self.degree}, C={self.C:g}"
        return f"C={self.C:g}"


@dataclass
class SVMResult:
    """One fitted setting: accuracies, support vector count, time, and the model for plotting."""

    setting: SVMSetting
    train_accuracy: float
    test_accuracy: float
    support_vectors: int
    seconds: float
    model: SVC

    def row(self) -> dict:
        s = self.setting
        poly = s.kernel == "poly"
        return {
            "kernel": s.kernel,
            "C": s.C,
            "gamma": s.gamma if s.kernel != "linear" else "",
            "degree": s.degree if poly else "",
            "coef0": s.coef0 if poly else "",
            "train_accuracy": round(self.train_accuracy, 4),
            "test_accuracy": round(self.test_accuracy, 4),
            "support_vectors": self.support_vectors,
            "seconds": round(self.seconds, 4),
        }


def default_grid() -> list[SVMSetting]:
    """Linear over C; poly of degrees 1 to 8 with coef0 0 and 1; RBF over gamma x C."""
    grid = [SVMSetting("linear", C=c) for c in LINEAR_C]
    grid += [SVMSetting("poly", degree=d, coef0=c0) for c0 in POLY_COEF0 for d in POLY_DEGREES]
    grid += [SVMSetting("rbf", C=c, gamma=g) for g in RBF_GAMMA for c in RBF_C]
    return grid


def fit_svm_grid(data: BasicsData, grid: list[SVMSetting] | None = None) -> list[SVMResult]:
    """Fit every setting on the (standardised) training inputs; score on train and test."""
    x_train, y_train = data.x_train.numpy(), data.y_train.numpy()
    x_test, y_test = data.x_test.numpy(), data.y_test.numpy()
    results = []
    for setting in grid if grid is not None else default_grid():
        began = time.perf_counter()
        model = setting.model().fit(x_train, y_train)
        seconds = time.perf_counter() - began
        results.append(
            SVMResult(
                setting,
                train_accuracy=float(model.score(x_train, y_train)),
                test_accuracy=float(model.score(x_test, y_test)),
                support_vectors=int(model.n_support_.sum()),
                seconds=seconds,
                model=model,
            )
        )
    return results


def accuracy_range_by_kernel(results: list[SVMResult]) -> dict[str, tuple[float, float]]:
    """The lowest and highest test accuracy of each kernel over the grid: a summary, not a model choice
    (choosing a setting by its test accuracy would leak the test set into the choice)."""
    ranges: dict[str, tuple[float, float]] = {}
    for r in results:
        low, high = ranges.get(r.setting.kernel, (1.0, 0.0))
        ranges[r.setting.kernel] = (min(low, r.test_accuracy), max(high, r.test_accuracy))
    return ranges


COLUMNS = ("kernel", "C", "gamma", "degree", "coef0", "train_accuracy", "test_accuracy", "support_vectors", "seconds")
HEADERS = ("kernel", "C", "gamma", "degree", "coef0", "train acc", "test acc", "SVs")


def table_text(results: list[SVMResult]) -> str:
    """The table aligned for a terminal, accuracies in percent."""
    rows = [HEADERS, *(_cells(r) for r in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    # the kernel name reads best left-aligned, the numbers right-aligned
    return "\n".join(
        "  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True)))
        for row in rows
    )


def table_markdown(results: list[SVMResult]) -> str:
    """The table in Markdown, accuracies in percent."""
    lines = ["| " + " | ".join(HEADERS) + " |", "|---|" + "---:|" * (len(HEADERS) - 1)]
    lines += ["| " + " | ".join(_cells(r)) + " |" for r in results]
    return "\n".join(lines) + "\n"


def table_csv(results: list[SVMResult]) -> str:
    """The table as CSV, accuracies as fractions, one row a setting."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in results:
        writer.writerow(r.row())
    return buffer.getvalue()


def _cells(r: SVMResult) -> tuple[str, ...]:
    row = r.row()
    text = [row[k] if isinstance(row[k], str) else f"{row[k]:g}" for k in ("kernel", "C", "gamma", "degree", "coef0")]
    return (*text, f"{r.train_accuracy:.1%}", f"{r.test_accuracy:.1%}", str(r.support_vectors))


def _number(value: float | str) -> str:
    return value if isinstance(value, str) else f"{value:g}"
