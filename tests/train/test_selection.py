"""Training on the hardest examples of each batch as a small proxy net judges them (airbench96's selection)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tests.fakes import stop_at_epoch
from torch import nn

from cnnlab.config import load_config
from cnnlab.config.schema import SelectionConfig
from cnnlab.errors import UserError
from cnnlab.runs import RunFolder
from cnnlab.train import resume, train
from cnnlab.train.device import Compute
from cnnlab.train.distributed import World
from cnnlab.train.selection import ProxySelection, proxy_selection

TINY = [
    "data.source=digits",
    "data.image_size=16",
    "model.name=fastnet",
    "model.widths=[8,16,16]",
    "train.selection={widths: [4,8,8]}",
    "train.batch_size=128",
    "train.epochs=2",
    "train.threads=1",
    "train.precision=fp32",
    "optim.lr=0.05",
]
CPU = Compute(torch.device("cpu"), "fp32", False, 1, False)


class Lookup(nn.Module):
    """A 'proxy' whose logits for image i favour class 0 by x[i, 0, 0, 0]: its loss on label 1 grows with it."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        score = x[:, 0, 0, 0] * self.w
        return torch.stack([score, torch.zeros_like(score)], dim=1)


def _selection(keep: float = 0.5, every: int = 4) -> tuple[ProxySelection, list[int]]:
    proxy = Lookup()
    optimizer = torch.optim.SGD(proxy.parameters(), lr=0.0)
    steps: list[int] = []
    optimizer.register_step_post_hook(lambda *_: steps.append(1))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    criterion = nn.CrossEntropyLoss(reduction="none")
    config = SelectionConfig(keep=keep, train_every=every)
    return ProxySelection(proxy, optimizer, scheduler, criterion, config, CPU), steps


def test_the_examples_with_the_proxys_highest_loss_are_kept_in_batch_order() -> None:
    selection, _ = _selection(keep=0.5)
    scores = torch.tensor([0.3, 2.0, -1.0, 5.0, 0.0, 1.0])
    x = scores.view(-1, 1, 1, 1).expand(-1, 3, 2, 2).clone()
    y = torch.ones(6, dtype=torch.long)  # the loss of label 1 rises with the score
    kept_x, kept_y = selection.select_batch(x, y)
    assert kept_x[:, 0, 0, 0].tolist() == [2.0, 5.0, 1.0]  # the three highest scores, as the batch had them
    assert kept_y.tolist() == [1, 1, 1]
    assert len(_selection(keep=0.25)[0].select_batch(x, y)[0]) == 2  # round(6 x 0.25) = 2 (1.5 rounds to even)


def test_the_proxy_trains_every_few_steps_and_its_schedule_every_step() -> None:
    selection, optimizer_steps = _selection(every=4)
    x, y = torch.randn(8, 3, 2, 2), torch.ones(8, dtype=torch.long)
    for _ in range(9):
        selection.select_batch(x, y)
    assert len(optimizer_steps) == 3  # steps 1, 5 and 9, as the record trains its proxy on every 4th batch
    assert selection.scheduler.last_epoch == 9
    assert selection.state_dict()["steps"] == 9


def test_a_run_with_selection_resumes_as_if_never_stopped(tmp_path: Path) -> None:
    config = load_config(None, TINY)
    assert train(config, tmp_path / "whole").status == "completed"
    assert train(config, tmp_path / "run", callbacks=[stop_at_epoch(1)]).status == "interrupted"
    assert "selection" in RunFolder(tmp_path / "run").load_state().hooks
    assert resume(tmp_path / "run").status == "completed"
    weights = torch.load(tmp_path / "run" / "state.pt", weights_only=True)["model"]
    expected = torch.load(tmp_path / "whole" / "state.pt", weights_only=True)["model"]
    for key, value in weights.items():
        torch.testing.assert_close(value, expected[key])


def test_selection_is_refused_where_it_cannot_work() -> None:
    def no_build(config):
        raise AssertionError("built")

    other = load_config(None, [*TINY, "model.name=tme2"])
    with pytest.raises(UserError, match="train.selection scores each batch with a small fastnet .* model.name=fastnet"):
        proxy_selection(other, CPU, 10, no_build)
    world = World(rank=0, size=2, local_rank=0, local_size=2)
    with pytest.raises(UserError, match="train.selection runs on one process"):
        proxy_selection(load_config(None, TINY), CPU, 10, no_build, world)
    off = load_config(None, [word for word in TINY if not word.startswith("train.selection")])
    assert proxy_selection(off, CPU, 10, no_build) is None
