"""Built-in run configs shipped with the package (`cnnlab train --preset NAME`)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from cnnlab.errors import UserError, did_you_mean


def preset_names() -> list[str]:
    """The built-in presets."""
    return sorted(
        p.name.removesuffix(".yaml") for p in resources.files(__package__).iterdir() if p.name.endswith(".yaml")
    )


def preset_path(name: str) -> Path:
    """The YAML file of preset `name`."""
    if name not in preset_names():
        raise UserError(
            f"unknown preset '{name}'{did_you_mean(name, preset_names())}; presets: {', '.join(preset_names())}"
        )
    return Path(str(resources.files(__package__) / f"{name}.yaml"))
