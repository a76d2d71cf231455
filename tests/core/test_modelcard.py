"""The model card: validation, operating-point tables, and the verified ONNX file."""

from __future__ import annotations

import copy
import hashlib
import json

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from skindesk.core.errors import ModelError
from skindesk.core.modelcard import (
    CARD_KEY,
    DIGEST_KEY,
    CardError,
    ModelCard,
    embed_card,
    store_card_text,
    file_sha256,
    model_digest,
    read_model,
)
from skindesk.core.testmodels import build_test_model, example_operating_points
from skindesk.core.testmodels import test_card as make_card


def write_with_raw_card(model: onnx.ModelProto, card_text: str, path) -> None:
    """Store ``card_text`` as-is (no validation) with a correct digest, as a careless exporter would."""
    store_card_text(model, card_text)
    onnx.save_model(model, str(path))


# -- parsing ------------------------------------------------------------------------------
def test_example_card_parses_with_every_field():
    card = ModelCard.from_dict(make_card())
    assert len(card.classes) == 9
    assert card.class_names[3] == "melanoma"
    assert card.class_info("melanoma").malignant and card.class_info("melanoma").flagged
    assert card.class_info("actinic keratosis").group == "pre-malignant"
    assert card.class_info("nevus").group == "benign" and not card.class_info("nevus").flagged
    assert card.preprocessing.height == 32 and card.preprocessing.value_range == (0.0, 1.0)
    assert card.title == "SkinDesk test model 0.0-test"
    assert card.cam_output == "class_activation_maps" and card.ood_output == "ood_score"
    assert card.ood_threshold == 0.0 and card.uncertainty_threshold == 0.5
    assert "not a diagnosis" in card.disclaimer.lower()
    assert card.licence and card.intended_use
    assert set(card.operating_points) == {
        "actinic keratosis", "basal cell carcinoma", "melanoma", "squamous cell carcinoma"}
    assert card.available_sensitivities() == (0.8, 0.85, 0.9, 0.95)
    assert json.loads(card.to_json())["name"] == card.name
    with pytest.raises(KeyError):
        card.class_info("psoriasis")


def test_operating_point_choice():
    card = ModelCard.from_dict(make_card())
    assert card.operating_point("melanoma").target_sensitivity == 0.9  # card default
    assert card.operating_point("basal cell carcinoma").target_sensitivity == 0.85
    point = card.operating_point("melanoma", 0.95)
    assert point.threshold == 0.05 and point.validated_sensitivity == pytest.approx(0.96)
    assert card.operating_point("nevus") is None
    with pytest.raises(CardError, match="no validated operating point at sensitivity 0.7.*offers"):
        card.operating_point("melanoma", 0.7)


def test_operating_point_without_default_is_the_middle_one():
    raw = make_card()
    del raw["operating_points"]["default_sensitivity"]
    card = ModelCard.from_dict(raw)
    assert card.operating_point("melanoma").target_sensitivity == 0.9


def test_available_sensitivities_are_those_every_class_offers():
    raw = make_card()
    table = raw["operating_points"]["classes"]
    table["melanoma"] = [r for r in table["melanoma"] if r["target_sensitivity"] != 0.8]
    table["basal cell carcinoma"] = [
        r for r in table["basal cell carcinoma"] if r["target_sensitivity"] != 0.95]
    assert ModelCard.from_dict(raw).available_sensitivities() == (0.85, 0.9)


def test_card_without_operating_points_is_valid():
    card = ModelCard.from_dict(make_card(operating_points=None))
    assert card.operating_points == {}
    assert card.available_sensitivities() == ()
    assert card.operating_point("melanoma") is None


def test_null_optional_sections_take_defaults():
    raw = make_card()
    raw.update(uncertainty=None, outputs=None, ood=None, operating_points=None)
    card = ModelCard.from_dict(raw)
    assert card.uncertainty_threshold == 0.5
    assert card.probabilities_output == "probabilities" and card.cam_output is None
    assert card.ood_threshold is None


def mutate(**changes):
    raw = make_card()
    for key, value in changes.items():
        if value is KeyError:
            del raw[key]
        else:
            raw[key] = value
    return raw


@pytest.mark.parametrize("raw, message", [
    (mutate(format_version=2), "format 2 is not supported"),
    (mutate(name=KeyError), "no 'name' field"),
    (mutate(classes=[{"name": "melanoma"}]), "fewer than two classes"),
    (mutate(classes=[{"name": "nevus"}, {"name": "nevus"}]), "class twice"),
    (mutate(classes=[{"display_name": "no name"}, {"name": "b"}]), "malformed model card"),
    (mutate(input={"name": "input", "layout": "NCHW", "height": 32, "width": 32}), "NHWC only"),
    (mutate(input={"name": "input", "height": 32, "width": 32, "channels": 1}), "3 channels"),
    (mutate(preprocessing={"height": 64, "width": 64}), "differs from the input size"),
    (mutate(preprocessing={"resize": "magic"}), "unknown resize method"),
    (mutate(uncertainty={"top_probability_threshold": 1.5}), "outside 0-1"),
    (mutate(input=["not", "a", "mapping"]), "malformed model card"),
])
def test_malformed_cards_are_refused_naming_the_problem(raw, message):
    with pytest.raises(CardError, match=message):
        ModelCard.from_dict(raw)


