"""Datasets that ship with scikit-learn and work offline anywhere: digits, circles, moons."""

from __future__ import annotations

import numpy as np

from cnnlab.data.cache import ArrayStore

from .base import Source


class DigitsSource(Source):
    """scikit-learn's 1,797 real 8x8 handwritten digits (values 0-16, stored as uint8 0-255)."""

    cacheable = False

    def location(self) -> str:
        return "scikit-learn load_digits() (embedded)"

    def decode(self, files: list, store: ArrayStore) -> None:
        from sklearn.datasets import load_digits

        digits = load_digits()
        images = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
        store.put("train_x", images)
        store.put("train_y", digits.target.astype(np.int64))
        store.meta["classes"] = [str(d) for d in range(10)]


class ToyPointsSource(Source):
    """2-D two-class point clouds from scikit-learn's generators (circles, moons)."""

    kind = "points"
    cacheable = False
    SAMPLES = 1000

    def location(self) -> str:
        return f"scikit-learn make_{self.name}(n_samples={self.SAMPLES}, noise=0.1) (generated)"

    def decode(self, files: list, store: ArrayStore) -> None:
        from sklearn.datasets import make_circles, make_moons

        seed = int(self.options.get("seed", 0))
        if self.name == "circles":
            x, y = make_circles(n_samples=self.SAMPLES, noise=0.1, factor=0.5, random_state=seed)
            classes = ["outer", "inner"]
        else:
            x, y = make_moons(n_samples=self.SAMPLES, noise=0.1, random_state=seed)
            classes = ["upper", "lower"]
        store.put("train_x", x.astype(np.float32))
        store.put("train_y", y.astype(np.int64))
        store.meta["classes"] = classes
