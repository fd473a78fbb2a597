"""`export_run(run_dir, format)`: a run's best weights as one file another program can run without cnnlab,
with the run's preprocessing folded in.

The exported model takes what reading an image gives, uint8 pixels (N, H, W, C) at the run's image size
(or float points (N, D) for a run on 2-D points), and returns the logits over the run's classes: the
saved normalisation (standardize, min-max, signed or ZCA, with the statistics of the run's training
split) and the evaluation centre crop are in the graph, so they cannot be applied twice or forgotten.
Two steps stay outside: resizing an image to the run's size (`data.image_size`; `cnnlab predict` does it
with PIL when reading) and the softmax over the logits. Test-time augmentation is not exported: the file
gives the plain view's logits, as `predict` does.

`onnx` (through torch's TorchScript-based ONNX exporter, opset 17; needs the `onnx` package, and checks the
file with `onnxruntime` when it is installed: `pip install 'cnnlab[onnx]'`) and `torchscript`
(`torch.jit.trace`, loaded back with `torch.jit.load`) are the formats. Each export is checked before it
is reported: the file is run on a batch of random inputs and its logits compared with the run's model.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cnnlab.errors import UserError, did_you_mean
from cnnlab.fileio import atomic_write
from cnnlab.inference import TrainedRun, load_run

FORMATS = {"onnx": "model.onnx", "torchscript": "model.torchscript.pt"}  # format -> default file in the run folder
CHECK_BATCH = 8  # random inputs the exported file is checked on
OPSET = 17


class WithPreprocessing(nn.Module):
    """A run's model behind its own preprocessing: raw inputs (uint8 NHWC images, or points) in, logits out."""

    def __init__(self, run: TrainedRun) -> None:
        super().__init__()
        self.run = run
        self.model = run.model

    def forward(self, raw: torch.Tensor) -> torch.Tensor:
        return self.model(self.run.prepare_tensor(raw))


@dataclass(frozen=True)
class ExportResult:
    """Where the file went, what it takes and gives, and how closely it reproduces the run's model."""

    path: Path
    format: str
    input_shape: tuple[str | int, ...]  # 'N' for the batch
    input_dtype: str
    classes: list[str]
    max_difference: float | None  # largest |logit difference| on the check batch; None when not checked
    checked_with: str | None  # what ran the file for the check


def export_run(run_dir: str | Path, format: str = "onnx", out: str | Path | None = None) -> ExportResult:
    """Write the run's best weights with its preprocessing as `format` (onnx, torchscript) to `out`
    (default: model.onnx / model.torchscript.pt in the run folder), then check the file reproduces the model."""
    if format not in FORMATS:
        raise UserError(
            f"unknown export format '{format}'{did_you_mean(format, list(FORMATS))}: choose one of {', '.join(FORMATS)}"
        )
    run = load_run(run_dir)
    path = Path(out) if out is not None else run.folder.path / FORMATS[format]
    if path.is_dir():
        raise UserError(
            f"--out '{path}' is a folder: give the path of the file to write (e.g. {path / FORMATS[format]})"
        )
    wrapped = WithPreprocessing(run).eval()
    example = example_inputs(run, CHECK_BATCH)
    with torch.inference_mode():
        expected = wrapped(example)
    if format == "onnx":
        _write_onnx(wrapped, example, path)
        got, checked_with = _run_onnx(path, example)
    else:
        _write_torchscript(wrapped, example, path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated in favour of torch.export
            got, checked_with = torch.jit.load(str(path))(example).detach(), "torch.jit.load"
    difference = None if got is None else float((got - expected).abs().max())
    shape = ("N", *example.shape[1:])
    return ExportResult(
        path, format, shape, str(example.dtype).removeprefix("torch."), run.classes, difference, checked_with
    )


def example_inputs(run: TrainedRun, count: int, seed: int = 0) -> torch.Tensor:
    """`count` random raw inputs of the run's kind: uint8 images at its image size, or standard normal points."""
    generator = torch.Generator().manual_seed(seed)
    if run.info.get("kind") == "images":
        h, w = run.image_size
        return torch.randint(0, 256, (count, h, w, run.channels), generator=generator, dtype=torch.uint8)
    return torch.randn(count, run.channels, generator=generator)


def _write_onnx(model: nn.Module, example: torch.Tensor, path: Path) -> None:
    try:
        import onnx
    except ImportError:
        raise UserError(
            "--format onnx needs the onnx package: pip install 'cnnlab[onnx]' (or pip install onnx)"
        ) from None

    def write(tmp: Path) -> None:
        with warnings.catch_warnings():  # torch names its TorchScript-based exporter legacy; it needs no more packages
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                model,
                (example,),
                str(tmp),
                dynamo=False,
                opset_version=OPSET,
                input_names=["inputs"],
                output_names=["logits"],
                dynamic_axes={"inputs": {0: "batch"}, "logits": {0: "batch"}},
            )
        onnx.checker.check_model(str(tmp))

    atomic_write(path, write)


def _run_onnx(path: Path, example: torch.Tensor) -> tuple[torch.Tensor | None, str | None]:
    """The file's logits for `example` through onnxruntime, or (None, None) without it."""
    try:
        import onnxruntime
    except ImportError:
        return None, None
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (logits,) = session.run(["logits"], {"inputs": np.ascontiguousarray(example.numpy())})
    return torch.from_numpy(logits), f"onnxruntime {onnxruntime.__version__}"


def _write_torchscript(model: nn.Module, example: torch.Tensor, path: Path) -> None:
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes on the preprocessing's Python branches, fixed by the run
        traced = torch.jit.trace(model, (example,), check_trace=False)
    atomic_write(path, lambda tmp: traced.save(str(tmp)))


__all__ = ["FORMATS", "ExportResult", "WithPreprocessing", "example_inputs", "export_run"]
