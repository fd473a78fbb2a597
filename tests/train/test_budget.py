"""Training to a time budget: durations, the probe's choice, the too-short budget, the run and its record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from cnnlab.cli.main import main
from cnnlab.errors import UserError
from cnnlab.train import budget, run, speed_records
from cnnlab.train.budget import Candidate, Speed, parse_budget, plan_budget, predicted_seconds, train_to_budget

DIGITS = ["data.source=digits", "data.image_size=32", "train.threads=1"]
SMALL = [  # two widths of the family, tiny and cheap
    Candidate("fast-80", (8, 16, 16), 1, 64, 0.60),
    Candidate("fast-80", (8, 16, 16), 3, 64, 0.70),
    Candidate("fast-90", (16, 32, 32), 2, 64, 0.75),
]


@pytest.fixture
def small_family(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "candidates", lambda family="fast": list(SMALL))


@pytest.mark.parametrize(
    ("text", "seconds"), [("10m", 600), ("90s", 90), ("90", 90), ("1h30m", 5400), ("2.5m", 150), (" 1h ", 3600)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_budget(text) == seconds


@pytest.mark.parametrize("text", ["", "ten minutes", "5x", "0m", "m"])
def test_a_bad_duration_says_how_to_write_one(text: str) -> None:
    with pytest.raises(UserError, match=r"--budget .*(10m, 90s|positive duration)"):
        parse_budget(text)


def test_the_prediction_adds_set_up_training_and_the_evaluation_views() -> None:
    speed = Speed(train_images_per_second=1000.0, eval_images_per_second=4000.0, setup_seconds=5.0)
    candidate = Candidate("fast-90", (40, 160, 160), 8, 512, 0.897)
    # 5 s set-up + 8 x 50,000 / 1,000 + 10,000 x 3 views / 4,000
    assert predicted_seconds(candidate, speed, 50_000, 10_000, 3.0) == pytest.approx(5 + 400 + 7.5)


def test_every_candidate_of_the_fast_family_is_its_preset_at_its_size() -> None:
    family = budget.candidates("fast")
    for candidate in family:
        config = candidate.config([])
        assert tuple(config.model.options()["widths"]) == candidate.widths
        assert (config.train.epochs, config.train.batch_size) == (candidate.epochs, candidate.batch_size)
        assert 0.1 < candidate.top1 < 1
    largest = family[-1]  # the costliest last: fast-93's recipe, its selection and skips with it
    assert largest.preset == "fast-93" and largest.config([]).train.selection is not None


def test_the_best_candidate_that_fits_is_chosen(small_family, monkeypatch: pytest.MonkeyPatch) -> None:
    speeds = {(8, 16, 16): Speed(200.0, 2000.0, 1.0), (16, 32, 32): Speed(50.0, 500.0, 1.0)}
    monkeypatch.setattr(budget, "probe", lambda config, splits: speeds[tuple(config.model.options()["widths"])])
    # 1,438 digits: the narrow net's epoch takes 7.2 s, the wide one's 28.8 s (+ 1 s set-up, + evaluation)
    plan = plan_budget(30, DIGITS)
    assert plan.chosen == SMALL[1]  # 3 narrow epochs (~24 s) fit 0.96 x 30 s; 2 wide ones (~60 s) do not
    assert [p["fits"] for p in plan.predictions] == [True, True, False]
    assert plan_budget(120, DIGITS).chosen == SMALL[2]  # more time: the wider net, best where measured
    with pytest.raises(UserError, match=r"too short for the smallest net here: 8/16/16 x 1 epochs .* --budget 1m"):
        plan_budget(3, DIGITS)


def test_a_wider_net_is_not_probed_when_it_could_not_fit_at_a_narrower_ones_speed(
    small_family, monkeypatch: pytest.MonkeyPatch
) -> None:
    speeds = {(8, 16, 16): Speed(200.0, 2000.0, 1.0), (16, 32, 32): Speed(40.0, 400.0, 1.0)}
    probed = []
    monkeypatch.setattr(
        budget, "probe", lambda config, splits: probed.append(w := tuple(config.model.options()["widths"])) or speeds[w]
    )
    monkeypatch.setattr(
        budget, "candidates", lambda family="fast": [*SMALL, Candidate("fast-90", (32, 64, 64), 1, 64, 0.8)]
    )
    # 1,438 digits at 40 images/s (the 16-wide net's speed, which the 32-wide one cannot beat): 36 s > 0.96 x 30 s,
    # though at the 8-wide net's 200 images/s the 32-wide one's epoch would seem to fit (7.2 s)
    plan = plan_budget(30, DIGITS)
    assert probed == [(8, 16, 16), (16, 32, 32)] and plan.predictions[-1]["fits"] is False


def test_each_setting_of_a_net_is_probed_and_predicts_its_own_candidates(
    small_family, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same net at another batch or with another preset's recipe trains at its own speed."""
    probed = []

    def fake_probe(config, splits):
        probed.append((tuple(config.model.options()["widths"]), config.train.batch_size))
        return Speed(100.0 if config.train.batch_size == 64 else 400.0, 2000.0, 1.0)

    monkeypatch.setattr(budget, "probe", fake_probe)
    at_128 = Candidate("fast-80", (8, 16, 16), 3, 128, 0.72)
    monkeypatch.setattr(budget, "candidates", lambda family="fast": [*SMALL, at_128])
    plan = plan_budget(120, DIGITS)
    assert probed == [((8, 16, 16), 64), ((8, 16, 16), 128), ((16, 32, 32), 64)]
    predicted = {(p["widths"], p["batch_size"], p["epochs"]): p["predicted_seconds"] for p in plan.predictions}
    # the same set-up and evaluation: they differ by 3 epochs of 1,438 digits at 100 images/s against 400
    difference = predicted[((8, 16, 16), 64, 3)] - predicted[((8, 16, 16), 128, 3)]
    assert difference == pytest.approx(3 * 1438 * (1 / 100 - 1 / 400), abs=0.15)


