"""The nine classes and the tiny real test models other tests rely on."""

from __future__ import annotations

import onnx
import pytest

from skindesk.core.classes import NINE_CLASSES, class_entries
from skindesk.core.modelcard import ModelCard, read_model
from skindesk.core.testmodels import build_test_model, test_card as make_card


def test_nine_classes_and_flags():
    names = [row[0] for row in NINE_CLASSES]
    assert len(names) == 9 == len(set(names))
    assert names == sorted(names)  # output order = alphabetical folder order used in training
    entries = {e["name"]: e for e in class_entries()}
    assert {n for n, e in entries.items() if e["malignant"]} == {
        "melanoma", "basal cell carcinoma", "squamous cell carcinoma"}
    assert {n for n, e in entries.items() if e["premalignant"]} == {"actinic keratosis"}


def test_class_entries_for_a_subset_and_unknown_names():
    entries = class_entries(["nevus", "lichen_planus"])
    assert entries[0] == {"name": "nevus", "display_name": "Nevus", "malignant": False,
                          "premalignant": False}
    assert entries[1]["display_name"] == "Lichen planus" and not entries[1]["malignant"]


def test_test_card_is_not_collected_by_pytest():
    assert make_card.__test__ is False


@pytest.mark.parametrize("size", [16, 48])
def test_built_model_is_valid_onnx_with_a_valid_card(tmp_path, size):
    path = build_test_model(tmp_path / "sub" / "m.onnx", make_card(size=size))
    onnx.checker.check_model(onnx.load(str(path)))
    card, _, _ = read_model(path)
    assert isinstance(card, ModelCard) and card.preprocessing.width == size
    assert card.raw["intended_use"].startswith("Automated tests only")
