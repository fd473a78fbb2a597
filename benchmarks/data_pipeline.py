"""The data side alone: cnnlab's augmented batch stream against the usual course pipeline.

Both produce CIFAR-10 training batches of 128 with random crop (padding 4) + horizontal flip +
standardisation; no model runs. cnnlab starts from its decoded cache; the course pipeline is
torchvision ImageFolder + transforms + DataLoader with 0 and 2 workers, decoding JPEGs as it goes.

    python benchmarks/data_pipeline.py [--data ROOT] [--batches 300]
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from _common import finish, images_per_second, machine, require_cifar_jpeg
from cnnlab.config import AugmentConfig, TrainConfig
from cnnlab.data import BatchAugment, BatchIterator, fit_preprocess, load
from cnnlab.train import resolve_compute


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="CIFAR-10 ImageFolder root (default: ../shared/data/cifar10-jpeg)")
    parser.add_argument("--batches", type=int, default=300, help="batches timed per pipeline")
    args = parser.parse_args()
    root = require_cifar_jpeg(args.data)
    print(f"machine: {machine()}", flush=True)

    start = time.perf_counter()
    dataset = load(str(root))
    print(f"cnnlab: loaded {len(dataset.train):,} training images in {time.perf_counter() - start:.2f} s", flush=True)
    start = time.perf_counter()
    prep = fit_preprocess(dataset.train, "standardize")
    augment = BatchAugment(AugmentConfig(pad=4, flip=True), (32, 32))
    memory_format = resolve_compute(TrainConfig(device="cpu")).memory_format  # what the trainer would use
    stream = BatchIterator(
        dataset.train, prep, batch_size=128, train=True, augment=augment, memory_format=memory_format
    )
    print(f"cnnlab: fit + normalise on the device in {time.perf_counter() - start:.2f} s", flush=True)

    def endless(it: BatchIterator):
        while True:
            yield from it

    ours = images_per_second(endless(stream), lambda b: len(b[0]), args.batches)
    print(f"cnnlab batch stream:            {ours:10,.0f} images/s", flush=True)

    mean = (-prep.shift / prep.scale).tolist()
    std = (1 / prep.scale).tolist()
    transform = transforms.Compose(
        [
            transforms.RandomCrop(32, padding=4),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(mean, std),
        ]
    )
    folder = datasets.ImageFolder(str(root / "train"), transform=transform)
    course = {}
    for workers in (0, 2):
        loader = DataLoader(folder, batch_size=128, shuffle=True, num_workers=workers, persistent_workers=workers > 0)
        course[workers] = images_per_second(loader, lambda b: len(b[0]), min(args.batches, 150))
        print(f"course pipeline, {workers} workers:     {course[workers]:10,.0f} images/s", flush=True)

    best = max(course.values())
    print(f"ratio against the faster course variant: {ours / best:.1f}x", flush=True)
    finish(
        {
            "cnnlab_images_per_s": round(ours),
            "course_images_per_s": round(best),
            "course_0_workers_images_per_s": round(course[0]),
            "course_2_workers_images_per_s": round(course[2]),
            "ratio": round(ours / best, 1),
        }
    )


if __name__ == "__main__":
    torch.manual_seed(0)
    main()
