"""Configs: YAML plus dotted overrides, typed, and errors that name the key, the value and the choices."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnlab.config import RunConfig, StudySpec, config_keys, dump_config, load_config, validate, with_overrides
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
