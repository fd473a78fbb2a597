"""Training images/s of tme2 on CIFAR-10 (crop + flip, batch 128, SGD), three ways in one run:

cnnlab   - cnnlab's batch iterator and train_one_epoch (decoded cache, tensors in memory)
course   - torchvision ImageFolder + transforms + DataLoader (2 workers) + a plain PyTorch loop
ceiling  - forward + backward + step on one fixed batch: no data at all

  python benchmarks/train_throughput.py [--data ROOT] [--batches 120] [--model tme2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from _common import finish, in_fresh_process, machine, require_cifar_jpeg
from cnnlab.config import AugmentConfig, OptimConfig, ScheduleConfig, TrainConfig
from cnnlab.data import BatchAugment, BatchIterator, fit_preprocess, load
from cnnlab.models import build
from cnnlab.train import FitSettings, build_optimizer, build_scheduler, resolve_compute, train_one_epoch

BATCH = 128


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="CIFAR-10 ImageFolder root (default: ../shared/data/cifar10-jpeg)")
    parser.add_argument("--batches", type=int, default=100, help="batches timed per pipeline and round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; each pipeline's best is kept")
    parser.add_argument("--model", default="tme2")
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
    finish(figures | {"model": args.model})


if __name__ == "__main__":
    main()
