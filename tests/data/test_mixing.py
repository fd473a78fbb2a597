"""Mixup, CutMix and random erasing: checked against hand computations, per image, on the whole batch."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from cnnlab.cli import main as cli
from cnnlab.config import AugmentConfig, EraseConfig, MixConfig, load_config
from cnnlab.data import BatchAugment
from cnnlab.data.augment import random_erase_batch
from cnnlab.data.mixing import BatchMix, beta_draws, mix_images, mix_targets, paste_boxes
from cnnlab.errors import UserError
from cnnlab.train import resume, train
from tests.fakes import stop_at_epoch, without_seconds

TINY = ["data.source=digits", "model.widths=[4,8,8]", "model.hidden=16", "train.epochs=1", "train.threads=1"]


def test_mixup_of_two_images_by_hand() -> None:
    a = torch.tensor([[[0.0, 1.0], [2.0, 3.0]]])  # one channel, 2x2
    b = torch.tensor([[[10.0, 20.0], [30.0, 40.0]]])
    x = torch.stack([a, b])
    partner = torch.tensor([1, 0])
    share = torch.tensor([0.3, 0.8])
    mixed = mix_images(x, x[partner], share)
    assert torch.allclose(mixed[0], torch.tensor([[[7.0, 14.3], [21.6, 28.9]]]))  # 0.3 a + 0.7 b
    assert torch.allclose(mixed[1], torch.tensor([[[8.0, 16.2], [24.4, 32.6]]]))  # 0.8 b + 0.2 a
    targets = mix_targets(torch.tensor([2, 0]), torch.tensor([0, 2]), share, num_classes=3)
    assert torch.allclose(targets, torch.tensor([[0.7, 0.0, 0.3], [0.8, 0.0, 0.2]]))


def test_the_loss_of_soft_targets_is_the_mix_of_the_two_losses() -> None:
    logits = torch.randn(4, 5)
    y, other = torch.tensor([0, 1, 2, 3]), torch.tensor([4, 3, 2, 1])
    share = torch.tensor([0.2, 0.5, 0.9, 1.0])
    loss = F.cross_entropy(logits, mix_targets(y, other, share, 5))
    by_hand = (share * F.cross_entropy(logits, y, reduction="none")).mean() + (
        (1 - share) * F.cross_entropy(logits, other, reduction="none")
    ).mean()
    assert torch.allclose(loss, by_hand)


def test_cutmix_pastes_the_box_and_the_share_is_the_pixels_left() -> None:
    x = torch.zeros(2, 3, 4, 4)
    x[1] = 1.0
    out, share = paste_boxes(x, x[torch.tensor([1, 0])], torch.tensor([[1, 1, 3, 3], [0, 0, 0, 0]]))
    assert out[0, :, 1:3, 1:3].eq(1).all() and out[0].sum() == 3 * 4  # a 2x2 box of the partner, every channel
    assert torch.equal(out[1], x[1])  # an empty box changes nothing
    assert share.tolist() == [0.75, 1.0]


@pytest.mark.parametrize(
    ("mixup", "cutmix"),
    [(MixConfig(alpha=0.4), None), (None, MixConfig(alpha=1.0)), (MixConfig(alpha=1.0), MixConfig(alpha=1.0))],
)
def test_each_image_is_its_own_share_of_itself_and_the_rest_from_its_partner(mixup, cutmix) -> None:
    n = 16
    x = torch.randn(n, 3, 8, 8)
    y = torch.arange(n)  # one class an image: the target reveals the partner and the share
    mixed, targets = BatchMix(mixup, cutmix, num_classes=n)(x, y, torch.Generator().manual_seed(0))
    assert torch.allclose(targets.sum(1), torch.ones(n))
    kinds = set()
    for i in range(n):
        own = float(targets[i, i])
        others = [j for j in range(n) if j != i and targets[i, j] > 0]
        if not others:
            assert own == 1.0 and torch.equal(mixed[i], x[i])
            continue
        (j,) = others
        if torch.allclose(mixed[i], own * x[i] + (1 - own) * x[j], atol=1e-5):
            kinds.add("mixup")
        else:  # a pasted box: the changed pixels are the partner's, as many as its share says
            changed = (mixed[i] != x[i]).any(0)
            assert torch.equal(mixed[i][:, changed], x[j][:, changed])
            assert changed.sum() == round((1 - own) * 64)
            kinds.add("cutmix")
    assert kinds == {name for name, on in (("mixup", mixup), ("cutmix", cutmix)) if on}


def test_the_mixing_probability_leaves_the_rest_alone_and_draws_repeat() -> None:
    x, y = torch.randn(400, 1, 4, 4), torch.randint(0, 10, (400,))
    mix = BatchMix(MixConfig(alpha=1.0, prob=0.25), None, num_classes=10)
    _, targets = mix(x, y, torch.Generator().manual_seed(1))
    untouched = (targets.max(1).values == 1).float().mean()
    assert 0.65 < untouched < 0.85  # 75% expected, and an image paired with its own class looks untouched too
    again = mix(x, y, torch.Generator().manual_seed(1))[1]
    assert torch.equal(targets, again)


def test_beta_draws_have_the_beta_s_mean_and_variance() -> None:
    draws = beta_draws(20000, 0.4, torch.Generator().manual_seed(0))
    assert abs(float(draws.mean()) - 0.5) < 0.01
    assert abs(float(draws.var()) - 1 / (4 * (2 * 0.4 + 1))) < 0.01  # alpha beta / ((a+b)^2 (a+b+1))


def test_cutout_erases_a_fixed_square_of_every_channel() -> None:
    x = torch.ones(32, 3, 8, 8)
    out = random_erase_batch(x, torch.Generator().manual_seed(0), prob=1.0, area=(0.25, 0.25), ratio=(1, 1))
    erased = out.eq(0)
    assert erased.all(1).sum((1, 2)).eq(16).all() and torch.equal(erased.any(1), erased.all(1))
    rows = erased[:, 0].any(2).sum(1)
    assert rows.eq(4).all()  # a 4x4 square: a quarter of the image
    noisy = random_erase_batch(x, torch.Generator().manual_seed(0), 1.0, (0.25, 0.25), (1, 1), value="random")
    assert noisy.ne(1).sum() == 32 * 3 * 16
    half = random_erase_batch(x, torch.Generator().manual_seed(0), prob=0.5)
    assert 8 <= int(half.eq(0).flatten(1).any(1).sum()) <= 24


def test_erasing_joins_the_batch_augmentation() -> None:
    augment = BatchAugment(AugmentConfig(erase=EraseConfig(prob=1.0)), (8, 8))
    assert augment.active
    out = augment(torch.ones(4, 3, 8, 8), torch.Generator().manual_seed(0))
    assert out.eq(0).flatten(1).any(1).all()


def test_a_run_with_mixup_and_cutmix_trains_reproducibly_and_counts_top1_on_the_labels(tmp_path: Path) -> None:
    config = load_config(None, [*TINY, "data.augment.mixup=0.4", "data.augment.cutmix=1.0", "train.batch_size=50"])
    first = train(config, tmp_path / "a")
    second = train(config, tmp_path / "b")
    assert first.history[1]["train_loss"] == second.history[1]["train_loss"]
    plain = train(load_config(None, [*TINY, "train.batch_size=50"]), tmp_path / "c")
    assert plain.history[1]["train_loss"] != first.history[1]["train_loss"]
    images = first.folder.read_info()["split_counts"]["train"]
    assert (first.history[1]["train_top1"] * images) == pytest.approx(round(first.history[1]["train_top1"] * images))


@pytest.mark.parametrize("key", ["cutmix", "erase"])
def test_image_augmentation_on_points_is_refused_naming_the_key(tmp_path: Path, key: str) -> None:
    config = load_config(None, ["data.source=circles", "model.name=mlp", f"data.augment.{key}=1.0", "train.epochs=1"])
    with pytest.raises(UserError, match=f"data.augment.{key} needs images.*circles"):
        train(config, tmp_path / "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.augment.mixup=0", "'data.augment.mixup.alpha' = 0 is invalid: alpha must be above 0.*null"),
        ("data.augment.cutmix.alpha=-1", "'data.augment.cutmix.alpha' = -1 is invalid"),
        ("data.augment.erase.area=[0.5,0.2]", "'data.augment.erase.area'.*low <= high"),
    ],
)
def test_bad_mixing_settings_name_the_key(override: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        load_config(None, [override])


def test_a_mixed_run_interrupted_and_resumed_ends_as_one_never_interrupted(tmp_path: Path) -> None:
    config = load_config(None, [*TINY, "train.epochs=2", "data.augment.mixup=0.4", "data.augment.cutmix=1.0"])
    whole = train(config, tmp_path / "whole")
    assert train(config, tmp_path / "run", callbacks=[stop_at_epoch(1)]).status == "interrupted"
    assert without_seconds(resume(tmp_path / "run").history) == without_seconds(whole.history)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["data.source=circles", "model.name=mlp", "data.augment.cutmix=1"], "data.augment.cutmix needs images"),
        (["data.augment.mixup.alpha=0"], "'data.augment.mixup.alpha' = 0 is invalid"),
        (["schedule.name=multistep", "schedule.milestones=[8,4]"], "'schedule.milestones'.*increasing.*\\[4, 8\\]"),
    ],
)
def test_the_command_line_exits_2_naming_the_key(tmp_path: Path, capsys, args: list[str], message: str) -> None:
    assert cli.main(["train", *TINY, *args, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err) and "Traceback" not in err
    assert not (tmp_path / "run").exists()
