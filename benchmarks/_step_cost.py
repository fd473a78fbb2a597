"""What a training step costs, and what the machine could give it, for the benchmark scripts.

- the machine's practical ceiling: a large matrix product in the training dtype, in GFLOP/s;
- a step's FLOPs: forward + backward as torch's FlopCounterMode counts them (convolutions and matrix products:
  the elementwise work of batch norm, GELU, pooling and the loss is not counted), the optimiser's apart;
- a step's time by kind of operator: torch.profiler's self time of each operator, grouped by the operator's name
  and the scope it runs in (the optimiser's step, the data side), so that copies and casts show on their own, and
  the part of each kind spent on fp32 tensors (in a bf16 step, what falls out of bf16).
"""

from __future__ import annotations

import copy
import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

DATA_SCOPE = "data: batches and augmentation"  # the profiler scope ScopedBatches draws each batch in


def matmul_peak_gflops(dtype: torch.dtype, size: int = 4096, repeats: int = 5) -> float:
    """GFLOP/s of the best of `repeats` products of two `size` x `size` matrices in `dtype`, on torch's threads as
    they are set: the machine's practical ceiling for dense work in that dtype (oneDNN's convolutions are matrix
    products at heart), where the vendor's peak figure is a theoretical one."""
    a, b = torch.randn(size, size).to(dtype), torch.randn(size, size).to(dtype)
    out = torch.empty(size, size, dtype=dtype)
    torch.matmul(a, b, out=out)  # the first call sets the library up
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        torch.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def step_flops(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    criterion: nn.Module,
    batch: tuple[torch.Tensor, torch.Tensor],
    autocast: Callable[[], AbstractContextManager[Any]],
) -> tuple[int, int]:
    """(forward + backward FLOPs, optimiser-step FLOPs) of one training step on `batch`, as FlopCounterMode counts
    them. The step is taken (the weights move once): benchmarks measure speed, not accuracy."""
    x, y = batch
    with FlopCounterMode(display=False) as counter:
        with autocast():
            loss = criterion(model(x), y)
        loss.backward()
    with FlopCounterMode(display=False) as stepping:
        optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return counter.get_total_flops(), stepping.get_total_flops()


def image_flops(model: nn.Module, image_shape: tuple[int, ...], batch: int = 4) -> tuple[float, float]:
    """(forward, forward + backward) FLOPs an image of `model` in training mode, as FlopCounterMode counts them on
    `batch` random images of `image_shape`: what a recipe computes an image, whatever the machine and dtype. Counted
    in fp32 on a copy of the model (a count depends on neither), with torch's random stream left as it was."""
    counted = copy.deepcopy(model).train()
    with torch.random.fork_rng(devices=[]):
        x = torch.randn(batch, *image_shape)
        with FlopCounterMode(display=False) as forward:
            counted(x)
        with FlopCounterMode(display=False) as both:
            counted(x).float().sum().backward()
    return forward.get_total_flops() / batch, both.get_total_flops() / batch


def optimizer_step_flops(model: nn.Module, make_optimizer: Callable[[nn.Module], torch.optim.Optimizer]) -> float:
    """FLOPs of one step of the optimiser `make_optimizer` builds for `model`, as FlopCounterMode counts them: its
    matrix work (Muon's Newton-Schulz products); an elementwise update such as SGD's counts 0. Taken on a copy of
    the model with random gradients, torch's random stream left as it was."""
    counted = copy.deepcopy(model)
    with torch.random.fork_rng(devices=[]):
        for parameter in counted.parameters():
            parameter.grad = torch.randn_like(parameter)
        optimizer = make_optimizer(counted)
        with FlopCounterMode(display=False) as stepping:
            optimizer.step()
    return float(stepping.get_total_flops())


