"""The two experiments of `cnnlab basics`, with their files: train the perceptron, compare SVM kernels.

Everything is computed and drawn before the first file is written, and each file is written
atomically, so a failure (a diverging loss, a bad option) leaves the output folder as it was.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure

from cnnlab.errors import UserError
from cnnlab.fileio import atomic_write_json, atomic_write_text
from cnnlab.plotting import save_png

from .figures import Predict, boundary_grid_figure, boundary_strip_figure, curves_figure
from .fit import MLPRun, MLPSettings, fit_mlp, iterations_per_epoch
from .inputs import PLANAR_SOURCES, SOURCES, BasicsData, check_source, load_basics_data
from .mlp import MLPParams, predict
from .svm import SVMResult, SVMSetting, fit_svm_grid, table_csv, table_markdown

BOUNDARY_FRACTIONS = (0.0, 0.02, 0.1, 1 / 3, 1.0)  # of the run's SGD steps: dense early, where most changes


@dataclass
class MLPExperiment:
    """A trained perceptron, the data it saw, and the files written."""

    data: BasicsData
    run: MLPRun
    files: list[Path] = field(default_factory=list)


@dataclass
class SVMExperiment:
    """The SVM grid's results on a 2-D set, and the files written."""

    data: BasicsData
    results: list[SVMResult]
    files: list[Path] = field(default_factory=list)


def default_boundary_steps(total: int) -> list[int]:
    """SGD steps at which to draw the boundary: the start, a few early ones, a third of the way, the end."""
    return sorted({round(total * f) for f in BOUNDARY_FRACTIONS})


def run_mlp(
    source: str = "circles",
    settings: MLPSettings | None = None,
    out: str | Path | None = None,
    boundary_at: Sequence[int] | None = None,
    root: str | Path | None = None,
) -> MLPExperiment:
    """Train the two-layer perceptron on `source` and, when `out` is given, write into it:
    curves.png (loss and accuracy, train and test), history.csv, summary.json and, on 2-D data,
    boundary.png (the decision boundary after the SGD steps in `boundary_at`, by default a few
    from the start to the end)."""
    settings = settings or MLPSettings()
    settings.check()  # before loading: a bad option should not wait for a large set to load
    data = load_basics_data(source, root=root)
    settings = settings.for_examples(len(data.y_train))
    assert settings.epochs is not None
    total = settings.epochs * iterations_per_epoch(len(data.y_train), settings.batch_size)
    steps = sorted(set(boundary_at)) if boundary_at else default_boundary_steps(total)
    if not data.is_planar and boundary_at:
        raise UserError(f"--boundary-at needs 2-D points ({', '.join(PLANAR_SOURCES)}); {data.name} is not")
    run = fit_mlp(data, settings, snapshot_at=steps if data.is_planar else ())
    experiment = MLPExperiment(data, run)
    if out is not None:
        experiment.files = _write_mlp(experiment, Path(out))
    return experiment


def run_svm(
    source: str = "circles",
    out: str | Path | None = None,
    grid: list[SVMSetting] | None = None,
    root: str | Path | None = None,
) -> SVMExperiment:
    """Fit scikit-learn's SVC over the kernel grid on a 2-D set and, when `out` is given, write into it:
    svm.csv and svm.md (train/test accuracy a setting) and svm-boundaries.png (a panel a setting)."""
    name = check_source(source, SOURCES)
    if name not in PLANAR_SOURCES:
        raise UserError(
            f"the SVM comparison draws decision boundaries in the plane, so it takes the 2-D sets only "
            f"({', '.join(PLANAR_SOURCES)}), not {name}"
        )
    data = load_basics_data(name, root=root)
    experiment = SVMExperiment(data, fit_svm_grid(data, grid))
    if out is not None:
        experiment.files = _write_svm(experiment, Path(out))
    return experiment


def mlp_title(experiment: MLPExperiment) -> str:
    """What was trained, in one line: data, architecture, step, schedule and initial weights."""
    s, data = experiment.run.settings, experiment.data
    return (
        f"{data.name}: {data.features} -> {s.hidden} tanh -> {data.num_classes} softmax, step '{s.step}', "
        f"SGD lr {s.lr:g}, batch {s.batch_size}, {s.epochs} epochs, seed {s.seed}, weights {s.init_label()}"
    )


def mlp_figures(experiment: MLPExperiment) -> dict[str, Figure]:
    """The perceptron's figures by file name: the curves, and on 2-D data the boundary strip."""
    run, data = experiment.run, experiment.data
    per_epoch = iterations_per_epoch(len(data.y_train), run.settings.batch_size)
    title = mlp_title(experiment)
    figures = {"curves.png": curves_figure(run.history, run.batch_losses, per_epoch, title)}
    if data.is_planar and run.snapshots:
        assert data.points_train is not None
        panels = [
            (
                f"after {step} SGD steps (epoch {step / per_epoch:.3g})\ntest accuracy {_accuracy(params, data):.1%}",
                _mlp_predict(params, data),
            )
            for step, params in sorted(run.snapshots.items())
        ]
        figures["boundary.png"] = boundary_strip_figure(
            panels, data.points_train, data.y_train.numpy(), f"decision boundary while training ({title})"
        )
    return figures


def svm_figure(experiment: SVMExperiment) -> Figure:
    """A decision-boundary panel for every setting, a row per kernel family."""
    data = experiment.data
    rows: dict[str, list[tuple[str, Predict]]] = {}  # panels by kernel family
    assert data.points_train is not None
    for r in experiment.results:
        title = f"{r.setting.label}: test {r.test_accuracy:.1%}"
        rows.setdefault(r.setting.family, []).append((title, _svm_predict(r, data)))
    return boundary_grid_figure(
        list(rows.items()),
        data.points_train,
        data.y_train.numpy(),
        f"SVM decision boundaries on {data.name} (training points; accuracy on the test split)",
    )


def _write_mlp(experiment: MLPExperiment, out: Path) -> list[Path]:
    figures = mlp_figures(experiment)
    run = experiment.run
    summary = {"data": experiment.data.name, **run.summary(), "boundary_steps": sorted(run.snapshots)}
    files = [save_png(fig, out / name) for name, fig in figures.items()]
    files.append(atomic_write_text(out / "history.csv", _history_csv(run)))
    files.append(atomic_write_json(out / "summary.json", summary))
    return files


def _write_svm(experiment: SVMExperiment, out: Path) -> list[Path]:
    figure = svm_figure(experiment)
    return [
        atomic_write_text(out / "svm.csv", table_csv(experiment.results)),
        atomic_write_text(out / "svm.md", table_markdown(experiment.results)),
        save_png(figure, out / "svm-boundaries.png"),
    ]


def _history_csv(run: MLPRun) -> str:
    buffer = io.StringIO()
    rows = [asdict(r) for r in run.history]
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _accuracy(params: MLPParams, data: BasicsData) -> float:
    return (predict(params, data.x_test) == data.y_test).double().mean().item()


def _mlp_predict(params: MLPParams, data: BasicsData) -> Predict:
    def classify(points: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return predict(params, data.inputs(points)).numpy()

    return classify


def _svm_predict(result: SVMResult, data: BasicsData) -> Predict:
    return lambda points: result.model.predict(data.inputs(points).numpy())
