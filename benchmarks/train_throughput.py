"""Training images/s of tme2 on CIFAR-10 (crop + flip, batch 128, SGD), three ways in one run, then how near the
fast presets' steps come to the machine's peak.

cnnlab   - cnnlab's batch iterator and train_one_epoch (decoded cache, tensors in memory)
course   - torchvision ImageFolder + transforms + DataLoader (2 workers) + a plain PyTorch loop
ceiling  - forward + backward + step on one fixed batch: no data at all

The machine's peak: the best GFLOP/s of a large matrix product in the training dtype (bf16 on CPUs that compute it
natively, AVX512-BF16 or AMX; fp32 elsewhere), on the threads cnnlab's trainer sets. Each fast preset's step
(fastnet at the preset's widths and batch, its optimiser, augmentation and precision, through train_one_epoch) is
timed and its forward + backward FLOPs counted by torch's FlopCounterMode (convolutions and matrix products; the
optimiser's, such as Muon's Newton-Schulz products, apart): its GFLOP/s as a fraction of the peak, and where its
time goes (torch.profiler, grouped by kind of operator). The headline is fast-90's.

  python benchmarks/train_throughput.py [--data ROOT] [--batches 100] [--model tme2] [--presets fast-80,fast-90]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from _common import finish, in_fresh_process, machine, require_cifar_jpeg
from _step_cost import ScopedBatches, matmul_peak_gflops, profile_step, step_flops
from cnnlab.builtin import preset_path
from cnnlab.config import AugmentConfig, OptimConfig, RunConfig, ScheduleConfig, TrainConfig, load_config
from cnnlab.data import BatchAugment, BatchIterator, Preprocessor, Samples, fit_preprocess, load
from cnnlab.models import build
from cnnlab.train import Compute, FitSettings, build_optimizer, build_scheduler, resolve_compute, train_one_epoch

BATCH = 128
FAST = ("fast-80", "fast-90", "fast-91", "fast-94")
HEADLINE = "fast-90"


def sgd(model: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)


def ceiling(
    model_name: str, batches: int, x: torch.Tensor, y: torch.Tensor, memory_format, autocast: torch.dtype | None
) -> float:
    """Forward + backward + step on one fixed batch (real images: random noise runs about 3% slower here),
    in the memory format and precision cnnlab's trainer chooses, so that the ratio measures the pipeline."""
    model = build(model_name).to(memory_format=memory_format)
    x = x.contiguous(memory_format=memory_format)
    optimizer = sgd(model)
    criterion = nn.CrossEntropyLoss()

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=autocast or torch.bfloat16, enabled=autocast is not None):
            loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()

    for _ in range(5):
        step()
    start = time.perf_counter()
    for _ in range(batches):
        step()
    return batches * BATCH / (time.perf_counter() - start)


def cnnlab_pipeline(model_name: str, root, batches: int) -> float:
    """cnnlab's own iterator and epoch function: 5 warm-up batches, then `batches` timed ones."""
    compute = resolve_compute(TrainConfig(device="cpu"))
    dataset = load(str(root))
    order = np.random.default_rng(0).permutation(len(dataset.train))
    prep = fit_preprocess(dataset.train, "standardize")
    augment = BatchAugment(AugmentConfig(pad=4, flip=True), (32, 32))
    model = build(model_name).to(memory_format=compute.memory_format)  # as the trainer does
    optimizer = build_optimizer(model, OptimConfig(name="sgd", lr=0.01, momentum=0.9))
    scheduler = build_scheduler(optimizer, ScheduleConfig(), 1, batches + 5)
    stats = {}
    for _phase, rows in (("warm-up", order[: 5 * BATCH]), ("timed", order[5 * BATCH : (batches + 5) * BATCH])):
        it = BatchIterator(
            dataset.train.subset(rows),
            prep,
            batch_size=BATCH,
            train=True,
            augment=augment,
            memory_format=compute.memory_format,
        )
        stats = train_one_epoch(
            model, it, optimizer, scheduler, nn.CrossEntropyLoss(), compute, 1, FitSettings(epochs=1)
        )
    return stats["images"] / stats["seconds"]


def course_pipeline(model_name: str, root, batches: int, mean, std) -> float:
    """The usual course code: ImageFolder + transforms + DataLoader(2 workers) + a plain loop."""
    transform = transforms.Compose(
        [
            transforms.RandomCrop(32, padding=4),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(mean, std),
        ]
    )
    loader = DataLoader(
        datasets.ImageFolder(str(root / "train"), transform=transform),
        batch_size=BATCH,
        shuffle=True,
        num_workers=2,
        persistent_workers=True,
    )
    model = build(model_name)
    optimizer = sgd(model)
    criterion = nn.CrossEntropyLoss()
    model.train()
    seen, start = 0, None
    for i, (x, y) in enumerate(loader):
        if i == 5:
            start, seen = time.perf_counter(), 0
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        seen += len(y)
        if i + 1 >= batches + 5:
            break
    assert start is not None
    return seen / (time.perf_counter() - start)