class ScopedBatches:
    """Batches drawn inside a profiler scope (DATA_SCOPE), so that a profile tells the data side (indexing,
    augmentation, layout) from the model's; otherwise the batches as they come."""

    def __init__(self, batches: Any) -> None:
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def mix(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The trainer mixes each batch (mixup / CutMix) through its iterator: inside the data scope too."""
        with torch.profiler.record_function(DATA_SCOPE):
            return self.batches.mix(x, y)

    def __iter__(self) -> Iterator[Any]:
        iterator = iter(self.batches)
        while True:
            with torch.profiler.record_function(DATA_SCOPE):
                batch = next(iterator, None)
            if batch is None:
                return
            yield batch


MATMULS = ("aten::mm", "aten::matmul", "aten::addmm", "aten::bmm")
COPIES = ("aten::copy_", "aten::_to_copy", "aten::to", "aten::contiguous", "aten::clone")
# by the first name in an operator's chain of callers (outermost first) that holds one of the keys, lowercased
KINDS = (
    ("convolution", ("conv",)),
    ("batch norm", ("batch_norm", "batchnorm")),
    ("activation (GELU)", ("gelu", "relu")),
    ("pooling", ("max_pool", "maxpool")),
    ("loss and head", ("cross_entropy", "log_softmax", "logsoftmax", "nll_loss", "nllloss", "linear", "aten::mm")),
)
TENSOR_DTYPES = {"float": "fp32", "c10::BFloat16": "bf16", "c10::Half": "fp16", "double": "fp64"}


def _callers(event: Any) -> list[Any]:
    """The event and the events it ran inside, outermost first."""
    chain = []
    while event is not None:
        chain.append(event)
        event = event.cpu_parent
    return chain[::-1]


def _is_whitening_conv(event: Any) -> bool:
    """A convolution with a 2x2 kernel: fastnet's frozen whitening conv (record_shapes gives the weight's shape)."""
    shapes = getattr(event, "input_shapes", None) or []
    kernels = [s for s in shapes if isinstance(s, list) and len(s) == 4 and all(isinstance(d, int) for d in s)]
    return "conv" in event.name.lower() and any(s[2:] == [2, 2] for s in kernels)


def _is_cast(event: Any) -> bool:
    """A copy between two dtypes (autocast's bf16 copies of the weights, the gradients' way back), not between two
    memory layouts: the copy's destination and source differ in dtype."""
    dtypes = [d for d in getattr(event, "input_dtypes", None) or [] if d in TENSOR_DTYPES]
    return event.name == "aten::copy_" and len(dtypes) >= 2 and dtypes[0] != dtypes[1]


def dtype(event: Any) -> str:
    """The dtype of an operator's first floating-point tensor input ('' when it takes none)."""
    found = (TENSOR_DTYPES[d] for d in getattr(event, "input_dtypes", None) or [] if d in TENSOR_DTYPES)
    return next(found, "")


def category(event: Any) -> str:
    """The kind of work a profiled operator does: the optimiser's and the data side's by scope, copies by whether
    they change the dtype, the whitening conv by its kernel, the rest by the first caller named after a kind."""
    chain = _callers(event)
    names = [e.name for e in chain]
    if any(name.startswith("Optimizer.") for name in names):
        return "optimiser: Newton-Schulz products" if event.name in MATMULS else "optimiser: the rest"
    if DATA_SCOPE in names:
        return DATA_SCOPE
    if event.name in COPIES:
        return "casts between dtypes" if _is_cast(event) else "layout conversions and copies"
    if any(_is_whitening_conv(e) for e in chain):
        return "whitening conv (2x2)"
    for name in names:
        kind = next((kind for kind, keys in KINDS if any(key in name.lower() for key in keys)), None)
        if kind is not None:
            return kind
    return "other"


@dataclass
class StepProfile:
    """Milliseconds a step by kind of operator, largest first, and the part of each spent in operators on fp32
    tensors (in a bf16 step: what falls out of bf16). 'outside operators' is the wall time no operator accounts
    for (Python, the loop, the profiler itself)."""

    milliseconds: dict[str, float]
    fp32_milliseconds: dict[str, float]

    def shares(self) -> dict[str, float]:
        """Each kind's percentage of the step, to one decimal."""
        total = sum(self.milliseconds.values()) or 1.0
        return {kind: round(100 * ms / total, 1) for kind, ms in self.milliseconds.items()}


def profile_step(run: Callable[[], Any], steps: int) -> StepProfile:
    """Where the time goes while `run()` takes `steps` training steps under torch.profiler: each operator's self
    time, grouped by `category`, divided by `steps`."""
    activities = [torch.profiler.ProfilerActivity.CPU]
    with torch.profiler.profile(activities=activities, record_shapes=True) as profile:
        start = time.perf_counter()
        run()
        wall_ms = 1000 * (time.perf_counter() - start)
    totals: dict[str, float] = defaultdict(float)
    fp32: dict[str, float] = defaultdict(float)
    for event in profile.events():
        if event.self_cpu_time_total > 0:
            kind = category(event)
            totals[kind] += event.self_cpu_time_total / 1000
            if dtype(event) == "fp32":
                fp32[kind] += event.self_cpu_time_total / 1000
    totals["outside operators"] = max(0.0, wall_ms - sum(totals.values()))
    order = sorted(totals, key=lambda kind: -totals[kind])
    return StepProfile(
        {kind: totals[kind] / steps for kind in order}, {kind: fp32[kind] / steps for kind in order if fp32[kind]}
    )
