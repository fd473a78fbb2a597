"""`cnnlab basics mlp|svm`: the two-layer perceptron by hand in four steps, and SVM kernels on toy data."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from cnnlab.basics import PLANAR_SOURCES, SOURCES, STEPS, MLPSettings, run_mlp, run_svm, table_text
from cnnlab.basics.experiments import MLPExperiment, SVMExperiment, mlp_title
from cnnlab.basics.svm import accuracy_range_by_kernel

DEFAULT_OUT = Path("cnnlab-basics")


def add_parser(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser(
        "basics",
        help="teaching: a two-layer perceptron by hand in four steps (mlp), SVM kernels on toy data (svm)",
        description="The basics before CNNs: an MLP written by hand, then with autograd, nn and optim; SVMs.",
    )
    labs = p.add_subparsers(dest="lab", metavar="mlp|svm", required=True)

    mlp = labs.add_parser(
        "mlp",
        help="train the tanh/softmax perceptron; curves and decision boundaries",
        description="Train a two-layer perceptron (tanh hidden layer, softmax output, cross-entropy) by "
        "mini-batch SGD; print the final train/test accuracy; write the curves (and, on 2-D data, the "
        "decision boundary during training) into --out.",
    )
    mlp.add_argument("--data", default="circles", help=f"{'|'.join(SOURCES)} (default: circles)")
    mlp.add_argument(
        "--step",
        default="manual",
        choices=list(STEPS),
        help="manual: forward/backward by hand; autograd: gradients by autograd; nn: torch.nn layers; "
        "optim: nn layers + torch.optim.SGD (default: manual)",
    )
    defaults = MLPSettings()
    mlp.add_argument("--hidden", type=int, default=defaults.hidden, help=f"hidden units (default: {defaults.hidden})")
    mlp.add_argument("--lr", type=float, default=defaults.lr, help=f"SGD learning rate (default: {defaults.lr:g})")
    mlp.add_argument("--epochs", type=int, help="epochs (default: 50 on the small sets, 10 on mnist and fashion-mnist)")
    mlp.add_argument("--batch-size", type=int, default=defaults.batch_size, help="examples a batch (default: 32)")
    mlp.add_argument("--seed", type=int, default=defaults.seed, help="initial weights and batch order (default: 0)")
    mlp.add_argument(
        "--init-std",
        type=float,
        metavar="S",
        help="draw the initial weights from N(0, S^2), e.g. 0.3 as report 002 (section 1.2.1) does with "
        "torch.normal(0, 0.3, ...); biases start at zero (default: N(0, 1/fan_in), std 1/sqrt(inputs of the layer))",
    )
    mlp.add_argument(
        "--boundary-at",
        type=_step_list,
        metavar="STEP,...",
        help="SGD steps at which to draw the decision boundary on 2-D data (default: 0, 2%%, 10%%, 1/3, end)",
    )
    mlp.add_argument("--out", help=f"output folder (default: {DEFAULT_OUT}/mlp-<data>-<step>)")

    svm = labs.add_parser(
        "svm",
        help="SVC with linear, poly (degrees 1-8) and rbf kernels over C and gamma; table and boundaries",
        description="Fit scikit-learn's SVC with linear, polynomial (degrees 1 to 8, coef0 0 and 1) and RBF "
        "kernels over a small grid of C and gamma on a 2-D set; print and write the train/test accuracy table "
        "and a grid of decision-boundary plots.",
    )
    svm.add_argument("--data", default="circles", help=f"{'|'.join(PLANAR_SOURCES)} (default: circles)")
    svm.add_argument("--out", help=f"output folder (default: {DEFAULT_OUT}/svm-<data>)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return run_mlp_command(args) if args.lab == "mlp" else run_svm_command(args)


def run_mlp_command(args: argparse.Namespace) -> int:
    settings = MLPSettings(
        step=args.step,
        hidden=args.hidden,
        lr=args.lr,
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        init_std=args.init_std,
    )
    out = args.out or DEFAULT_OUT / f"mlp-{args.data.strip().lower()}-{args.step}"
    began = time.perf_counter()
    experiment = run_mlp(args.data, settings, out=out, boundary_at=args.boundary_at)
    print_mlp(experiment, time.perf_counter() - began)
    return 0


def run_svm_command(args: argparse.Namespace) -> int:
    out = args.out or DEFAULT_OUT / f"svm-{args.data.strip().lower()}"
    began = time.perf_counter()
    experiment = run_svm(args.data, out=out)
    print_svm(experiment, time.perf_counter() - began)
    return 0


def print_mlp(experiment: MLPExperiment, seconds: float) -> None:
    """The trained net, its final train/test figures, and where the files are."""
    run, data = experiment.run, experiment.data
    final = run.final
    print(mlp_title(experiment))
    print(f"  {len(data.y_train)} train / {len(data.y_test)} test examples, {len(run.batch_losses)} SGD steps")
    print(
        f"  final train accuracy {final.train_accuracy:.1%} (loss {final.train_loss:.4f})  "
        f"test accuracy {final.test_accuracy:.1%} (loss {final.test_loss:.4f})"
    )
    print(f"  training {run.seconds:.1f} s, {seconds:.1f} s in all")
    for note in run.notes:
        print(f"  note: {note}")
    _print_files(experiment.files)


def print_svm(experiment: SVMExperiment, seconds: float) -> None:
    """The accuracy table, each kernel's range of test accuracy, and where the files are."""
    print(
        f"SVM kernels on {experiment.data.name} ({len(experiment.data.y_train)} train / "
        f"{len(experiment.data.y_test)} test points, inputs standardised on train)"
    )
    print(table_text(experiment.results))
    ranges = accuracy_range_by_kernel(experiment.results)
    print("test accuracy by kernel: " + ", ".join(f"{k} {lo:.1%}-{hi:.1%}" for k, (lo, hi) in ranges.items()))
    print(f"  {seconds:.1f} s")
    _print_files(experiment.files)


def _print_files(files: list[Path]) -> None:
    if files:
        print(f"  wrote {', '.join(str(f) for f in files)}")


def _step_list(text: str) -> list[int]:
    """'0,10,100' -> [0, 10, 100]; argparse turns the ValueError into a usage message."""
    try:
        steps = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of SGD step numbers") from None
    if not steps:
        raise argparse.ArgumentTypeError("give at least one SGD step number")
    return steps