@dataclass
class PresetStep:
    """A fast preset's training step as cnnlab's trainer takes it: its model (whitening conv set from training images,
    in the trainer's memory format), optimiser, schedule, loss and precision, on batches of the real training images
    with the preset's augmentation. Lookahead is left out: it starts after the first steps, which are the ones timed."""

    config: RunConfig
    compute: Compute
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    criterion: nn.Module
    train_set: Samples
    prep: Preprocessor
    order: np.ndarray

    @classmethod
    def build(cls, name: str, train_set: Samples, prep: Preprocessor) -> PresetStep:
        config = load_config(preset_path(name))
        compute = resolve_compute(config.train)
        augment = BatchAugment(config.data.augment, train_set.example_shape[:2])
        model = build(config.model.name, 3, 10, augment.output_size, **config.model.options())
        sample = prep.apply(torch.from_numpy(train_set.take(slice(0, 5000))))
        model.init_from_data(sample)  # as the trainer does for fastnet
        model.set_epoch(1)  # the whitening bias trains in the first epochs: its gradient costs a conv's input gradient
        model = model.to(memory_format=compute.memory_format)
        optimizer = build_optimizer(model, config.optim, compute.precision)
        steps_per_epoch = len(train_set) // config.train.batch_size
        scheduler = build_scheduler(optimizer, config.schedule, config.train.epochs, steps_per_epoch)
        criterion = nn.CrossEntropyLoss(label_smoothing=config.train.label_smoothing)
        order = np.random.default_rng(0).permutation(len(train_set))
        return cls(config, compute, model, optimizer, scheduler, criterion, train_set, prep, order)

    @property
    def batch_size(self) -> int:
        return self.config.train.batch_size

    def batches(self, first: int, count: int) -> BatchIterator:
        """`count` training batches with the preset's augmentation, from the `first`-th batch of a fixed order."""
        rows = self.order[first * self.batch_size : (first + count) * self.batch_size]
        return BatchIterator(
            self.train_set.subset(rows),
            self.prep,
            batch_size=self.batch_size,
            train=True,
            augment=BatchAugment(self.config.data.augment, self.train_set.example_shape[:2]),
            memory_format=self.compute.memory_format,
        )

    def train(self, batches: BatchIterator | ScopedBatches) -> dict[str, float]:
        """The trainer's own epoch function over `batches` (ScopedBatches stands in for the iterator it wraps):
        images and seconds."""
        settings = FitSettings(epochs=self.config.train.epochs)
        parts = (self.optimizer, self.scheduler, self.criterion, self.compute)
        return train_one_epoch(self.model, batches, *parts, 1, settings)  # type: ignore[arg-type]


def preset_cost(step: PresetStep, steps: int, profile_steps: int) -> dict[str, Any]:
    """One preset's step: its FLOPs (forward + backward; the optimiser's apart), images/s and GFLOP/s over `steps`
    steps after a warm-up one, and milliseconds a step by kind of operator over `profile_steps` profiled ones."""
    step.train(step.batches(0, 1))  # oneDNN sets its kernels up on the first step
    warm = next(iter(step.batches(0, 1)))
    flops, optimiser_flops = step_flops(step.model, step.optimizer, step.criterion, warm, step.compute.autocast)
    timed = step.train(step.batches(1, steps))
    images_per_second = timed["images"] / timed["seconds"]
    gflops = flops / step.batch_size * images_per_second / 1e9
    scoped = ScopedBatches(step.batches(1 + steps, profile_steps))
    profile = profile_step(lambda: step.train(scoped), profile_steps)
    return {
        "widths": list(step.config.model.options()["widths"]),
        "batch": step.batch_size,
        "optimiser": step.config.optim.name,
        "precision": step.compute.precision,
        "step_gflop": round(flops / 1e9, 2),
        "optimiser_gflop": round(optimiser_flops / 1e9, 3),
        "images_per_s": round(images_per_second, 1),
        "gflops": round(gflops, 1),
        "profile_percent": profile.shares(),
        "ms_per_step": {kind: round(ms, 1) for kind, ms in profile.milliseconds.items()},
        "fp32_ms_per_step": {kind: round(ms, 1) for kind, ms in profile.fp32_milliseconds.items()},
    }


