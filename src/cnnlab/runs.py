"""The run record: a run folder on disk (config, run facts, per-epoch metrics, resume state, best weights,
summary) and the names of the figures it holds.

Everything that reads runs (the trainer resuming one, the study runner, the report, viz, inference, the
benchmarks) reads them here, below all of them. Every file is written atomically, so an interrupted run
leaves the last finished epoch intact. Weights are safetensors and the resume state is read with
`torch.load(weights_only=True)`, so loading a run never executes code from it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, load_model, save_file, save_model
from torch import nn

from cnnlab.checkpoint import TrainingState
from cnnlab.config import RunConfig, load_config, save_config
from cnnlab.data import Preprocessor
from cnnlab.errors import UserError
from cnnlab.evaluation import macro_average, per_class_metrics
from cnnlab.fileio import atomic_write, atomic_write_json, atomic_write_text

CONFIG = "config.yaml"
INFO = "run.json"
METRICS_FILE = "metrics.jsonl"
SUMMARY = "summary.json"
WEIGHTS = "model.safetensors"
PREPROCESS = "preprocess.safetensors"
STATE = "state.pt"
FINISHED = ("completed", "early_stopped")

SPLITS = ("train", "val", "test")
HELD_OUT = ("val", "test")  # the splits evaluated after training epochs (the model never trains on them)
KINDS = ("loss", "top1", "top5")  # what each split records an epoch; top-k as fractions
METRICS = [f"{split}_{kind}" for split in SPLITS for kind in KINDS]  # metrics.jsonl's and summary.json's names
LAST_METRICS = [f"last_{m}" for m in METRICS]  # the same figures at a run's last epoch, not its best
CLASS_KINDS = ("precision", "recall", "f1")  # per class at the best epoch, on the held-out splits
MACRO_METRICS = [f"{split}_macro_{kind}" for split in HELD_OUT for kind in CLASS_KINDS]  # their means over classes


def metrics_row(epoch: int, lr: float, seconds: float, results: dict[str, dict[str, float]]) -> dict[str, Any]:
    """One line of metrics.jsonl: the epoch, its learning rate and seconds, each split's figures (or None)."""
    row: dict[str, Any] = {"epoch": epoch, "lr": lr, "seconds": round(seconds, 3)}
    for split in SPLITS:
        for kind in KINDS:
            row[f"{split}_{kind}"] = results[split][kind] if split in results else None
    return row


def lower_is_better(metric: str) -> bool:
    """Whether a smaller value of `metric` is the better one: losses (and `last_` losses) are."""
    return metric.endswith("_loss")


def per_class_figures(confusion: dict[str, list[list[int]]], classes: list[str]) -> dict[str, Any]:
    """summary.json's per-class part from the best epoch's confusion counts of each held-out split:
    `{split}_macro_{precision,recall,f1}` and `per_class: {split: {class: {precision, recall, f1, support}}}`."""
    out: dict[str, Any] = {}
    table: dict[str, dict[str, dict[str, float]]] = {}
    for split, counts in confusion.items():
        figures = per_class_metrics(counts)
        names = classes if len(classes) == len(counts) else [str(k) for k in range(len(counts))]
        table[split] = {
            name: {kind: figures[kind][k] for kind in (*CLASS_KINDS, "support")} for k, name in enumerate(names)
        }
        out.update({f"{split}_macro_{kind}": value for kind, value in macro_average(figures).items()})
    if table:
        out["per_class"] = table
    return out


def is_top_k(metric: str) -> bool:
    """Whether `metric` is a top-k accuracy, stored as a fraction (0.7631 for 76.31%)."""
    return metric.endswith(("top1", "top5"))


def last_epoch(history: list[dict[str, Any]]) -> dict[str, Any]:
    """`last_epoch` and the `last_*` figures from a run's metrics.jsonl rows.

    Read from the per-epoch rows rather than the summary, so run folders written before these columns
    existed get them too. The last epoch is the highest-numbered row: an `epoch: 0` row (the model
    evaluated before any training) is the last only when no epoch was trained.
    """
    last = max(history, key=lambda row: row["epoch"], default={})
    return {"last_epoch": last.get("epoch"), **{f"last_{m}": last.get(m) for m in METRICS}}


class RunFolder:
    """Reads and writes the files of one run."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def file(self, name: str) -> Path:
        return self.path / name

    def has_run(self) -> bool:
        """Whether a run was started here (its config is written once data and model are ready)."""
        return self.file(CONFIG).is_file()

    # -- config and facts --------------------------------------------------------------------------
    def write_config(self, config: RunConfig) -> None:
        save_config(config, self.file(CONFIG))

    def read_config(self) -> RunConfig:
        return load_config(self.file(CONFIG))

    def write_info(self, info: dict[str, Any]) -> None:
        atomic_write_json(self.file(INFO), info)

    def read_info(self) -> dict[str, Any]:
        return self._read_json(INFO) or {}

    # -- per-epoch metrics -------------------------------------------------------------------------
    def write_metrics(self, rows: list[dict[str, Any]]) -> None:
        atomic_write_text(self.file(METRICS_FILE), "".join(json.dumps(row) + "\n" for row in rows))

    def read_metrics(self) -> list[dict[str, Any]]:
        path = self.file(METRICS_FILE)
        if not path.is_file():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    # -- weights and state -------------------------------------------------------------------------
    def save_weights(self, model: nn.Module, name: str = WEIGHTS) -> None:
        atomic_write(self.file(name), lambda tmp: save_model(model, str(tmp)))

    def load_weights(self, model: nn.Module, name: str = WEIGHTS) -> nn.Module:
        path = self.file(name)
        if not path.is_file():
            raise UserError(f"'{path}' is missing: this run finished no epoch, so it has no weights yet")
        load_model(model, str(path))
        return model

    def save_preprocess(self, prep: Preprocessor) -> None:
        metadata = {"method": prep.method, "kind": prep.kind}
        tensors = {k: v.contiguous() for k, v in prep.state_dict().items()}
        atomic_write(self.file(PREPROCESS), lambda tmp: save_file(tensors, str(tmp), metadata=metadata))

    def load_preprocess(self) -> Preprocessor:
        from safetensors import safe_open

        path = self.file(PREPROCESS)
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata()
        return Preprocessor.from_state_dict(metadata["method"], metadata["kind"], load_file(str(path)))

    def save_state(self, state: TrainingState) -> None:
        atomic_write(self.file(STATE), lambda tmp: torch.save(state.to_dict(), tmp))

    def load_state(self) -> TrainingState | None:
        """The resume state of the last finished epoch, or None if no epoch finished (or it was deleted)."""
        path = self.file(STATE)
        if not path.is_file():
            return None
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # refused (it names code to run) or damaged
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise UserError(
                f"cannot read the resume state '{path}' ({first}); it was not written by cnnlab or is damaged: "
                "start a new run"
            ) from None
        return TrainingState.from_dict(data, str(path))

    # -- summary -----------------------------------------------------------------------------------
    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write_json(self.file(SUMMARY), summary)

    def read_summary(self) -> dict[str, Any] | None:
        return self._read_json(SUMMARY)

    def status(self) -> str | None:
        """completed, early_stopped, diverged, interrupted; 'started' without a summary; None if no run."""
        summary = self.read_summary()
        if summary is not None:
            return summary.get("status")
        return "started" if self.has_run() else None

    def _read_json(self, name: str) -> dict[str, Any] | None:
        path = self.file(name)
        if not path.is_file():
            return None
        return json.loads(path.read_text())
