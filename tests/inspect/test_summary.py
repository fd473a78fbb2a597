"""inspect's table: per-layer shapes, weights and biases, receptive fields, MACs, totals and the JSON schema."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from cnnlab.errors import UserError
from cnnlab.inspect import SCHEMA, format_model_summary, summarize, summarize_registered
from cnnlab.models import build

LAYER_KEYS = {
    "name",
    "type",
    "output_shape",
    "weights",
    "biases",
    "params",
    "trainable",
    "receptive_field",
    "jump",
    "whole_input",
    "macs",
}
TOTAL_KEYS = {"params", "trainable", "weights", "biases", "conv_biases", "linear_biases", "other_biases", "macs"}


def rows(summary) -> dict:
    return {row.name: row for row in summary.layers}


def test_tme2_totals_explain_the_course_reports() -> None:
    summary = summarize(build("tme2"), (3, 32, 32))
    t = summary.totals
    assert (t.params, t.weights, t.conv_biases, t.linear_biases) == (1_191_170, 1_190_000, 160, 1_010)
    assert t.params - t.conv_biases == 1_191_010 and t.params - t.linear_biases == 1_190_160
    text = format_model_summary(summary)
    for figure in ("1,191,170", "1,191,010", "1,190,160"):
        assert figure in text


def test_tme2_rows_by_hand() -> None:
    r = rows(summarize(build("tme2"), (3, 32, 32)))
    conv1, fc4 = r["features.conv1"], r["classifier.fc4"]
    assert (conv1.output_shape, conv1.weights, conv1.biases) == ((32, 32, 32), 5 * 5 * 3 * 32, 32)
    assert conv1.macs == 32 * 32 * 32 * 3 * 5 * 5
    assert (fc4.output_shape, fc4.weights, fc4.biases, fc4.macs) == ((1000,), 1_024_000, 1000, 1_024_000)
    assert r["features.pool3"].output_shape == (64, 4, 4) and r["classifier.flatten"].output_shape == (1024,)


def test_receptive_fields_follow_r_plus_k_minus_1_times_j() -> None:
    r = rows(summarize(build("tme2"), (3, 32, 32)))
    # conv5 s1: 5/1; pool2: 6/2; conv5: 6+4*2=14/2; pool: 16/4; conv5: 16+4*4=32/4; pool: 36/8
    expected = {
        "conv1": (5, 1),
        "pool1": (6, 2),
        "conv2": (14, 2),
        "pool2": (16, 4),
        "conv3": (32, 4),
        "pool3": (36, 8),
    }
    for layer, (rf, jump) in expected.items():
        row = r[f"features.{layer}"]
        assert row.receptive_field == (rf, rf) and row.jump == (jump, jump), layer
    assert r["features.relu2"].receptive_field == (14, 14)  # activations change nothing
    fc4 = r["classifier.fc4"]
    assert fc4.whole_input and fc4.receptive_field == (32, 32) and fc4.jump is None


def test_valid_convolutions_and_stride_one_pools() -> None:
    r = rows(summarize(build("eq2425"), (3, 32, 32)))
    assert r["features.conv1"].receptive_field == (5, 5)
    # conv5: 5/1; pool: 6/2; conv3: 6+2*2=10/2; pool: 12/4; conv3: 12+2*4=20/4; pool: 24/8
    assert r["features.conv2"].receptive_field == (10, 10) and r["features.conv3"].receptive_field == (20, 20)
    assert r["features.pool3"].receptive_field == (24, 24) and r["features.pool3"].jump == (8, 8)
    with torch.device("meta"):
        v = rows(summarize(build("vgg16-cifar"), (3, 32, 32)))
    # conv3: 3/1, conv3: 5/1, pool2 s2: 6/2, conv3: 10/2, conv3: 14/2; then a stride-1 pool of 2 adds (2 - 1) * 2
    assert v["features.pool2"].receptive_field == (6, 6) and v["features.pool2"].jump == (2, 2)
    assert v["features.pool4"].receptive_field == (16, 16) and v["features.pool4"].jump == (2, 2)


def test_tdt4265_has_390410() -> None:
    summary = summarize(build("tdt4265"), (3, 32, 32))
    assert summary.totals.params == 390_410 == sum(row.params for row in summary.layers)
    assert summary.output_shape == (10,)


def test_resnet18_branches_and_the_resize() -> None:
    summary = summarize_registered("resnet18")
    r = rows(summary)
    assert r["imagenet_input"].output_shape == (3, 224, 224)
    assert r["layer4.1.conv2"].receptive_field == (435, 435)  # the published figure for ResNet18
    assert r["layer2.0.downsample.0"].receptive_field == (43, 43)  # the shortcut sees what the block's input saw
    assert r["fc"].whole_input and summary.totals.params == 11_181_642
    assert sum(row.name == "layer1.0.relu" for row in summary.layers) == 2  # the ReLU is called twice
    assert any("224x224" in note for note in summary.notes)


def test_frozen_parameters_are_counted_apart() -> None:
    t = summarize_registered("resnet18", options={"freeze": True}).totals
    assert t.trainable == 512 * 10 + 10 and t.params == 11_181_642
    assert "frozen" in format_model_summary(summarize_registered("fastnet"))


def test_json_schema_is_stable() -> None:
    data = json.loads(json.dumps(summarize(build("tme2"), (3, 32, 32), name="tme2").to_dict()))
    assert set(data) == {"schema", "model", "input_shape", "output_shape", "layers", "totals", "notes"}
    assert data["schema"] == SCHEMA and data["model"] == "tme2" and data["input_shape"] == [3, 32, 32]
    assert set(data["totals"]) == TOTAL_KEYS
    assert all(set(layer) == LAYER_KEYS for layer in data["layers"])
    first = data["layers"][0]
    assert first["name"] == "features.conv1" and first["output_shape"] == [32, 32, 32]
    assert first["receptive_field"] == [5, 5] and first["jump"] == [1, 1] and first["whole_input"] is False


def test_inputs_without_spatial_dimensions_have_no_receptive_field() -> None:
    summary = summarize(build("mlp", in_channels=2, input_size=None), (2,))
    assert [row.name for row in summary.layers] == [
        "classifier.flatten",
        "classifier.fc1",
        "classifier.relu1",
        "classifier.fc2",
    ]
    assert all(row.receptive_field is None and not row.whole_input for row in summary.layers)


def test_too_small_an_input_names_the_layer() -> None:
    model = build("tme2")
    with pytest.raises(UserError, match=r"3x4x4 is too small.*layer 'features.pool3'"):
        summarize(model, (3, 4, 4))


def test_the_model_is_left_in_its_mode() -> None:
    model = build("rob313").train()
    summarize(model, (3, 32, 32))
    assert model.training and model.features.bn1.training


def test_fully_convolutional_shows_the_score_map() -> None:
    summary = summarize_registered("tme2", fully_conv=(64, 64))
    assert summary.output_shape == (10, 5, 5) and summary.input_shape == (3, 64, 64)
    assert "5x5 map of 10 class scores" in summary.notes[0]
    assert rows(summary)["classifier.fc4"].type == "Conv2d"


def test_an_unfollowable_layer_says_so_instead_of_guessing() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Upsample(scale_factor=2), nn.Conv2d(4, 4, 3))
    summary = summarize(model, (3, 16, 16))
    assert summary.layers[0].receptive_field == (3, 3)
    assert summary.layers[1].receptive_field is None and summary.layers[2].receptive_field is None
    assert any("not followed" in note for note in summary.notes)
