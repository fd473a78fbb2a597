"""Weights saved before the course nets were layer tables (their fcs numbered apart) still load."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from cnnlab.errors import UserError
from cnnlab.models import build
from cnnlab.models.legacy import with_current_names
from cnnlab.runs import RunFolder


def _old_names(state: dict[str, torch.Tensor], renames: dict[str, str]) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in state.items():
        module, leaf = key.rsplit(".", 1)
        out[f"{renames.get(module, module)}.{leaf}"] = value.clone()
    return out


@pytest.mark.parametrize(
    ("name", "renames"),
    [
        ("tme2", {"classifier.fc4": "classifier.fc1", "classifier.fc5": "classifier.fc2"}),
        ("rob313", {"classifier.fc3": "classifier.fc1", "classifier.fc4": "classifier.fc2"}),
        ("tdt4265", {"classifier.fc4": "classifier.fc1", "classifier.fc5": "classifier.fc2"}),
    ],
)
def test_a_run_saved_with_the_old_fc_names_loads_weight_for_weight(tmp_path: Path, name: str, renames: dict) -> None:
    torch.manual_seed(0)
    trained = build(name)
    save_file(_old_names(trained.state_dict(), renames), str(tmp_path / "model.safetensors"))
    fresh = RunFolder(tmp_path).load_weights(build(name))
    for key, value in trained.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value), key


def test_a_state_of_another_net_is_left_as_it_is_and_refused(tmp_path: Path) -> None:
    other = build("tdt4265").state_dict()
    assert with_current_names(build("tme2"), other).keys() == other.keys()  # shapes differ: no renaming
    save_file(other, str(tmp_path / "model.safetensors"))
    with pytest.raises(UserError, match="do not fit the run's model"):
        RunFolder(tmp_path).load_weights(build("tme2"))
