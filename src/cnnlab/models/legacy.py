"""Weights saved by earlier versions of the course nets, renamed to load into today's.

Before the course nets were written as layer tables, their fully connected layers were numbered apart
from the convs (tme2's fc1, fc2); they are now numbered as the reports' tables number layers (fc4, fc5).
The weights are the same: only the module names moved, in order. A state that differs in anything else
is returned as it is, and fails to load as it would have.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch
from torch import nn


def with_current_names(model: nn.Module, state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """`state` with the modules it names that `model` lacks renamed, in order, to the ones `model` has."""
    own = model.state_dict()
    extra = [key for key in state if key not in own]
    missing = [key for key in own if key not in state]
    if not extra or not missing:
        return dict(state)
    old = sorted({_module(key) for key in extra}, key=_natural)
    new = list(dict.fromkeys(_module(key) for key in missing))  # in the model's own order
    if len(old) != len(new):
        return dict(state)
    names = dict(zip(old, new, strict=True))
    renamed = {f"{names.get(_module(k), _module(k))}.{k.rsplit('.', 1)[-1]}": v for k, v in state.items()}
    fits = set(renamed) == set(own) and all(renamed[k].shape == own[k].shape for k in own)
    return renamed if fits else dict(state)


def _module(key: str) -> str:
    return key.rsplit(".", 1)[0]


def _natural(name: str) -> list:
    """'classifier.fc10' after 'classifier.fc2': numbers compared as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]
