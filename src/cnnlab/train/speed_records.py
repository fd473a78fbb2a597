"""This machine's measured speeds, kept between runs: a time budget probes each net once per boot.

The probe behind `--budget` costs seconds of the budget (3-7 s a width on a 2-core CPU); what it
measures holds while the machine, its software and the net's settings stay the same. So the figures
are kept in `speeds.json` under cnnlab's own data root ($CNNLAB_DATA or ~/.cache/cnnlab), keyed by
the hardware, this boot (a restart, or another host with the same CPU model, probes again: hosts of
one model have differed by 30% here), torch's version, the resolved compute and every setting that
moves the speed. The file only saves time: an unreadable one is ignored and written afresh.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from cnnlab.config import RunConfig
from cnnlab.data.cache import default_root
from cnnlab.fileio import WriteFailed, atomic_write_json
from cnnlab.machine import hardware_description

from .device import Compute

log = logging.getLogger("cnnlab.train")
PROBE_METHOD = 2  # raised when the probe measures differently: records of an older method are not reused

SPEEDS_FILE = "speeds.json"


@dataclass
class Speed:
    """What a probe measured for one net: training and evaluation images a second, and set-up seconds."""

    train_images_per_second: float
    eval_images_per_second: float
    setup_seconds: float


def boot_id() -> str:
    """This boot of this machine (Linux), or '' where the system does not say."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def speed_key(config: RunConfig, compute: Compute) -> str:
    """A short hash of what decides how fast `config` trains here: the machine and the net's settings.

    The epochs, seed and schedule are left out: they change how long a run is, not its speed.
    """
    facts = {
        "hardware": hardware_description(),
        "boot": boot_id(),
        "torch": torch.__version__,
        "compute": compute.describe(),
        "model": config.model.model_dump(mode="json"),
        "optim": config.optim.model_dump(mode="json"),
        "data": config.data.model_dump(mode="json", include={"preprocess", "augment", "image_size", "source"}),
        "batch_size": config.train.batch_size,
        "selection": config.train.selection.model_dump(mode="json") if config.train.selection else None,
        "method": PROBE_METHOD,
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _path() -> Path:
    return default_root() / SPEEDS_FILE


def _read() -> dict[str, Any]:
    try:
        records = json.loads(_path().read_text())
    except (OSError, ValueError):  # absent, unreadable or half-written by an older version: probe again
        return {}
    return records if isinstance(records, dict) else {}


def recall(key: str) -> tuple[Speed, str] | None:
    """The speed recorded under `key` and when it was measured, or None."""
    entry = _read().get(key)
    try:
        return Speed(**{f: float(entry[f]) for f in Speed.__dataclass_fields__}), str(entry["measured"])  # type: ignore[index]
    except (TypeError, KeyError, ValueError):
        return None


def remember(key: str, speed: Speed) -> None:
    """Record `speed` under `key` (best effort: a folder that cannot be written only costs a probe later)."""
    records = _read()
    records[key] = {**asdict(speed), "measured": time.strftime("%Y-%m-%d %H:%M:%S")}
    try:
        atomic_write_json(_path(), records)
    except (OSError, WriteFailed) as err:
        log.debug("speed not recorded in %s: %s", _path(), err)
