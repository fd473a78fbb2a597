"""Configs: YAML plus dotted overrides, typed, and errors that name the key, the value and the choices."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from cnnlab.config import RunConfig, StudySpec, config_keys, dump_config, load_config, validate, with_overrides
from cnnlab.config.loading import safe_yaml
from cnnlab.errors import UserError


def test_defaults_are_the_contract() -> None:
    cfg = RunConfig()
    assert cfg.data.source == "cifar10" and cfg.data.val_fraction == 0.1
    assert cfg.model.name == "tme2" and cfg.train.batch_size == 128
    keys = set(config_keys(RunConfig))
    for key in ("data.augment.crop", "optim.nesterov", "schedule.warmup", "train.early_stop", "train.threads"):
        assert key in keys


def test_overrides_are_coerced_to_the_field_types() -> None:
    cfg = load_config(
        None,
        ["train.epochs=5", "optim.lr=1e-3", "data.augment.flip=true", "data.image_size=null", "model.dropout=0.5"],
    )
    assert cfg.train.epochs == 5 and isinstance(cfg.train.epochs, int)
    assert cfg.optim.lr == pytest.approx(1e-3)
    assert cfg.data.augment.flip is True and cfg.data.image_size is None
    assert cfg.model.options() == {"dropout": 0.5}


def test_yaml_then_overrides(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("optim:\n  name: adam\n  lr: 1e-3\ntrain:\n  epochs: 3\n")
    cfg = load_config(path, ["train.epochs=7"])
    assert cfg.optim.name == "adam" and cfg.optim.lr == pytest.approx(1e-3) and cfg.train.epochs == 7
    assert cfg.optim.momentum == 0.9  # untouched keys keep their defaults


def test_dump_and_load_round_trip(tmp_path: Path) -> None:
    cfg = load_config(None, ["data.augment.crop=28", "schedule.name=cosine", "train.channels_last=true"])
    path = tmp_path / "config.yaml"
    path.write_text(dump_config(cfg))
    assert load_config(path) == cfg


def test_with_overrides_returns_a_validated_copy() -> None:
    base = RunConfig()
    changed = with_overrides(base, ["optim.lr=0.5"])
    assert changed.optim.lr == 0.5 and base.optim.lr == 0.01
    with pytest.raises(UserError):
        with_overrides(base, ["optim.lr=-1"])


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("optim.moemntum=0.5", r"unknown config key 'optim.moemntum' \(did you mean 'optim.momentum'\?\)"),
        ("lr=0.1", r"unknown config key 'lr' \(did you mean 'optim.lr'\?\)"),
        (
            "optim.name=sgdd",
            r"'optim.name' = 'sgdd' is not one of: sgd, adam, adamw, rmsprop, adagrad, muon \(did you mean 'sgd'\?\)",
        ),
        ("optim.lr=fast", r"'optim.lr' = 'fast' is invalid: input should be a valid number"),
        ("train.epochs=0", r"'train.epochs' = 0 is invalid: input should be greater than 0"),
        ("data.preprocess=whiten", r"not one of: none, standardize, minmax, signed, zca"),
        ("train.channels_last=maybe", r"not one of: true, false, auto"),
        ("train.device=tpu", r"'train.device' = 'tpu' is invalid: must be one of auto, cpu, cuda"),
        ("data=3", r"'data' must be a mapping of its own keys \(source, root"),
        ("data.augment.flip=sometimes", r"'data.augment.flip' = 'sometimes' is invalid"),
        ("data.augment.contrast=1.5", r"'data.augment.contrast' = 1.5 is invalid: input should be less than 1"),
        ("train.tta_fraction=0", r"'train.tta_fraction' = 0 is invalid: input should be greater than 0"),
    ],
)
def test_errors_name_key_value_and_choices(override: str, expected: str) -> None:
    with pytest.raises(UserError, match=expected):
        load_config(None, [override])


def test_several_errors_are_listed_together() -> None:
    with pytest.raises(UserError) as err:
        load_config(None, ["train.epochs=-1", "optim.nme=adam"])
    text = str(err.value)
    assert text.startswith("invalid config:") and "train.epochs" in text and "optim.nme" in text


@pytest.mark.parametrize("bad", ["novalue", "=3", "a..b=1"])
def test_malformed_overrides(bad: str) -> None:
    with pytest.raises(UserError, match="key=value"):
        load_config(None, [bad])


def test_an_override_inside_a_value_says_how_to_give_the_section() -> None:
    with pytest.raises(UserError) as err:
        load_config(None, ["train.selection=true", "train.selection.widths=[8,16,16]"])
    assert "'train.selection.widths' goes inside 'train.selection', which an earlier override set to True" in str(
        err.value
    )
    assert "'train.selection={widths: [8, 16, 16]}'" in str(err.value)
    config = load_config(None, ["model.name=fastnet", "train.selection={widths: [8, 16, 16]}"])  # as it says
    assert config.train.selection is not None and config.train.selection.widths == (8, 16, 16)


def test_missing_or_broken_files(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("train: [unclosed\n")
    with pytest.raises(UserError, match="not valid YAML"):
        load_config(broken)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(UserError, match="must hold a mapping"):
        load_config(listed)


def test_a_study_spec_carries_a_course_reports_figures_and_conclusions() -> None:
    spec = validate(
        {
            "reference": {"report": "RDFIA 1-cd", "figures": {"zca": {"best_epoch": 7, "test_top1": 0.7631}}},
            "conclusions": [{"claim": "ZCA beats standardisation", "variant": "zca", "expect": "better"}],
        },
        StudySpec,
    )
    assert spec.reference is not None and spec.reference.figures["zca"]["test_top1"] == 0.7631
    conclusion = spec.conclusions[0]
    assert conclusion.metric == "test_top1" and conclusion.baseline is None  # the defaults
    plain = validate({}, StudySpec)
    assert plain.reference is None and plain.conclusions == []


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {
                "conclusions": [
                    {"claim": "c", "variant": "a", "expect": "better"},
                    {"claim": "c", "variant": "a", "exepct": 1},
                ]
            },
            r"unknown config key 'conclusions\[1\].exepct' \(did you mean 'conclusions\[1\].expect'\?\); "
            r"valid keys under 'conclusions\[1\]': claim, variant, baseline, metric, expect",
        ),
        (
            {"conclusions": [{"claim": "c", "variant": "a", "expect": "beter"}]},
            r"'conclusions\[0\].expect' = 'beter' is not one of: better, worse \(did you mean 'better'\?\)",
        ),
        ({"conclusions": [{"variant": "a", "expect": "better"}]}, r"config key 'conclusions\[0\].claim' is required"),
        (
            {"reference": {"reprot": "r"}},
            r"unknown config key 'reference.reprot' \(did you mean 'reference.report'\?\)",
        ),
        (
            {"reference": {"figures": {"zca": {"test_top1": "high"}}}},
            r"'reference.figures.zca.test_top1' = 'high' is invalid: input should be a valid number",
        ),
        ({"conclusion": []}, r"unknown config key 'conclusion' \(did you mean 'conclusions'\?\)"),
    ],
)
def test_study_spec_errors_name_the_key_inside_lists_and_mappings(data: dict, expected: str) -> None:
    with pytest.raises(UserError, match=expected):
        validate(data, StudySpec)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("train.seed=-1", "'train.seed' = -1 is invalid: input should be greater than or equal to 0"),
        ("train.seed=4294967296", "'train.seed' = 4294967296 is invalid: input should be less than or equal to"),
        ("data.split_seed=-3", "'data.split_seed' = -3 is invalid"),
        ("optim.lr=inf", "'optim.lr' = 'inf' is invalid: input should be a finite number"),
        ("optim.weight_decay=.inf", "'optim.weight_decay' = inf is invalid: input should be a finite number"),
        ("data.augment.brightness=1e400", "'data.augment.brightness' = '1e400' is invalid: input should be a finite"),
        ("schedule.min_lr=.nan", "'schedule.min_lr' = nan is invalid: input should be a finite number"),
        ("data.zca_epsilon=inf", "'data.zca_epsilon' = 'inf' is invalid: input should be a finite number"),
        ("optim.betas=[0.9,1.0]", "'optim.betas' = 1.0 is invalid: input should be less than 1"),
        ("optim.betas=[-0.1,0.9]", "'optim.betas' = -0.1 is invalid: input should be greater than or equal to 0"),
        ("train.epochs=true", "'train.epochs' = True is invalid: input should be a valid integer"),
        ("optim.lr=true", "'optim.lr' = True is invalid: must be a number, not true or false"),
        ("train.shuffle=1", "'train.shuffle' = 1 is invalid: input should be a valid boolean"),
        ("train.tta=true", "'train.tta' = True is not one of: 0, 1, 2"),
    ],
)
def test_values_out_of_range_infinite_or_of_the_wrong_kind_are_named(override: str, expected: str) -> None:
    with pytest.raises(UserError, match=re.escape(expected)):
        load_config(None, [override])


def test_numbers_keep_their_usual_spellings() -> None:
    config = load_config(None, ["optim.lr=1e-3", "optim.weight_decay=0", "optim.betas=[0, 0.99]", "train.seed=7"])
    assert config.optim.lr == 1e-3 and config.optim.weight_decay == 0.0 and config.optim.betas == (0.0, 0.99)
    assert config.train.seed == 7 and config.train.shuffle is True


def _alias_bomb(levels: int = 9) -> str:
    """The 'billion laughs': each level a list of ten aliases of the one before, 10**levels values in all."""
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{k}: &l{k} [{', '.join([f'*l{k - 1}'] * 10)}]" for k in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def test_a_yaml_alias_bomb_is_refused_within_a_second(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text("train: {epochs: 1}\nbomb:\n" + "".join(f"  {line}\n" for line in _alias_bomb().splitlines()))
    started = time.perf_counter()
    with pytest.raises(UserError, match=r"bomb.yaml' is refused: it expands to more than 100,000 values"):
        load_config(path)
    with pytest.raises(UserError, match=r"override 'train.epochs=\{.*' is refused: it expands to more than"):
        load_config(None, ["train.epochs={" + _alias_bomb().strip().replace("\n", ", ") + "}"])
    assert time.perf_counter() - started < 1


def test_a_key_given_twice_or_an_alias_to_itself_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "twice.yaml"
    path.write_text("train:\n  epochs: 2\noptim: {lr: 0.1}\ntrain:\n  epochs: 5\n")
    with pytest.raises(UserError, match=r"twice.yaml' is refused: key 'train' is given twice .*line 4"):
        load_config(path)
    path.write_text("data: &a {augment: *a}\n")
    with pytest.raises(UserError, match="refers back to that value"):
        load_config(path)
    merged = safe_yaml("base: &b {epochs: 2, batch_size: 32}\ntrain: {<<: *b, epochs: 3}\n")
    assert merged["train"] == {"epochs": 3, "batch_size": 32}  # a merge key's values may be overridden
