"""Preprocessing statistics come from the training split alone; each method does what it says."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnlab.data import Dataset, Samples, fit_preprocess, split
from cnnlab.data.preprocess import Preprocessor
from cnnlab.errors import UserError


def _images(n: int, offset: int, seed: int, size: int = 4, channels: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(offset, 20, (n, size, size, channels)), 0, 255).astype(np.uint8)


@pytest.fixture
def splits():
    """Train is mostly dark; test is bright, so statistics fitted on it too would differ."""
    train_x = np.concatenate([_images(200, 60, 0), _images(50, 200, 1)])
    labels = np.array([0, 1] * 125)
    train = Samples(train_x, labels)
    test = Samples(_images(40, 200, 2), np.array([0, 1] * 20))
    dataset = Dataset("toy", "images", ("a", "b"), train, test, "memory")
    return split(dataset, val_fraction=0.2, seed=0)


def test_standardize_uses_train_only(splits) -> None:
    prep = fit_preprocess(splits.train, "standardize")
    train = splits.train.take().astype(np.float64) / 255
    everything = np.concatenate([train, splits.val.take() / 255, splits.test.take() / 255])
    mean, std = train.reshape(-1, 3).mean(0), train.reshape(-1, 3).std(0)
    np.testing.assert_allclose(-prep.shift.numpy() / prep.scale.numpy(), mean, rtol=1e-5)
    np.testing.assert_allclose(1 / prep.scale.numpy(), std, rtol=1e-5)
    assert not np.allclose(mean, everything.reshape(-1, 3).mean(0), atol=1e-3)

    out = prep.apply(torch.from_numpy(splits.train.take()))
    assert out.shape == (len(splits.train), 3, 4, 4) and out.dtype == torch.float32
    np.testing.assert_allclose(out.mean((0, 2, 3)).numpy(), 0, atol=1e-5)
    np.testing.assert_allclose(out.std((0, 2, 3), unbiased=False).numpy(), 1, atol=1e-4)
    test_out = prep.apply(torch.from_numpy(splits.test.take()))
    assert test_out.mean() > 1  # test is brighter than train: it is not re-centred on itself


def test_minmax_maps_the_training_range_to_half_unit(splits) -> None:
    prep = fit_preprocess(splits.train, "minmax")
    out = prep.apply(torch.from_numpy(splits.train.take()))
    np.testing.assert_allclose(out.amin((0, 2, 3)).numpy(), -0.5, atol=1e-6)
    np.testing.assert_allclose(out.amax((0, 2, 3)).numpy(), 0.5, atol=1e-6)


def test_none_scales_to_unit_range(splits) -> None:
    raw = torch.from_numpy(splits.test.take())
    out = fit_preprocess(splits.train, "none").apply(raw)
    torch.testing.assert_close(out, raw.permute(0, 3, 1, 2).float() / 255)


def test_signed_is_torchvisions_normalize_half_half(splits) -> None:
    from torchvision.transforms import Normalize

    raw = torch.from_numpy(splits.test.take())
    out = fit_preprocess(splits.train, "signed").apply(raw)
    expected = Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))(raw.permute(0, 3, 1, 2).float() / 255)
    torch.testing.assert_close(out, expected)
    assert (
        float(fit_preprocess(splits.train, "signed").apply(torch.full((1, 1, 1, 3), 255, dtype=torch.uint8)).min()) == 1
    )


def test_zca_whitens_the_training_covariance_to_identity() -> None:
    rng = np.random.default_rng(0)
    rotation = np.linalg.qr(rng.normal(size=(12, 12)))[0]
    latent = rng.normal(size=(4000, 12)) @ np.diag(np.linspace(1, 3, 12)) @ rotation  # correlated pixels
    x = np.clip(latent * 12 + 128, 0, 255).astype(np.uint8).reshape(4000, 2, 2, 3)
    train = Samples(x, np.zeros(4000, np.int64))
    prep = fit_preprocess(train, "zca", zca_epsilon=1e-6)

    out = prep.apply(torch.from_numpy(x)).permute(0, 2, 3, 1).reshape(4000, 12).double()
    cov = torch.cov(out.T)
    torch.testing.assert_close(cov, torch.eye(12, dtype=torch.float64), atol=2e-3, rtol=0)
    torch.testing.assert_close(prep.whiten, prep.whiten.T)  # ZCA (not PCA) whitening is symmetric
    raw_corr = torch.corrcoef(torch.from_numpy(x.reshape(4000, 12) / 255.0).T)
    assert (raw_corr - torch.eye(12)).abs().max() > 0.3  # there was something to whiten


def test_zca_on_large_images_is_refused_with_advice() -> None:
    train = Samples(np.zeros((2, 80, 80, 3), np.uint8), np.zeros(2, np.int64))
    with pytest.raises(UserError, match="data.image_size"):
        fit_preprocess(train, "zca")


def test_points_are_standardised_per_feature() -> None:
    x = np.random.default_rng(0).normal([5, -3], [2, 0.5], (500, 2)).astype(np.float32)
    prep = fit_preprocess(Samples(x, np.zeros(500, np.int64)), "standardize")
    out = prep.apply(torch.from_numpy(x))
    assert out.shape == (500, 2)
    np.testing.assert_allclose(out.mean(0).numpy(), 0, atol=1e-5)


def test_state_round_trip(splits) -> None:
    for method in ("standardize", "zca"):
        prep = fit_preprocess(splits.train, method)
        again = Preprocessor.from_state_dict(method, "images", prep.state_dict())
        raw = torch.from_numpy(splits.test.take())
        torch.testing.assert_close(again.apply(raw), prep.apply(raw))


def test_unknown_method_and_empty_train() -> None:
    with pytest.raises(UserError, match="unknown preprocessing"):
        fit_preprocess(Samples(np.zeros((1, 2, 2, 1), np.uint8), np.zeros(1, np.int64)), "whiten")
    with pytest.raises(UserError, match="empty"):
        fit_preprocess(Samples(np.zeros((0, 2, 2, 1), np.uint8), np.zeros(0, np.int64)), "none")
