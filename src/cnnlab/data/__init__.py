"""The data layer: sources -> decoded cache -> split -> preprocessing -> batched augmentation -> batches.

dataset = load("cifar10")                  # uint8 (N, H, W, C) images, labels, class names
splits = split(dataset, val_fraction=0.1)  # seeded, stratified; the official test kept apart
prep = fit_preprocess(splits.train, "standardize")   # statistics from train only
batches = BatchIterator(splits.train, prep, batch_size=128, train=True, augment=...)
"""

from .augment import BatchAugment, describe_augment
from .batches import BatchIterator
from .loading import load, load_splits
from .preprocess import Preprocessor, fit_preprocess
from .split import split
from .summary import describe, format_dataset_summary
from .types import Dataset, Samples, Splits

__all__ = [
    "BatchAugment",
    "BatchIterator",
    "Dataset",
    "Preprocessor",
    "Samples",
    "Splits",
    "describe",
    "describe_augment",
    "fit_preprocess",
    "format_dataset_summary",
    "load",
    "load_splits",
    "split",
]
