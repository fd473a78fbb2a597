from __future__ import annotations

import pytest

from time_to_accuracy import preset_for


@pytest.mark.parametrize(
    ("target", "preset"),
    [
        (0.80, "fast-80"),
        (0.806, "fast-80"),
        (0.85, "fast-90"),
        (0.905, "fast-91"),
        (0.93, "fast-93"),
        (0.935, "fast-94"),
    ],
)
def test_the_smallest_preset_sized_for_the_target_is_picked(target: float, preset: str) -> None:
    assert preset_for(target) == preset
