"""The run record: a run folder on disk (config, run facts, per-epoch metrics, resume state, best weights,
summary) and the names of the figures it holds.

Everything that reads runs (the trainer resuming one, the study runner, the report, viz, inference, the
benchmarks) reads them here, below all of them. Every file is written atomically, so an interrupted run
leaves the last finished epoch intact. Weights are safetensors and the resume state is read with
`torch.load(weights_only=True)`, so loading a run never executes code from it.
"""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file, save_model
from torch import nn

from cnnlab.checkpoint import TrainingState
from cnnlab.claim import CLAIM
from cnnlab.config import RunConfig, read_yaml, save_config, validate
from cnnlab.config.loading import BadYaml
from cnnlab.data import Preprocessor
from cnnlab.errors import UserError
from cnnlab.evaluation import macro_average, per_class_metrics
from cnnlab.fileio import (
    atomic_write,
    atomic_write_json,
    atomic_write_text,
    first_line,
    read_json,
    write_through_file,
)
from cnnlab.models.legacy import with_current_names

CONFIG = "config.yaml"
INFO = "run.json"
METRICS_FILE = "metrics.jsonl"
SUMMARY = "summary.json"
WEIGHTS = "model.safetensors"
PREPROCESS = "preprocess.safetensors"
STATE = "state.pt"
FINISHED = ("completed", "early_stopped")
STATUSES = (*FINISHED, "diverged", "interrupted")

