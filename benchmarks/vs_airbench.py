"""The record holder and cnnlab in one run: airbench94 (its own PyPI package, `airbench` 0.1.8) and one or more cnnlab
fast presets, trained one after the other on the same CIFAR-10 JPEG copy on the same machine.

Machines differ by 5-10x, so absolute seconds say little; a ratio measured in one run holds on any machine. Each run
prints its test top-1 after every epoch with the elapsed time; at the end come each one's time to reach airbench94's
own final accuracy and their ratio (airbench's time over the preset's); `speedup` is that of the preset reaching it
soonest (a user picks the preset). Last line: one JSON object.

    python benchmarks/vs_airbench.py [--preset fast-90 [fast-91 ...]] [--seeds 3] [--precision auto] [--data ROOT]
    python benchmarks/vs_airbench.py --tiny    # the whole path in a minute or two: a data subset, a fifth of the epochs

airbench94 runs as published (`airbench.train94`: widths 64/256/256, batch 1,024, 9.9 epochs, Nesterov SGD, lookahead,
TTA level 2), with only what works on CUDA alone replaced:
  device     its loader's `gpu` is the CPU, and its net's `.cuda()` leaves the net where it is;
  precision  where it casts the net to fp16 for a GPU, the net stays in fp32 and runs under bf16 autocast on CPUs
             that compute bf16 natively (AVX512-BF16 or AMX, as cnnlab's trainer decides), in plain fp32 elsewhere;
             the logits come out in fp32, and its images are kept in fp32;
  timing     torch.cuda events and synchronisation become perf_counter and nothing.
It is fed the JPEG copy as cnnlab decodes it, as the uint8 tensors of its own data files, and keeps its own
normalisation (real CIFAR-10's mean and std). Both use the threads cnnlab's trainer sets (all usable cores).

Clocks. airbench: its own (the whitening init, the training epochs, the final evaluation with TTA). cnnlab: the wall
clock of `train()`, as in benchmarks/time_to_accuracy.py (fitting the preprocessing, the whitening init, training,
the final evaluation with TTA, and writing the run folder: a few seconds that airbench's clock does not hold).
Each evaluates as it always does: airbench in its training precision, cnnlab's trainer in fp32.

Per-epoch curve. The presets evaluate only at the end (train.eval_every=1000), so after every epoch but the last the
benchmark evaluates the net on the test set with its run's final TTA setting (airbench: its level 2; cnnlab: the
preset's train.tta and train.tta_fraction): airbench's net from its per-epoch logging call, with its own evaluate();
cnnlab's reloaded from the run folder's resume state in an on_epoch hook, so the timed path is the preset's own. That
evaluation counts for its own epoch's point (what a run stopped there would have taken) and is left out of the clock
of the later ones; airbench's own per-epoch evaluation without TTA, outside its clock, is printed beside it. These
evaluations lengthen the wall time (airbench's 6 views of 10,000 images an epoch most), not the clocks.

Time to target. The target is airbench94's final test top-1 (the mean over seeds). On each one's curve averaged over
the seeds, the time to target is the first epoch end whose top-1 reaches it: a net exists only there (an unfinished
run's schedule has not decayed yet), so nothing is interpolated. Each run is a fresh process, so that none inherits
what another set up (such as cnnlab's allocator tuning), and the order reverses from seed to seed.

Arithmetic. Before the runs (a few seconds), each recipe's arithmetic is counted (torch's FlopCounterMode on a few
images: the convolutions and matrix products of a training image's forward and backward pass, and of a test image's
forward pass, times the images each run trains on and its test-time views, plus each optimiser step's matrix work:
Muon's Newton-Schulz products): airbench94's 0.36 PFLOP and fast-93's 3.2 match the record holder's published counts
(0.36 and 3.1). A whole run's time ratio is then the product of two factors that tell a recipe from its execution:
how much less the preset computes (`arithmetic_ratio`) and how much faster it computes over its clock (`rate_ratio`,
of the GFLOP/s each achieves).

Ceiling. Before and after the runs, a large matrix product in the runs' dtype gives the machine's ceiling
(`peak_gflops`, the better of the two); each rate is also given as a fraction of it, and `arithmetic_share_for_goal`
is the most arithmetic, as a share of airbench94's, with which a recipe computing at the ceiling would still reach
the target 3x sooner: 1/2 where airbench94 runs at two thirds of the ceiling, 1/3 where it runs at the ceiling
itself. The nearer to 1/3, the more a 3x speedup is a question of the recipe rather than of its execution.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import torch
from torch import nn

from _common import finish, in_fresh_process, machine, require_cifar_jpeg, spread
from _step_cost import image_flops, matmul_peak_gflops, optimizer_step_flops
from cnnlab.builtin import preset_path
from cnnlab.config import RunConfig, TrainConfig, load_config
from cnnlab.data import BatchAugment, BatchIterator, load
from cnnlab.errors import UserError
from cnnlab.evaluation.tta import tta_views
from cnnlab.machine import native_bf16, usable_cores
from cnnlab.models import build
from cnnlab.runs import RunFolder
from cnnlab.train import Compute, evaluate, resolve_compute, train
from cnnlab.train.optim import build_optimizer
from cnnlab.train.selection import proxy_config

AIRBENCH_VERSION = "0.1.8"
# 2 epochs each: 10 steps of airbench's (batch 1,024) and 20 of fast-90's (batch 512). Fewer steps leave airbench's
# lookahead averaging its initial weights into its final ones (6 steps ended at chance, 10.2%).
TINY = {"subset": 5120, "test_subset": 1000, "epochs_scale": 0.2}
GOAL = 3.0  # the speedup cnnlab aims at: how much arithmetic it allows is reported against the machine's ceiling

Curve = list[tuple[float, float]]  # (elapsed seconds, test top-1) at the end of each epoch


def rounded(curve: Curve) -> Curve:
    """A curve to a tenth of a second and a hundredth of a point (the test set's step is 1/10,000)."""
    return [(round(seconds, 1), round(top1, 4)) for seconds, top1 in curve]


# --- the data, decoded once ------------------------------------------------------------------------------------------


def subset_folder(root: Path, dest: Path, train_images: int, test_images: int) -> Path:
    """An ImageFolder in `dest` of symbolic links to the first images of each class of `root`, about `train_images` and
    `test_images` in all with the classes balanced: a small copy of the data to check the script end to end."""
    for split, count in (("train", train_images), ("test", test_images)):
        classes = sorted(path for path in (root / split).iterdir() if path.is_dir())
        per_class = max(1, count // len(classes))
        for folder in classes:
            (dest / split / folder.name).mkdir(parents=True)
            for image in sorted(folder.iterdir())[:per_class]:
                (dest / split / folder.name / image.name).symlink_to(image)
    return dest


def write_airbench_data(source: str, data_root: str | None, dest: Path) -> Path:
    """The images of `source` as cnnlab decodes them (into its cache, which cnnlab's runs then read), written as
    airbench's data files in `dest`: train.pt and test.pt, each {'images': uint8 (N, 32, 32, 3), 'labels': int64,
    'classes': names}, what its CifarLoader makes of torchvision's CIFAR10."""
    dataset = load(source, root=data_root)
    for split, samples in (("train", dataset.train), ("test", dataset.test)):
        tensors = {
            "images": torch.tensor(samples.take()),
            "labels": torch.from_numpy(samples.y.astype(np.int64)),
            "classes": list(dataset.classes),
        }
        torch.save(tensors, dest / f"{split}.pt")
    return dest


# --- airbench94 on the CPU: its CUDA-only parts replaced, nothing else ------------------------------------------------


def import_airbench() -> Any:
    """The airbench package, or exit saying how to install it."""
    try:
        import airbench
    except ImportError:
        raise SystemExit(
            f"the record holder's package is not installed: pip install -e '.[bench]' (airbench=={AIRBENCH_VERSION})"
        ) from None
    from importlib.metadata import version

    if version("airbench") != AIRBENCH_VERSION:
        print(f"note: airbench {version('airbench')} is installed; this benchmark follows {AIRBENCH_VERSION}")
    return airbench


class CpuEvent:
    """torch.cuda.Event's timing on the CPU: `record` notes the time, `elapsed_time` gives milliseconds since."""

    def __init__(self, enable_timing: bool = False, **_: Any) -> None:
        self.seconds = 0.0

    def record(self, stream: Any = None) -> None:
        self.seconds = time.perf_counter()

    def elapsed_time(self, end: CpuEvent) -> float:
        return 1000 * (end.seconds - self.seconds)


def cpu_loader(cifar_loader: type, data: Path) -> type:
    """airbench's CifarLoader reading its files from `data` (it names a folder 'cifar10' in the working directory)
    onto the CPU, with its images in fp32: it keeps them in fp16, the dtype of its GPU net, which stays in fp32 here."""

    class CpuCifarLoader(cifar_loader):  # type: ignore[misc, valid-type]
        def __init__(self, path: str, train: bool = True, **options: Any) -> None:
            super().__init__(str(data), train=train, **{**options, "gpu": "cpu"})
            self.images = self.images.float()

    return CpuCifarLoader


def _unchanged(module: nn.Module, *args: Any, **kwargs: Any) -> nn.Module:
    return module


def autocast_forward(forward: Callable[[torch.Tensor], torch.Tensor], dtype: torch.dtype) -> Callable:
    """`forward` under CPU autocast to `dtype`, its output in fp32 (as a loss computed under autocast would be)."""

    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cpu", dtype=dtype):
            return forward(x).float()

    return run


def cpu_net(make_net: Callable[[], nn.Module], autocast: torch.dtype | None) -> nn.Module:
    """airbench's net as its `make_net` builds it, minus the GPU: `.half()` and `.cuda()` leave it in fp32 on the CPU,
    and with `autocast` its forward runs under CPU autocast (weights in fp32, convolutions in bf16)."""
    with mock.patch.object(nn.Module, "half", _unchanged), mock.patch.object(nn.Module, "cuda", _unchanged):
        net = make_net()
    if autocast is not None:
        net.forward = autocast_forward(net.forward, autocast)  # type: ignore[method-assign]
    return net


@contextmanager
def on_the_cpu(utils: Any, data: Path, on_epoch: Callable[[dict[str, Any], bool], None]) -> Iterator[None]:
    """While airbench trains: CUDA events and synchronisation timed on the CPU, its loaders on the CPU reading `data`,
    and its per-epoch logging call (`print_training_details`, given train()'s local variables) sent to `on_epoch`
    instead of its table."""
    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(torch.cuda, "Event", CpuEvent))
        stack.enter_context(mock.patch.object(torch.cuda, "synchronize", lambda *args, **kwargs: None))
        stack.enter_context(mock.patch.object(utils, "CifarLoader", cpu_loader(utils.CifarLoader, data)))
        stack.enter_context(mock.patch.object(utils, "print_training_details", on_epoch))
        stack.enter_context(mock.patch.object(utils, "print_columns", lambda *args, **kwargs: None))  # its table's head
        yield


class AirbenchCurve:
    """airbench's per-epoch logging call turned into the run's curve: after each epoch but the last, its own evaluate()
    at its final TTA level, timed for that point only; the last point is its final evaluation, inside its clock."""

    def __init__(self, evaluate: Callable[..., float], epochs: float, label: str) -> None:
        self.evaluate = evaluate
        self.epochs = math.ceil(epochs)
        self.label = label
        self.curve: Curve = []

    def __call__(self, variables: dict[str, Any], is_final_entry: bool) -> None:
        epoch, clock, level = variables["epoch"], variables["total_time_seconds"], variables["tta_level"]
        if epoch == "eval":
            self.curve.append((clock, variables["tta_val_acc"]))
            print(f"{self.label}  final:  test top-1 {self.curve[-1][1]:.2%} (TTA level {level})  {clock:8.1f} s")
            return
        plain = variables["val_acc"]
        if epoch + 1 == self.epochs:  # the final evaluation follows, in the clock
            print(f"{self.label}  epoch {epoch + 1:2d}/{self.epochs}  test top-1 without TTA {plain:.2%}", flush=True)
            return
        start = time.perf_counter()
        top1 = self.evaluate(variables["model"], variables["test_loader"], level)
        self.curve.append((clock + time.perf_counter() - start, top1))
        print(
            f"{self.label}  epoch {epoch + 1:2d}/{self.epochs}  test top-1 {top1:.2%} (TTA level {level}; "
            f"{plain:.2%} without)  {self.curve[-1][0]:8.1f} s",
            flush=True,
        )


def run_airbench(data: Path, seed: int, epochs_scale: float, precision: str) -> dict[str, Any]:
    """airbench94 trained once (`train94`, its own recipe; its epochs times `epochs_scale`) on the data files in
    `data`, in `precision` (bf16: autocast; fp32); its final test top-1, its own clock's seconds and its curve."""
    airbench = import_airbench()
    from airbench import lib_airbench94, utils

    torch.set_num_threads(usable_cores())
    torch.manual_seed(seed)
    hyp = lib_airbench94.hyp
    epochs = hyp["opt"]["train_epochs"] * epochs_scale
    autocast = torch.bfloat16 if precision == "bf16" else None
    label = f"airbench94 seed {seed}"
    batch, threads = hyp["opt"]["batch_size"], torch.get_num_threads()
    print(f"{label}: {epochs:g} epochs of batch {batch}, {precision}, {threads} threads", flush=True)
    curve = AirbenchCurve(utils.evaluate, epochs, label)
    with on_the_cpu(utils, data, curve):
        loader = utils.CifarLoader(
            "cifar10", train=True, batch_size=hyp["opt"]["batch_size"], aug=hyp["aug"], altflip=True
        )
        airbench.train94(loader, epochs=epochs, make_net=lambda: cpu_net(lib_airbench94.make_net94, autocast))
    points = rounded(curve.curve)
    return {"seed": seed, "test_top1": points[-1][1], "seconds": points[-1][0], "curve": points}


# --- cnnlab's preset, as it trains ------------------------------------------------------------------------------------


def tta_setting(config: RunConfig) -> str:
    """How a run's final evaluation augments the test images, in words."""
    share = f" on the least confident {config.train.tta_fraction:.0%}" if config.train.tta_fraction < 1 else ""
    return f"TTA level {config.train.tta}{share}"


class CnnlabCurve:
    """An on_epoch hook: after each epoch but the last, that epoch's net, reloaded from the run folder's resume state,
    is evaluated on the test set with the run's final TTA setting, timed for that point only; everything the hook does
    is left out of the run's clock (`clock()`)."""

    def __init__(self, config: RunConfig, folder: Path, label: str) -> None:
        self.config = config
        self.folder = RunFolder(folder)
        self.label = label
        self.started = time.perf_counter()
        self.excluded = 0.0
        self.curve: Curve = []
        self._evaluation: tuple[nn.Module, BatchIterator, Compute] | None = None

    def clock(self) -> float:
        """Seconds since the run started, the hook's own time left out."""
        return time.perf_counter() - self.started - self.excluded

    def __call__(self, row: dict[str, Any]) -> None:
        entered = time.perf_counter()
        elapsed = self.clock()
        epochs = self.config.train.epochs
        if row["epoch"] < epochs:
            model, batches, compute = self._prepared()
            state = self.folder.load_state()
            assert state is not None  # the loop saves it before calling the hooks
            model.load_state_dict(state.model)
            start = time.perf_counter()
            criterion = nn.CrossEntropyLoss(label_smoothing=self.config.train.label_smoothing)
            train = self.config.train
            top1 = evaluate(model, batches, criterion, compute, train.tta, train.tta_fraction)["top1"]
            self.curve.append((elapsed + time.perf_counter() - start, top1))
            print(
                f"{self.label}  epoch {row['epoch']:2d}/{epochs}  test top-1 {top1:.2%} ({tta_setting(self.config)})  "
                f"{self.curve[-1][0]:8.1f} s",
                flush=True,
            )
        self.excluded += time.perf_counter() - entered

    def _prepared(self) -> tuple[nn.Module, BatchIterator, Compute]:
        """A net of the run's architecture and the test batches as the trainer makes them, built once."""
        if self._evaluation is None:
            config = self.config
            compute = resolve_compute(config.train)
            dataset = load(config.data.source, root=config.data.root)
            augment = BatchAugment(config.data.augment, dataset.example_shape[:2])
            batches = BatchIterator(
                dataset.test,
                self.folder.load_preprocess(),
                batch_size=config.train.eval_batch_size,
                augment=augment,
                device=compute.device,
                memory_format=compute.memory_format,
                name="test",
            )
            with torch.random.fork_rng(devices=[]):  # building draws initial weights: leave the run's generator alone
                model = build(
                    config.model.name,
                    dataset.channels,
                    dataset.num_classes,
                    augment.output_size,
                    **config.model.options(),
                )
            self._evaluation = (model.to(compute.device, memory_format=compute.memory_format), batches, compute)
        return self._evaluation


def preset_config(
    preset: str, source: str, data_root: str | None, seed: int, epochs_scale: float, precision: str | None
) -> RunConfig:
    """The preset's config on `source`, for `seed`, its epochs times `epochs_scale` (at least 1)."""
    overrides = [f"data.source={source}", "train.progress=false", f"train.seed={seed}"]
    if data_root:
        overrides.append(f"data.root={data_root}")
    if precision:
        overrides.append(f"train.precision={precision}")
    config = load_config(preset_path(preset), overrides)
    if epochs_scale != 1:
        config.train.epochs = max(1, round(config.train.epochs * epochs_scale))
    return config


def run_cnnlab(config: RunConfig, label: str) -> dict[str, Any]:
    """One run of `config` with cnnlab's trainer: its final test top-1, the seconds of its clock and its curve."""
    print(f"{label}: {config.train.epochs} epochs of batch {config.train.batch_size}, {tta_setting(config)}")
    with tempfile.TemporaryDirectory() as scratch:
        hook = CnnlabCurve(config, Path(scratch) / "run", label)
        result = train(config, hook.folder.path, callbacks=[hook])
        seconds = hook.clock()
    top1 = result.summary["test_top1"]
    print(f"{label}  final:  test top-1 {top1:.2%} ({tta_setting(config)})  {seconds:8.1f} s", flush=True)
    points = rounded([*hook.curve, (seconds, top1)])
    return {
        "seed": config.train.seed,
        "test_top1": points[-1][1],
        "seconds": points[-1][0],
        "curve": points,
        "images_per_second": result.summary["images_per_second"],
        "device": result.summary["device"],
    }


# --- what each recipe computes: a ratio of times is a ratio of arithmetic times a ratio of rates ----------------------


def arithmetic(train_flops: float, eval_flops: float) -> dict[str, float]:
    """A run's arithmetic in FLOP: training, the final evaluation (unrounded: ratios are taken of these)."""
    return {"train_flops": train_flops, "eval_flops": eval_flops}


def airbench_arithmetic(train_images: int, test_images: int, epochs_scale: float) -> dict[str, float]:
    """airbench94's run: its steps of a full batch (its loader drops the last partial one, and it stops after
    ceil(epochs x batches an epoch) steps), forward and backward, then its test images at its TTA level's views.
    Its whitening init, a covariance of patches, is left out. 0.36 PFLOP for the real run, as its README counts."""
    from airbench import lib_airbench94

    opt = lib_airbench94.hyp["opt"]
    forward, both = image_flops(cpu_net(lib_airbench94.make_net94, None), (3, 32, 32))
    epochs = opt["train_epochs"] * epochs_scale  # as run_airbench gives them, and train94 counts its steps
    steps = math.ceil(train_images // opt["batch_size"] * epochs)
    views = tta_views(lib_airbench94.hyp["net"]["tta_level"])
    return arithmetic(steps * opt["batch_size"] * both, test_images * views * forward)


def cnnlab_arithmetic(
    config: RunConfig, train_images: int, test_images: int, channels: int = 3, classes: int = 10
) -> dict[str, float]:
    """A preset's run: every training image each epoch, forward and backward (with `train.selection`: the kept share
    through the net; every image through the proxy's forward, and the proxy's backward every `train_every` steps),
    and each step's optimiser work (Muon's Newton-Schulz products; airbench94's SGD has none to count), then its test
    images at its TTA setting's views on average."""

    def flops_of(model: RunConfig) -> tuple[float, float, float]:  # forward and both an image; an optimiser step
        net = build(model.model.name, channels, classes, size, **model.model.options())
        stepping = optimizer_step_flops(net, lambda counted: build_optimizer(counted, model.optim))
        return (*image_flops(net, (channels, *size)), stepping)

    size = BatchAugment(config.data.augment, (32, 32)).output_size
    forward, both, stepping = flops_of(config)
    images = config.train.epochs * train_images
    steps = config.train.epochs * math.ceil(train_images / config.train.batch_size)  # the last batch partial
    selection = config.train.selection
    if selection is None:
        training = images * both + steps * stepping
    else:
        proxy_forward, proxy_both, proxy_stepping = flops_of(proxy_config(config, selection))
        backward = proxy_both - proxy_forward
        training = images * (selection.keep * both + proxy_forward + backward / selection.train_every)
        training += steps * stepping + math.ceil(steps / selection.train_every) * proxy_stepping
    return arithmetic(training, test_images * tta_views(config.train.tta, config.train.tta_fraction) * forward)


def rates(summary: dict[str, Any], counted: dict[str, float], peak_gflops: float | None = None) -> dict[str, Any]:
    """A tool's summary with its run's arithmetic in PFLOP and the rate it ran at over its clock (GFLOP/s), with the
    machine's ceiling as a fraction of that (`fraction_of_peak`)."""
    flops = total(counted)
    gflops = flops / 1e9 / summary["seconds"]
    return summary | {
        "pflop": round(flops / 1e15, 4),
        "train_pflop": round(counted["train_flops"] / 1e15, 4),
        "eval_pflop": round(counted["eval_flops"] / 1e15, 4),
        "gflops": round(gflops, 1),
        **({"fraction_of_peak": round(gflops / peak_gflops, 3)} if peak_gflops else {}),
    }


def total(counted: dict[str, float]) -> float:
    """A run's arithmetic, training and evaluation, in FLOP."""
    return counted["train_flops"] + counted["eval_flops"]


# --- the comparison ---------------------------------------------------------------------------------------------------


def mean_curve(curves: list[Curve]) -> Curve:
    """The pointwise mean over seeds of curves with the same epochs: (mean seconds, mean top-1) at each epoch end."""
    return [
        (statistics.fmean(seconds for seconds, _ in points), statistics.fmean(top1 for _, top1 in points))
        for points in zip(*curves, strict=True)
    ]


def first_time_reaching(curve: Curve, target: float) -> float | None:
    """The elapsed seconds of the first point of `curve` whose top-1 reaches `target`; None if none does."""
    return next((seconds for seconds, top1 in curve if top1 >= target), None)


def summarise(runs: list[dict[str, Any]], target: float) -> dict[str, Any]:
    """One tool's runs: mean +- std of their accuracies and times, the mean curve and its time to `target`."""
    top1 = [run["test_top1"] for run in runs]
    seconds = [run["seconds"] for run in runs]
    curve = mean_curve([run["curve"] for run in runs])
    reached = first_time_reaching(curve, target)  # on the mean itself: the target is airbench's unrounded mean
    return {
        "test_top1": round(statistics.fmean(top1), 4),
        "test_top1_std": round(spread(top1), 4),
        "seconds": round(statistics.fmean(seconds), 1),
        "seconds_std": round(spread(seconds), 1),
        "time_to_target": None if reached is None else round(reached, 1),
        "curve": rounded(curve),
        "runs": [run | {"time_to_target": first_time_reaching(run["curve"], target)} for run in runs],
    }


def describe(name: str, summary: dict[str, Any], target: float) -> str:
    """One line: accuracy and time over the seeds, and when the mean curve reaches the target."""
    reached = summary["time_to_target"]
    gap = target - summary["test_top1"]
    when = f"reaches {target:.2%} at {reached:,.1f} s" if reached is not None else f"misses it by {gap:.2%}"
    return (
        f"{name}: test top-1 {summary['test_top1']:.2%} +- {summary['test_top1_std']:.2%} in "
        f"{summary['seconds']:,.1f} +- {summary['seconds_std']:,.1f} s; its mean curve {when}"
    )


def resolve_precision(requested: str) -> str:
    """bf16 where the CPU computes it natively, else fp32, unless `requested` names one."""
    if requested != "auto":
        return requested
    return "bf16" if native_bf16(torch.device("cpu")) else "fp32"


def run_seeds(
    presets: list[str], seeds: int, data: Path, source: str, data_root: str | None, epochs_scale: float, precision: str
) -> dict[str, list[dict[str, Any]]]:
    """Each tool's runs (airbench, then each preset by name), seed by seed, each in a fresh process, the order
    reversed from seed to seed. `precision` is given to cnnlab only when it is not its own `auto` choice."""
    runs: dict[str, list[dict[str, Any]]] = {"airbench": []} | {preset: [] for preset in presets}
    forced = None if precision == resolve_precision("auto") else precision
    tools = ["airbench", *presets]
    for seed in range(seeds):
        for tool in tools if seed % 2 == 0 else tools[::-1]:
            if tool == "airbench":
                run = in_fresh_process(run_airbench, data, seed, epochs_scale, precision)
            else:
                config = preset_config(tool, source, data_root, seed, epochs_scale, forced)
                run = in_fresh_process(run_cnnlab, config, f"cnnlab {tool} seed {seed}")
            runs[tool].append(run)
    return runs


def compare(
    runs: dict[str, list[dict[str, Any]]],
    counted: dict[str, dict[str, float]] | None = None,
    peak_gflops: float | None = None,
) -> dict[str, Any]:
    """Print and return the comparison: the target (airbench94's mean final top-1), each tool's summary, and the
    speedup: airbench94's time to the target over that of the preset reaching it soonest (None when none does).
    With each tool's arithmetic (`counted`, by tool), a whole run's time ratio splits in two factors: how much less
    the preset's recipe computes (`arithmetic_ratio`) and how much faster it computes (`rate_ratio`). With the
    machine's ceiling too (`peak_gflops`), each rate as a fraction of it, and the most arithmetic a recipe may
    compute to be GOAL times sooner than airbench94 even at that ceiling."""
    target = mean_curve([run["curve"] for run in runs["airbench"]])[-1][1]
    airbench = summarise(runs["airbench"], target)
    if counted:
        airbench = rates(airbench, counted["airbench"], peak_gflops)
    print(f"target: airbench94's final test top-1, {target:.2%} (mean of {len(runs['airbench'])} seed(s))")
    print(describe("airbench94", airbench, target))
    presets: dict[str, dict[str, Any]] = {}
    for preset in (name for name in runs if name != "airbench"):
        summary = summarise(runs[preset], target)
        reached = summary["time_to_target"]
        summary["speedup"] = None if reached is None else round(airbench["time_to_target"] / reached, 3)
        summary["time_ratio"] = round(airbench["seconds"] / summary["seconds"], 3)
        summary["gap"] = round(target - summary["test_top1"], 4)
        print(describe(f"cnnlab {preset}", summary, target))
        if counted:
            summary = rates(summary, counted[preset], peak_gflops)
            arithmetic_ratio = total(counted["airbench"]) / total(counted[preset])
            summary["arithmetic_ratio"] = round(arithmetic_ratio, 3)
            summary["rate_ratio"] = round(airbench["seconds"] / summary["seconds"] / arithmetic_ratio, 3)
            print(
                f"  its run computes {summary['pflop']:.3f} PFLOP, airbench94's {airbench['pflop']:.3f}: "
                f"{summary['arithmetic_ratio']:.2f}x less arithmetic, at {summary['gflops']:,.0f} GFLOP/s against "
                f"{airbench['gflops']:,.0f}: {summary['rate_ratio']:.2f}x the rate; "
                f"{summary['time_ratio']:.2f}x less time"
            )
        if reached is not None:
            print(f"  speedup {summary['speedup']:.2f}x: airbench94's time to its own accuracy over cnnlab {preset}'s")
        else:
            print(
                f"  no speedup: cnnlab {preset} ends {summary['gap']:.2%} short of airbench94's accuracy "
                f"(its whole run takes {summary['time_ratio']:.2f}x less time than airbench94's)"
            )
        presets[preset] = summary
    reaching = [name for name, summary in presets.items() if summary["speedup"] is not None]
    best = max(reaching, key=lambda name: presets[name]["speedup"], default=None)
    print(
        f"speedup {presets[best]['speedup']:.2f}x with cnnlab {best}"
        if best
        else "no speedup: no preset reaches airbench94's accuracy"
    )
    figures = {
        "target": round(target, 4),
        "speedup": None if best is None else presets[best]["speedup"],
        "reached": best is not None,
        "best_preset": best,
        "airbench": airbench,
        "cnnlab": presets,
    }
    if counted and peak_gflops:
        return figures | ceiling(peak_gflops, airbench, total(counted["airbench"]))
    return figures


def ceiling(peak_gflops: float, airbench: dict[str, Any], airbench_flops: float) -> dict[str, Any]:
    """What the machine's matrix-product ceiling leaves a recipe: to reach the target GOAL times sooner than
    airbench94 while computing at the ceiling, a run computes at most peak x (airbench94's time to the target) / GOAL,
    given as a share of airbench94's whole run's arithmetic (`airbench_flops`)."""
    allowed = peak_gflops * 1e9 * airbench["time_to_target"] / GOAL
    share = allowed / airbench_flops
    print(
        f"ceiling: {peak_gflops:,.0f} GFLOP/s (a large matrix product); airbench94 runs at "
        f"{airbench['fraction_of_peak']:.0%} of it, so a run {GOAL:g}x sooner computes at most {share:.2f}x its "
        f"arithmetic ({allowed / 1e15:.3f} PFLOP) even at the ceiling"
    )
    return {"peak_gflops": round(peak_gflops, 1), "arithmetic_share_for_goal": round(share, 3)}


def machine_ceiling(precision: str) -> float:
    """GFLOP/s of a large matrix product in the runs' dtype on the trainer's threads, the best of a few: the most
    any recipe's convolutions could run at here (see benchmarks/train_throughput.py)."""
    resolve_compute(TrainConfig(device="cpu"))  # sets torch's threads as the trainer does
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    return max(matmul_peak_gflops(dtype) for _ in range(3))


def count_arithmetic(
    presets: list[str], source: str, data_root: str | None, epochs_scale: float
) -> dict[str, dict[str, float]]:
    """Each tool's arithmetic on the data the runs have, by tool: a few seconds in this process, before the runs
    (each in a fresh process of its own), so that anything wrong here shows before hours of training."""
    dataset = load(source, root=data_root)
    train_images, test_images = len(dataset.train), len(dataset.test)
    counted = {"airbench": airbench_arithmetic(train_images, test_images, epochs_scale)}
    for preset in presets:
        config = preset_config(preset, source, data_root, 0, epochs_scale, None)
        counted[preset] = cnnlab_arithmetic(config, train_images, test_images, dataset.channels, dataset.num_classes)
    return counted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--preset", nargs="+", default=["fast-90"], help="cnnlab's presets, each run after airbench (default fast-90)"
    )
    parser.add_argument("--seeds", type=int, default=1, help="runs of each, seeds 0..N-1 (the issue's figure: 3)")
    parser.add_argument("--data", help="CIFAR-10 ImageFolder root (default: ../shared/data/cifar10-jpeg)")
    parser.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto", help="auto: bf16 if native")
    parser.add_argument("--subset", type=int, help="train on about this many images (balanced classes)")
    parser.add_argument("--test-subset", type=int, default=10_000, help="with --subset: test images")
    parser.add_argument("--epochs-scale", type=float, default=1.0, help="both recipes' epochs times this")
    parser.add_argument("--tiny", action="store_true", help="check the script end to end: " + str(TINY))
    args = parser.parse_args()
    if args.tiny:
        args.subset, args.test_subset, args.epochs_scale = TINY["subset"], TINY["test_subset"], TINY["epochs_scale"]
    if len(set(args.preset)) < len(args.preset):
        twice = " ".join(args.preset)
        parser.error(f"--preset names a preset twice ({twice}): give each once, and --seeds for more runs")
    for preset in args.preset:
        try:
            preset_path(preset)
        except UserError as err:
            parser.error(str(err))
    root = require_cifar_jpeg(args.data)
    precision = resolve_precision(args.precision)
    against = ", ".join(args.preset)
    print(f"machine: {machine()}; {precision}; airbench94 against cnnlab {against}, {args.seeds} seed(s)")
    with tempfile.TemporaryDirectory(prefix="vs-airbench-") as scratch_dir:
        scratch = Path(scratch_dir)
        source, data_root = str(root), None
        if args.subset:  # a folder of its own, decoded into a cache of its own
            source = str(subset_folder(root, scratch / "subset", args.subset, args.test_subset))
            data_root = str(scratch / "cache")
        data = write_airbench_data(source, data_root, scratch)
        counted = count_arithmetic(args.preset, source, data_root, args.epochs_scale)  # seconds; fails before hours
        peak = machine_ceiling(precision)
        runs = run_seeds(args.preset, args.seeds, data, source, data_root, args.epochs_scale, precision)
    peak = max(peak, machine_ceiling(precision))  # before and after the runs: a slow spell of the machine hits one
    figures = compare(runs, counted, peak)
    settings = {"presets": args.preset, "seeds": args.seeds, "precision": precision, "epochs_scale": args.epochs_scale}
    subset = {"subset": args.subset, "test_subset": args.test_subset if args.subset else None}
    finish(settings | subset | figures | {"machine": machine()})


if __name__ == "__main__":
    main()