def test_card_that_is_not_an_object_is_refused():
    with pytest.raises(CardError, match="not an object"):
        ModelCard.from_dict(["a", "list"])


def table_with(class_name="melanoma", **row_changes):
    raw = make_card()
    rows = raw["operating_points"]["classes"][class_name]
    for index, changes in row_changes.items():
        rows[int(index.lstrip("r"))].update(changes)
    return raw


@pytest.mark.parametrize("raw, message", [
    (table_with(r0={"threshold": 1.5}), "threshold 1.5 for melanoma is outside 0-1"),
    (table_with(r3={"threshold": -0.01}), "outside 0-1"),
    (table_with(r0={"target_sensitivity": 1.2}), "target sensitivity 1.2"),
    (table_with(r1={"validation": {"specificity": 0.8}}), "no valid validation sensitivity"),
    (table_with(r1={"validation": {"sensitivity": 0.86, "specificity": 1.3}}),
     "no valid validation specificity"),
    # sensitivity must not fall as the threshold falls
    (table_with(r2={"validation": {"sensitivity": 0.70, "specificity": 0.7}}),
     "validated sensitivity falls"),
    # threshold must not rise as the target sensitivity rises
    (table_with(r3={"threshold": 0.5}), "threshold rises"),
    (table_with(r1={"target_sensitivity": 0.8}), "listed twice"),
])
def test_malformed_operating_point_tables_are_refused(raw, message):
    with pytest.raises(CardError, match=message):
        ModelCard.from_dict(raw)


def test_operating_points_for_unknown_or_benign_class_are_refused():
    raw = make_card()
    raw["operating_points"]["classes"]["psoriasis"] = raw["operating_points"]["classes"]["melanoma"]
    with pytest.raises(CardError, match="unknown class 'psoriasis'"):
        ModelCard.from_dict(raw)
    raw = make_card()
    raw["operating_points"]["classes"]["nevus"] = raw["operating_points"]["classes"]["melanoma"]
    with pytest.raises(CardError, match="does not flag"):
        ModelCard.from_dict(raw)


def test_bad_default_sensitivities_are_refused():
    raw = make_card()
    raw["operating_points"]["default_sensitivity"]["melanoma"] = 0.99
    with pytest.raises(CardError, match="default sensitivity 0.99 for melanoma is not in its table"):
        ModelCard.from_dict(raw)
    raw = make_card()
    raw["operating_points"]["default_sensitivity"]["nevus"] = 0.9
    with pytest.raises(CardError, match="'nevus', which has no operating points"):
        ModelCard.from_dict(raw)


def test_empty_operating_point_list_is_refused():
    raw = make_card()
    raw["operating_points"]["classes"]["melanoma"] = []
    raw["operating_points"]["default_sensitivity"].pop("melanoma")
    with pytest.raises(CardError, match="empty"):
        ModelCard.from_dict(raw)


def test_unsorted_table_rows_are_sorted():
    raw = make_card()
    raw["operating_points"]["classes"]["melanoma"].reverse()
    points = ModelCard.from_dict(raw).operating_points["melanoma"]
    assert [p.target_sensitivity for p in points] == [0.8, 0.85, 0.9, 0.95]


def test_example_table_only_covers_known_flagged_classes():
    table = example_operating_points(["melanoma", "nevus"], ["melanoma", "basal cell carcinoma"])
    assert set(table["classes"]) == {"melanoma"}


# -- the ONNX file ------------------------------------------------------------------------
def test_round_trip_through_the_file(tmp_path):
    path = build_test_model(tmp_path / "m.onnx")
    card, data, recorded = read_model(path)
    assert data == path.read_bytes()
    assert card.raw == make_card() | {"created": card.raw["created"]}
    assert recorded == model_digest(onnx.load(str(path)))
    assert len(recorded) == 64
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
    assert file_sha256(path) != recorded  # the file hash includes the digest entry itself


def test_embed_card_refuses_an_invalid_card():
    model = onnx.load_model_from_string(
        onnx.helper.make_model(onnx.helper.make_graph([], "g", [], [])).SerializeToString())
    bad = make_card()
    bad["classes"] = bad["classes"][:1]
    with pytest.raises(CardError):
        embed_card(model, bad)