def test_the_probe_of_a_net_with_a_selection_counts_the_images_drawn(monkeypatch: pytest.MonkeyPatch) -> None:
    """The net trains on the kept share of each batch; an epoch draws every image, so the drawn ones set its time.
    The timed steps train the proxy as often as the run does (every 4th step), not once in 6 (fast-93's run: 1.5)."""
    from cnnlab.builtin import preset_path
    from cnnlab.config import load_config
    from cnnlab.data import load_splits
    from cnnlab.train.selection import ProxySelection

    scored, proxy_trained, epochs = [], [], []
    real_select, real_epoch = ProxySelection.select_batch, budget.train_one_epoch

    def select(self: ProxySelection, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scored.append(len(x))
        proxy_trained.append(self.steps % self.config.train_every == 0)
        return real_select(self, x, y)

    monkeypatch.setattr(ProxySelection, "select_batch", select)
    monkeypatch.setattr(budget, "train_one_epoch", lambda *a, **k: epochs.append(real_epoch(*a, **k)) or epochs[-1])
    overrides = ["model.widths=[8,16,16]", "train.batch_size=32", "train.selection={keep: 0.25, widths: [4,8,8]}"]
    config = load_config(preset_path("fast-93"), [*DIGITS, *overrides])
    speed = budget.probe(config, load_splits(config.data))
    steps = budget.timed_steps(config)
    assert steps == 8  # PROBE_STEPS (6) made two whole cycles of the proxy's training every 4th step
    assert scored == [32] * (budget.WARMUP_STEPS + steps)  # the proxy scored every batch drawn
    every = config.train.selection.train_every
    assert sum(proxy_trained[budget.WARMUP_STEPS :]) == steps // every  # and trained on every 4th, as in the run
    timed = epochs[-1]
    assert timed["images"] == steps * 8  # the net trained on a quarter of each
    assert speed.train_images_per_second == pytest.approx(steps * 32 / timed["seconds"])


@pytest.mark.parametrize(
    ("every", "available", "steps"),
    [
        (None, None, 6),
        (1, None, 6),
        (3, None, 6),
        (4, None, 8),
        (5, None, 10),
        (7, None, 7),
        (4, 9, 8),
        (4, 5, 4),
        (4, 3, 3),
    ],
)
def test_the_probe_times_whole_cycles_of_the_proxys_training_as_far_as_the_split_allows(
    every: int | None, available: int | None, steps: int
) -> None:
    from cnnlab.builtin import preset_path
    from cnnlab.config import load_config

    selection = ["train.selection=null"] if every is None else [f"train.selection.train_every={every}"]
    config = load_config(preset_path("fast-93"), [*DIGITS, *selection])
    assert budget.timed_steps(config, available) == steps


def test_a_budgeted_run_trains_the_choice_and_records_it(small_family, tmp_path: Path) -> None:
    result, plan = train_to_budget(600, tmp_path / "run", DIGITS)
    assert result.status == "completed" and plan.chosen is not None
    assert result.summary["epochs_run"] == plan.chosen.epochs
    assert result.folder.read_config().model.options()["widths"] == list(plan.chosen.widths)
    record = json.loads((tmp_path / "run" / "budget.json").read_text())
    settings = {"8/16/16, batch 64, fast-80", "16/32/32, batch 64, fast-90"}
    assert record["chosen"]["epochs"] == plan.chosen.epochs and set(record["speeds"]) <= settings
    assert all(speed["train_images_per_second"] > 0 for speed in record["speeds"].values())
    assert set(record["speeds_measured"].values()) == {"now"}  # a fresh machine: every width probed


def test_the_run_trains_on_the_images_the_plan_loaded(small_family, tmp_path: Path, monkeypatch) -> None:
    """The data is read once for the probe and the run (about 8 s of a budget for the CIFAR-10 JPEG copy)."""
    plan_loads = []
    monkeypatch.setattr(budget, "load_splits", lambda data: plan_loads.append(data) or real_load(data))
    real_load = run.load_splits
    monkeypatch.setattr(run, "load_splits", lambda data: pytest.fail("the run read the data again"))
    result, _ = train_to_budget(600, tmp_path / "run", DIGITS)
    assert result.status == "completed" and len(plan_loads) == 1


def test_a_probe_is_made_once_per_net_and_boot(small_family, monkeypatch: pytest.MonkeyPatch) -> None:
    probed = []

    def fake_probe(config, splits):
        probed.append(tuple(config.model.options()["widths"]))
        return Speed(200.0, 2000.0, 1.0)

    monkeypatch.setattr(budget, "probe", fake_probe)
    first = plan_budget(120, DIGITS)
    assert sorted(probed) == [(8, 16, 16), (16, 32, 32)] and set(first.measured.values()) == {"now"}
    again = plan_budget(120, DIGITS)  # the same machine since its start: recalled, not probed
    assert len(probed) == 2 and again.speeds == first.speeds
    assert all(when != "now" for when in again.measured.values())
    plan_budget(120, [*DIGITS, "data.augment.flip=false"])  # a setting that moves the speed: probed anew
    assert len(probed) == 4
    plan_budget(120, [*DIGITS, "train.selection=true"])  # the proxy's steps move it too
    assert len(probed) == 6
    monkeypatch.setattr(speed_records, "boot_id", lambda: "another-boot")  # restarted, or another host
    plan_budget(120, DIGITS)
    assert len(probed) == 8
    monkeypatch.setattr(speed_records, "PROBE_METHOD", speed_records.PROBE_METHOD + 1)  # the probe measures anew
    plan_budget(120, DIGITS)
    assert len(probed) == 10
    speed_records._path().write_text("{not json")  # a damaged record only costs a probe, then is rewritten
    plan_budget(120, DIGITS)
    assert len(probed) == 12 and json.loads(speed_records._path().read_text())


def test_the_command_line_asks_for_what_budget_needs(capsys) -> None:
    assert main(["train", "--preset", "fast"]) == 2
    assert "give --budget TIME" in capsys.readouterr().err
    assert main(["train", "--preset", "fast-90", "--budget", "10m"]) == 2
    assert "use it with --preset fast" in capsys.readouterr().err
    assert main(["train", "--preset", "fast", "--budget", "10 minutes"]) == 2
    assert "is not a duration" in capsys.readouterr().err


def test_what_the_budget_chooses_cannot_be_overridden_and_points_are_refused() -> None:
    with pytest.raises(UserError, match=r"--budget chooses model.widths, train.epochs, train.batch_size itself"):
        plan_budget(60, [*DIGITS, "train.epochs=50"])
    with pytest.raises(UserError, match=r"--budget trains the fast family's image nets: circles holds no images"):
        plan_budget(60, ["data.source=circles"])