RETRAIN = "restore it from a copy, or delete the run folder and train the run again"
# what to do about each file of a run found damaged
FIX = {
    CONFIG: RETRAIN,
    INFO: RETRAIN,
    PREPROCESS: RETRAIN,
    METRICS_FILE: RETRAIN,
    SUMMARY: "delete it and resume the run (cnnlab train --out RUN_DIR --resume): it is written again from the "
    "run's history",
    WEIGHTS: RETRAIN,
    STATE: "start a new run",
}

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
        """The run's config; a damaged or invalid config.yaml is a UserError naming it."""
        try:
            data = read_yaml(self.file(CONFIG))
        except BadYaml as err:
            raise self.damaged(CONFIG, err.reason.removeprefix("is ")) from None
        try:
            return validate(data)
        except UserError as err:
            raise UserError(f"'{self.file(CONFIG)}' is not a config cnnlab can use ({err}): {FIX[CONFIG]}") from None

    def write_info(self, info: dict[str, Any]) -> None:
        atomic_write_json(self.file(INFO), info)

    def read_info(self) -> dict[str, Any]:
        return self._read_json(INFO) or {}

    # -- per-epoch metrics -------------------------------------------------------------------------
    def write_metrics(self, rows: list[dict[str, Any]]) -> None:
        atomic_write_text(self.file(METRICS_FILE), "".join(json.dumps(row) + "\n" for row in rows))

    def read_metrics(self) -> list[dict[str, Any]]:
        """The rows of metrics.jsonl, one an epoch; a line that is not such a row is a UserError naming it."""
        path = self.file(METRICS_FILE)
        if not path.is_file():
            return []
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            raise self.damaged(METRICS_FILE, "not text") from None
        rows = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                raise self.damaged(METRICS_FILE, f"line {number} is not JSON") from None
            if not isinstance(row, dict) or type(row.get("epoch")) is not int:
                raise self.damaged(METRICS_FILE, f"line {number} is not an epoch's row")
            rows.append(row)
        return rows

    # -- weights and state -------------------------------------------------------------------------
    def save_weights(self, model: nn.Module, name: str = WEIGHTS) -> None:
        atomic_write(self.file(name), lambda tmp: save_model(model, str(tmp)))

    def load_weights(self, model: nn.Module, name: str = WEIGHTS) -> nn.Module:
        path = self.file(name)
        if not path.is_file():
            raise UserError(f"'{path}' is missing: this run finished no epoch, so it has no weights yet")
        try:
            model.load_state_dict(with_current_names(model, load_file(str(path))))
        except (SafetensorError, OSError) as err:
            raise self.damaged(name, first_line(err)) from None
        except RuntimeError as err:  # tensors of another model
            raise self.damaged(name, f"its weights do not fit the run's model: {first_line(err)}") from None
        return model

    def save_preprocess(self, prep: Preprocessor) -> None:
        metadata = {"method": prep.method, "kind": prep.kind}
        tensors = {k: v.contiguous() for k, v in prep.state_dict().items()}
        atomic_write(self.file(PREPROCESS), lambda tmp: save_file(tensors, str(tmp), metadata=metadata))

    def load_preprocess(self) -> Preprocessor:
        """The run's fitted preprocessing; a missing or damaged preprocess.safetensors is a UserError naming it."""
        path = self.file(PREPROCESS)
        if not path.is_file():
            raise self.damaged(PREPROCESS, "missing")
        try:
            with safe_open(str(path), framework="pt") as f:
                metadata = f.metadata() or {}
            return Preprocessor.from_state_dict(metadata["method"], metadata["kind"], load_file(str(path)))
        except (SafetensorError, OSError, KeyError, TypeError, ValueError, RuntimeError, UserError) as err:
            raise self.damaged(PREPROCESS, first_line(err)) from None

    def check_weights(self, name: str = WEIGHTS) -> None:
        """A UserError naming the weights file when it is there but not a safetensors file (it is read later)."""
        path = self.file(name)
        if path.is_file():
            try:
                with safe_open(str(path), framework="pt") as f:
                    f.keys()
            except (SafetensorError, OSError) as err:
                raise self.damaged(name, first_line(err)) from None

    def save_state(self, state: TrainingState) -> None:
        data = state.to_dict()
        atomic_write(self.file(STATE), lambda tmp: write_through_file(tmp, lambda f: torch.save(data, f)))

    def load_state(self) -> TrainingState | None:
        """The resume state of the last finished epoch, or None if no epoch finished (or it was deleted)."""
        path = self.file(STATE)
        if not path.is_file():
            return None
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError:  # torch's advice to load it unsafely is not repeated: it must not be taken
            raise self.damaged(
                STATE, "a safe load refused it: it holds more than tensors and numbers, so cnnlab did not write it"
            ) from None
        except Exception as err:  # damaged: cut short, not a torch file, ...
            raise self.damaged(STATE, first_line(err)) from None
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
            status = summary.get("status")
            if status not in STATUSES:
                raise self.damaged(SUMMARY, f"its status is {status!r}, not one of {', '.join(STATUSES)}")
            return status
        return "started" if self.has_run() else None

    # -- consistency, damage and reruns -------------------------------------------------------------
    def check_resumable(self, state: TrainingState) -> None:
        """The files a resume after `state.epoch` relies on are there and agree with it, else a UserError naming
        the one that does not: run.json and preprocess.safetensors (read again by predict and viz), the best
        weights, metrics.jsonl (epochs 1 to `state.epoch`, after an optional epoch 0, and perhaps the next one,
        written just before a kill) and summary.json (which may lag behind the state, never run ahead of it)."""
        if not self.read_info():
            raise self.damaged(INFO, "missing or empty")
        self.load_preprocess()
        self.check_weights()
        done, best = state.epoch, state.progress.best_epoch
        if best is not None and not self.file(WEIGHTS).is_file():
            raise self.damaged(WEIGHTS, f"missing: the weights of the best epoch so far, {best}")
        if best is not None and not 1 <= best <= done:
            raise self.damaged(STATE, f"its best epoch {best} is not one of the {done} epochs it finished")
        epochs = [row["epoch"] for row in self.read_metrics()]
        expected = ([0] if epochs[:1] == [0] else []) + list(range(1, done + 1))
        if epochs not in (expected, [*expected, done + 1]):
            raise self.damaged(
                METRICS_FILE,
                f"it holds epochs {_epoch_list(epochs)} where the resume state ({STATE}) finished epochs 1 to {done}",
            )
        summary = self.read_summary() or {}
        for key in ("epochs_run", "best_epoch"):
            if isinstance(summary.get(key), int) and summary[key] > done:
                raise self.damaged(SUMMARY, f"its {key} is {summary[key]}, beyond the resume state's {done} ({STATE})")

    # -- damage and reruns ---------------------------------------------------------------------------
    def damaged(self, name: str, what: str) -> UserError:
        """The error for a run file that cannot be used: names the file, what is wrong, and the fix."""
        return UserError(f"'{self.file(name)}' is damaged ({what}): {FIX[name]}")

    def clear(self) -> None:
        """Delete the run's files, to train it again from the start; the caller holds the folder's claim."""
        for path in self.path.iterdir() if self.path.is_dir() else []:
            if path.name == CLAIM:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()

    def _read_json(self, name: str) -> dict[str, Any] | None:
        return read_json(self.file(name), FIX[name])


def _epoch_list(epochs: list[int]) -> str:
    """[0, 1, 2, 3, 6, 7] -> '0-3, 6-7': a list of epochs as its runs of consecutive numbers."""
    if not epochs:
        return "none"
    spans, start, end = [], epochs[0], epochs[0]
    for epoch in epochs[1:]:
        if epoch == end + 1:
            end = epoch
        else:
            spans.append((start, end))
            start = end = epoch
    spans.append((start, end))
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)