def test_tampered_weights_are_refused(tmp_path):
    path = build_test_model(tmp_path / "m.onnx")
    model = onnx.load(str(path))
    weights = next(i for i in model.graph.initializer if i.name == "W")
    changed = numpy_helper.to_array(weights).copy()
    changed[0, 3] += 5.0  # push melanoma up: exactly the edit that must never go unnoticed
    weights.CopyFrom(numpy_helper.from_array(changed, "W"))
    onnx.save_model(model, str(path))
    with pytest.raises(ModelError, match="integrity check failed"):
        read_model(path)


def test_tampered_card_is_refused(tmp_path):
    path = build_test_model(tmp_path / "m.onnx")
    model = onnx.load(str(path))
    for entry in model.metadata_props:
        if entry.key == CARD_KEY:
            card = json.loads(entry.value)
            card["operating_points"]["classes"]["melanoma"][2]["threshold"] = 0.99
            entry.value = json.dumps(card)
    onnx.save_model(model, str(path))
    with pytest.raises(ModelError, match="integrity check failed.*damaged or modified"):
        read_model(path)


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.999])
def test_truncated_model_is_refused(tmp_path, fraction):
    path = build_test_model(tmp_path / "m.onnx")
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(ModelError) as caught:
        read_model(path)
    assert caught.value.path == str(path)


def test_flipped_bytes_never_pass(tmp_path):
    path = build_test_model(tmp_path / "m.onnx")
    data = path.read_bytes()
    rng = np.random.default_rng(7)
    for position in rng.choice(len(data), size=40, replace=False):
        damaged = bytearray(data)
        damaged[position] ^= 0x5A
        path.write_bytes(bytes(damaged))
        with pytest.raises(ModelError):
            read_model(path)


@pytest.mark.parametrize("content, message", [
    (b"", "empty file"), (b"this is not a model", "not a valid ONNX file")])
def test_non_models_are_refused(tmp_path, content, message):
    path = tmp_path / "m.onnx"
    path.write_bytes(content)
    with pytest.raises(ModelError, match=message):
        read_model(path)


def test_missing_and_folder(tmp_path):
    with pytest.raises(ModelError, match="file not found"):
        read_model(tmp_path / "none.onnx")
    with pytest.raises(ModelError, match="is a folder"):
        read_model(tmp_path)


def test_model_without_card_or_digest(tmp_path):
    path = build_test_model(tmp_path / "m.onnx")
    model = onnx.load(str(path))
    kept = [p for p in model.metadata_props if p.key == CARD_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    onnx.save_model(model, str(path))
    with pytest.raises(ModelError, match="no recorded sha256"):
        read_model(path)
    del model.metadata_props[:]
    onnx.save_model(model, str(path))
    with pytest.raises(ModelError, match="has no SkinDesk model card"):
        read_model(path)


def test_card_that_is_not_json(tmp_path):
    path = build_test_model(tmp_path / "m.onnx")
    write_with_raw_card(onnx.load(str(path)), "{not json", path)
    with pytest.raises(ModelError, match="not valid JSON"):
        read_model(path)


def test_malformed_operating_points_in_a_file_are_refused_by_read_model(tmp_path):
    path = build_test_model(tmp_path / "m.onnx")
    card = make_card()
    card["operating_points"]["classes"]["melanoma"][0]["threshold"] = 2.0
    write_with_raw_card(onnx.load(str(path)), json.dumps(card), path)
    with pytest.raises(ModelError, match="threshold 2.0 for melanoma is outside 0-1"):
        read_model(path)


def reembed(path, card):
    model = onnx.load(str(path))
    embed_card(model, card)
    onnx.save_model(model, str(path))


def test_wrong_input_shape_is_refused(tmp_path):
    path = build_test_model(tmp_path / "m.onnx", make_card(size=32))
    reembed(path, make_card(size=64))
    with pytest.raises(ModelError, match=r"input shape \[None, 32, 32, 3\] does not match.*64, 64"):
        read_model(path)


def test_class_count_not_matching_the_output_is_refused(tmp_path):
    path = build_test_model(tmp_path / "m.onnx")
    eight = make_card(class_names=[c["name"] for c in make_card()["classes"]][:8])
    reembed(path, eight)
    with pytest.raises(ModelError, match=r"probabilities output has shape \['\?', 9\].*8 classes"):
        read_model(path)


def test_missing_input_or_output_names_are_refused(tmp_path):
    path = build_test_model(tmp_path / "m.onnx")
    card = copy.deepcopy(make_card())
    card["input"]["name"] = "image"
    reembed(path, card)
    with pytest.raises(ModelError, match="no input named 'image'"):
        read_model(path)
    card = make_card()
    card["outputs"]["probabilities"] = "softmax"
    reembed(path, card)
    with pytest.raises(ModelError, match="no output named 'softmax'"):
        read_model(path)
