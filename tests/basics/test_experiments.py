"""The experiments' files: figures (titled, axes labelled, valid PNG), tables, history; nothing half-written."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cnnlab.basics import MLPSettings, SVMSetting, run_mlp, run_svm
from cnnlab.basics.experiments import default_boundary_steps, mlp_figures, svm_figure
from cnnlab.errors import UserError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FASHION = Path("/usr/share/datasets/fashion-mnist")
SMALL_GRID = [SVMSetting("linear", C=1.0), SVMSetting("poly", degree=2), SVMSetting("rbf", C=1.0, gamma=1.0)]


def _assert_png(path: Path) -> None:
    assert path.is_file() and path.stat().st_size > 1000, path
    assert path.read_bytes()[:8] == PNG_SIGNATURE, path


def _assert_titled_and_labelled(figure) -> None:
    assert figure._suptitle is not None and figure._suptitle.get_text()
    shown = [ax for ax in figure.axes if ax.get_visible()]
    assert shown
    for ax in shown:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


def test_mlp_on_circles_writes_curves_boundary_history_and_summary(tmp_path: Path) -> None:
    experiment = run_mlp("circles", MLPSettings(epochs=4), out=tmp_path / "mlp")
    names = sorted(p.name for p in experiment.files)
    assert names == ["boundary.png", "curves.png", "history.csv", "summary.json"]
    for name in ("curves.png", "boundary.png"):
        _assert_png(tmp_path / "mlp" / name)
    rows = list(csv.DictReader((tmp_path / "mlp" / "history.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2, 3, 4]
    assert {"train_loss", "train_accuracy", "test_loss", "test_accuracy"} <= set(rows[0])
    summary = json.loads((tmp_path / "mlp" / "summary.json").read_text())
    assert summary["data"] == "circles" and summary["settings"]["epochs"] == 4
    assert summary["iterations"] == 100 and summary["boundary_steps"] == default_boundary_steps(100)
    assert summary["test_accuracy"] == experiment.run.final.test_accuracy
    assert not list((tmp_path / "mlp").glob(".*.tmp"))  # atomic writes leave no temporary files


def test_mlp_figures_have_titles_and_labelled_axes() -> None:
    experiment = run_mlp("moons", MLPSettings(epochs=2), boundary_at=[0, 10, 50])
    figures = mlp_figures(experiment)
    assert set(figures) == {"curves.png", "boundary.png"} and experiment.files == []
    for figure in figures.values():
        _assert_titled_and_labelled(figure)
    strip = [ax for ax in figures["boundary.png"].axes if ax.get_visible()]
    assert [ax.get_title().split("\n")[0] for ax in strip] == [
        "after 0 SGD steps (epoch 0)",
        "after 10 SGD steps (epoch 0.4)",
        "after 50 SGD steps (epoch 2)",
    ]


def test_default_boundary_steps_run_from_start_to_end() -> None:
    assert default_boundary_steps(1250) == [0, 25, 125, 417, 1250]
    assert default_boundary_steps(3) == [0, 1, 3]


def test_images_get_curves_but_no_boundary(tmp_path: Path) -> None:
    experiment = run_mlp("digits", MLPSettings(epochs=2), out=tmp_path)
    assert sorted(p.name for p in experiment.files) == ["curves.png", "history.csv", "summary.json"]
    assert experiment.data.features == 64  # 8x8 digits, flattened
    with pytest.raises(UserError, match="--boundary-at needs 2-D points"):
        run_mlp("digits", MLPSettings(epochs=1), boundary_at=[0])


def test_svm_writes_the_table_and_the_boundary_grid(tmp_path: Path) -> None:
    experiment = run_svm("circles", out=tmp_path / "svm", grid=SMALL_GRID)
    assert sorted(p.name for p in experiment.files) == ["svm-boundaries.png", "svm.csv", "svm.md"]
    _assert_png(tmp_path / "svm" / "svm-boundaries.png")
    assert len((tmp_path / "svm" / "svm.csv").read_text().splitlines()) == 1 + len(SMALL_GRID)
    assert (tmp_path / "svm" / "svm.md").read_text().startswith("| kernel |")


def test_the_svm_grid_figure_has_a_row_per_kernel_family() -> None:
    figure = svm_figure(run_svm("circles", grid=SMALL_GRID))
    _assert_titled_and_labelled(figure)
    titles = [ax.get_title() for ax in figure.axes if ax.get_visible()]
    assert [t.split("\n")[0] for t in titles] == ["linear", "poly, coef0=0", "rbf, gamma=1"]


def test_svm_refuses_sets_that_are_not_in_the_plane() -> None:
    with pytest.raises(UserError, match="2-D sets only"):
        run_svm("digits")


def test_a_diverging_run_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="lower --lr"):
        run_mlp("circles", MLPSettings(lr=1e38, epochs=1), out=tmp_path / "never")
    assert not (tmp_path / "never").exists()


def test_figures_need_neither_pyplot_nor_a_backend_switch(tmp_path: Path) -> None:
    # the raw rcParams entry: get_backend() would itself import pyplot to resolve an automatic backend
    script = (
        "import sys, matplotlib; raw = lambda: dict.__getitem__(matplotlib.rcParams, 'backend'); before = raw(); "
        "from cnnlab.basics import MLPSettings, run_mlp; "
        f"run_mlp('circles', MLPSettings(epochs=1), out={str(tmp_path)!r}); "
        "print('matplotlib.pyplot' in sys.modules, raw() == before)"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "True"]
    _assert_png(tmp_path / "boundary.png")


@pytest.mark.real_data
@pytest.mark.skipif(not FASHION.is_dir(), reason="Debian's Fashion-MNIST is not installed")
def test_fashion_mnist_is_flattened_standardised_and_learnt(tmp_path: Path) -> None:
    experiment = run_mlp("fashion-mnist", MLPSettings(hidden=16, epochs=1), out=tmp_path)
    data = experiment.data
    assert data.features == 784 and len(data.y_train) == 60_000 and len(data.y_test) == 10_000
    assert abs(data.x_train.mean().item()) < 1e-3 and abs(data.x_train.std().item() - 1) < 1e-2  # train stats
    assert experiment.run.final.test_accuracy > 0.75
    _assert_png(tmp_path / "curves.png")
