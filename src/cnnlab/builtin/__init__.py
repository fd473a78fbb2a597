"""The YAML files cnnlab ships, and the one loader for them: presets (run configs, `cnnlab train --preset
NAME`) in builtin/presets/ and studies (`cnnlab study NAME`) in builtin/studies/."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from cnnlab.errors import UserError, did_you_mean

# earlier names of built-in studies, kept working: each now reproduces the report that ran it
STUDY_ALIASES = {"course-improvements": "rdfia-homework", "epochs": "rob313", "weight-decay": "rob313-vgg"}


def names(folder: str) -> list[str]:
    """The built-in files of `folder` ('presets' or 'studies'), by name (without .yaml), sorted."""
    files = (resources.files(__package__) / folder).iterdir()
    return sorted(p.name.removesuffix(".yaml") for p in files if p.name.endswith(".yaml"))


def path(folder: str, name: str, unknown: str, aliases: dict[str, str] | None = None) -> Path:
    """The YAML file of built-in `name` in `folder` (an alias gives the file it now stands for); an unknown
    name is a UserError: `unknown` (formatted with name, suggestion and choices) says what it is not."""
    name = (aliases or {}).get(name, name)
    known = names(folder)
    if name not in known:
        suggestion = did_you_mean(name, [*known, *(aliases or {})])
        raise UserError(unknown.format(name=name, suggestion=suggestion, choices=", ".join(known)))
    return Path(str(resources.files(__package__) / folder / f"{name}.yaml"))


def preset_names() -> list[str]:
    """The built-in presets."""
    return names("presets")


def preset_path(name: str) -> Path:
    """The YAML file of preset `name`."""
    return path("presets", name, "unknown preset '{name}'{suggestion}; presets: {choices}")


def study_names() -> list[str]:
    """The built-in studies."""
    return names("studies")


def study_path(name: str) -> Path:
    """The YAML file of built-in study `name` (or of the one an earlier name of it now stands for)."""
    unknown = "'{name}' is neither a study file nor a built-in study{suggestion}; built-in studies: {choices}"
    return path("studies", name, unknown, STUDY_ALIASES)