def peak_and_presets(
    train_set: Samples, prep: Preprocessor, presets: list[str], steps: int, profile_steps: int, rounds: int, size: int
) -> dict[str, Any]:
    """The machine's peak (best of `rounds`) and each preset's step as a fraction of it (each preset's best round),
    rounds interleaved so that a slow spell of the machine hits every figure."""
    compute = resolve_compute(TrainConfig(device="cpu"))  # the trainer's threads and allocator
    dtype = compute.autocast_dtype or torch.float32
    steppers = {name: PresetStep.build(name, train_set, prep) for name in presets}
    peak, best = 0.0, {}
    for r in range(1, rounds + 1):
        rate = matmul_peak_gflops(dtype, size)
        peak = max(peak, rate)
        print(f"round {r}: peak   {size}x{size} matrix product in {dtype}: {rate:7.1f} GFLOP/s", flush=True)
        for name, stepper in steppers.items():
            cost = preset_cost(stepper, steps, profile_steps)
            print(
                f"round {r}: {name:7s} fastnet {cost['widths']}, batch {cost['batch']}: {cost['step_gflop']} GFLOP "
                f"a step (+{cost['optimiser_gflop']} optimiser), {cost['images_per_s']:.0f} images/s, "
                f"{cost['gflops']:.1f} GFLOP/s",
                flush=True,
            )
            if name not in best or cost["gflops"] > best[name]["gflops"]:
                best[name] = cost
    for name, cost in best.items():
        cost["fraction_of_peak"] = round(cost["gflops"] / peak, 3)
        where = ", ".join(f"{kind} {share}%" for kind, share in cost["profile_percent"].items())
        print(f"{name}: {cost['fraction_of_peak']:.1%} of the peak; a step's time: {where}", flush=True)
        if cost["precision"] != "fp32":
            fp32 = ", ".join(f"{kind} {ms:.0f}" for kind, ms in cost["fp32_ms_per_step"].items() if ms >= 0.5)
            print(f"{name}: ms a step in operators on fp32 tensors ({cost['precision']} training): {fp32}", flush=True)
    headline = HEADLINE if HEADLINE in best else presets[0]
    return {
        "peak_gflops": round(peak, 1),
        "peak_dtype": str(dtype).removeprefix("torch."),
        "step_gflops": best[headline]["gflops"],
        "fraction_of_peak": best[headline]["fraction_of_peak"],
        "headline_preset": headline,
        "presets": best,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="CIFAR-10 ImageFolder root (default: ../shared/data/cifar10-jpeg)")
    parser.add_argument("--batches", type=int, default=100, help="batches timed per pipeline and round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; each pipeline's best is kept")
    parser.add_argument("--model", default="tme2")
    parser.add_argument("--presets", default=",".join(FAST), help="fast presets whose step is set against the peak")
    parser.add_argument("--steps", type=int, default=10, help="timed steps of each preset a round")
    parser.add_argument("--profile-steps", type=int, default=3, help="profiled steps of each preset a round")
    parser.add_argument("--peak-size", type=int, default=4096, help="side of the square matrices of the peak")
    args = parser.parse_args()
    root = require_cifar_jpeg(args.data)
    torch.manual_seed(0)
    print(f"machine: {machine()}; model {args.model}, batch {BATCH}, {args.batches} batches a round", flush=True)
    train_set = load(str(root)).train
    prep = fit_preprocess(train_set, "standardize")
    mean, std = (-prep.shift / prep.scale).tolist(), (1 / prep.scale).tolist()
    fixed_x = prep.apply(torch.from_numpy(train_set.take(slice(0, BATCH))))
    fixed_y = torch.from_numpy(train_set.y[:BATCH].copy())
    compute = resolve_compute(TrainConfig(device="cpu"))
    print(f"cnnlab's compute choice here: {compute.describe()}", flush=True)
    plain = (args.model, args.batches, fixed_x, fixed_y, torch.contiguous_format, None)
    pipelines = {
        "plain": lambda: in_fresh_process(ceiling, *plain),
        "ceiling": lambda: ceiling(
            args.model, args.batches, fixed_x, fixed_y, compute.memory_format, compute.autocast_dtype
        ),
        "cnnlab": lambda: cnnlab_pipeline(args.model, root, args.batches),
        "course": lambda: in_fresh_process(course_pipeline, args.model, root, args.batches, mean, std),
    }
    best = dict.fromkeys(pipelines, 0.0)
    for r in range(1, args.rounds + 1):  # interleaved, so that a slow moment of the machine hits them all
        for name, measure in pipelines.items():
            rate = measure()
            best[name] = max(best[name], rate)
            print(f"round {r}: {name:8s} {rate:8.0f} images/s", flush=True)
    figures = {f"{name}_images_per_s": round(rate, 1) for name, rate in best.items()}
    figures["ratio_vs_course"] = round(best["cnnlab"] / best["course"], 3)
    figures["ratio_vs_ceiling"] = round(best["cnnlab"] / best["ceiling"], 3)
    print(
        f"best of {args.rounds}: ceiling {best['ceiling']:.0f} (plain loop {best['plain']:.0f}), "
        f"cnnlab {best['cnnlab']:.0f}, "
        f"course {best['course']:.0f} images/s: cnnlab is {figures['ratio_vs_course']:.2f}x the course pipeline and "
        f"{figures['ratio_vs_ceiling']:.1%} of the compute ceiling",
        flush=True,
    )
    presets = [name.strip() for name in args.presets.split(",") if name.strip()]
    if presets:
        figures |= peak_and_presets(
            train_set, prep, presets, args.steps, args.profile_steps, args.rounds, args.peak_size
        )
    finish(figures | {"model": args.model})


if __name__ == "__main__":
    main()
