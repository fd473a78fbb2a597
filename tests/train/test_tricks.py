"""The speed recipe's switches each change what they should: TTA views, alternating flips,
lookahead averaging, evaluation every N epochs, the per-epoch model hook."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tests.fakes import stop_at_epoch, without_seconds
from torch import nn

from cnnlab.config import AugmentConfig, LookaheadConfig, load_config
from cnnlab.data import BatchAugment, BatchIterator, Samples, fit_preprocess
from cnnlab.evaluation import tta_logits, tta_views
from cnnlab.runs import RunFolder
from cnnlab.train import resume, train
from cnnlab.train.averaging import Lookahead


class Counting(nn.Module):
    """Logits = mean of the left half of the image minus the right half; counts its calls."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        w = x.shape[-1]
        left, right = x[..., : w // 2].mean((1, 2, 3)), x[..., w // 2 :].mean((1, 2, 3))
        return torch.stack([left - right, right - left], 1)


def test_tta_levels_average_the_right_views() -> None:
    x = torch.randn(4, 3, 8, 8)
    for level in (0, 1, 2):
        model = Counting()
        tta_logits(model, x, level)
        assert model.calls == tta_views(level)
    model = Counting()
    assert torch.equal(tta_logits(model, x, 0), model(x))
    # the mirror swaps left and right, so mirror-averaging cancels this model's logits exactly
    assert torch.allclose(tta_logits(Counting(), x, 1), torch.zeros(4, 2), atol=1e-6)


class CountingImages(nn.Module):
    """A small fixed conv net that counts the images it is shown."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
        self.images = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.images += len(x)
        return self.net(x)


@torch.no_grad()
def test_selective_tta_gives_the_views_to_the_least_confident_images_only() -> None:
    x = torch.randn(20, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    model = CountingImages()
    plain, full = model(x), tta_logits(model, x, 2)
    unsure = set(plain.softmax(1).amax(1).argsort()[:4].tolist())  # the 0.2 * 20 least confident
    model.images = 0
    mixed = tta_logits(model, x, 2, fraction=0.2)
    assert model.images == 20 + 4 * 5 == tta_views(2, 0.2) * 20
    for i in range(20):
        assert torch.allclose(mixed[i], full[i] if i in unsure else plain[i], atol=1e-6), i
    assert torch.allclose(tta_logits(model, x, 2, fraction=1.0), full, atol=1e-6)


def test_alternating_flip_shows_each_image_both_ways_in_consecutive_epochs() -> None:
    x = np.zeros((64, 4, 4, 1), np.uint8)
    x[:, :, 0, 0] = 255  # a bright left column: a flip moves it to the right
    samples = Samples(x, np.zeros(64, np.int64))
    augment = BatchAugment(AugmentConfig(flip=True, flip_mode="alternate"), (4, 4))
    it = BatchIterator(
        samples, fit_preprocess(samples, "none"), batch_size=64, shuffle=False, train=True, augment=augment, seed=3
    )
    flipped = [(next(iter(it))[0][:, 0, 0, 3] > 0.5) for _ in range(3)]
    assert torch.equal(flipped[0], ~flipped[1]) and torch.equal(flipped[0], flipped[2])
    assert 20 < int(flipped[0].sum()) < 44  # a random half, fixed by the seed
    random_it = BatchIterator(
        samples,
        fit_preprocess(samples, "none"),
        batch_size=64,
        shuffle=False,
        train=True,
        augment=BatchAugment(AugmentConfig(flip=True), (4, 4)),
        seed=3,
    )
    a, b = (next(iter(random_it))[0][:, 0, 0, 3] > 0.5 for _ in range(2))
    assert not torch.equal(a, ~b)  # random flips are not complementary


def test_lookahead_pulls_weights_to_the_slow_copy() -> None:
    model = nn.Linear(2, 1, bias=False)
    ahead = Lookahead(model, LookaheadConfig(decay=0.5, every=1, start=0, power=0), total_steps=10, steps_per_epoch=5)
    with torch.no_grad():
        model.weight.fill_(1.0)
    ahead.step(1)  # first averaging step: the slow copy starts at the weights
    with torch.no_grad():
        model.weight.fill_(3.0)
    ahead.step(2)  # rho = 0.5: slow = 1 + (3 - 1) * 0.5 = 2, weights reset to it
    assert torch.allclose(model.weight, torch.full((1, 2), 2.0))
    off = Lookahead(model, LookaheadConfig(decay=0.0), total_steps=10, steps_per_epoch=5)
    assert not off.enabled


TINY = ["data.source=digits", "model.widths=[8,8,8]", "model.hidden=16", "train.threads=1", "train.epochs=4"]


def test_eval_every_skips_evaluations_but_never_the_last(tmp_path: Path) -> None:
    result = train(load_config(None, [*TINY, "train.eval_every=3"]), tmp_path / "run")
    evaluated = [row["epoch"] for row in result.history if row["val_loss"] is not None]
    assert evaluated == [0, 3, 4] and result.history[1]["train_loss"] is not None  # 0: the initial weights
    assert result.best_epoch in (3, 4)


def test_lookahead_and_tta_runs_resume_exactly(tmp_path: Path) -> None:
    extra = [
        *TINY,
        "train.lookahead.decay=0.9",
        "train.lookahead.start=1",
        "train.tta=2",
        "data.augment.flip=true",
        "data.augment.flip_mode=alternate",
    ]

    train(load_config(None, extra), tmp_path / "stopped", callbacks=[stop_at_epoch(2)])
    resumed = resume(tmp_path / "stopped")
    whole = train(load_config(None, extra), tmp_path / "whole")
    assert resumed.status == "completed" and without_seconds(resumed.history) == without_seconds(whole.history)
    assert RunFolder(tmp_path / "whole").load_state().hooks["lookahead"]  # the slow copy is saved for resume


def test_models_may_react_to_the_epoch(tmp_path: Path, monkeypatch) -> None:
    seen: list[int] = []
    from cnnlab.models.blocks import ConvClassifier

    monkeypatch.setattr(ConvClassifier, "set_epoch", lambda self, epoch: seen.append(epoch), raising=False)
    train(load_config(None, [*TINY, "train.epochs=3"]), tmp_path / "run")
    assert seen == [1, 2, 3]
