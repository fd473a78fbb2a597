"""What a source holds, for `cnnlab data`: splits, images a class, image size, channels, cache."""

from __future__ import annotations

from typing import Any

from .types import Dataset


def describe(dataset: Dataset) -> dict[str, Any]:
    """A JSON-ready summary of a loaded dataset."""
    shape = dataset.example_shape
    info: dict[str, Any] = {
        "name": dataset.name,
        "kind": dataset.kind,
        "location": dataset.location,
        "classes": list(dataset.classes),
    }
    if dataset.kind == "images":
        info.update(image_size=[shape[0], shape[1]], channels=shape[2])
    else:
        info.update(features=shape[0])
    info["splits"] = {
        name: {
            "count": len(samples),
            "per_class": dict(zip(dataset.classes, samples.class_counts(dataset.num_classes), strict=True)),
        }
        for name, samples in (("train", dataset.train), ("test", dataset.test))
    }
    info["test_is_official"] = dataset.test_is_official
    info["cache"] = str(dataset.cache_dir) if dataset.cache_dir else None
    info["notes"] = list(dataset.notes)
    return info


def format_dataset_summary(info: dict[str, Any]) -> str:
    """The summary as a short text for a terminal."""
    lines = [f"{info['name']} ({info['kind']}) from {info['location']}"]
    if info["kind"] == "images":
        h, w = info["image_size"]
        lines.append(f"  images: {h}x{w}, {info['channels']} channel{'s' if info['channels'] != 1 else ''}")
    else:
        lines.append(f"  points: {info['features']} features")
    lines.append(f"  classes: {len(info['classes'])}")
    width = max(len(c) for c in info["classes"])
    split_names = list(info["splits"])
    lines.append("  " + " " * width + "".join(f"{s:>9}" for s in split_names))
    for cls in info["classes"]:
        lines.append(
            "  " + cls.ljust(width) + "".join(f"{info['splits'][s]['per_class'][cls]:>9,}" for s in split_names)
        )
    lines.append("  " + "total".ljust(width) + "".join(f"{info['splits'][s]['count']:>9,}" for s in split_names))
    lines.append(
        f"  test split: {'official' if info['test_is_official'] else 'carved from train (seeded, stratified)'}"
    )
    lines.append(f"  decoded cache: {info['cache'] or 'none (embedded data)'}")
    lines.extend(f"  note: {note}" for note in info["notes"])
    return "\n".join(lines)
