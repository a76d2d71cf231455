"""The shipped model carries the evidence it was shipped on: its card compares it with the model
it replaced on the same images, and it is better on balanced accuracy and source leakage."""

from __future__ import annotations

from skindesk.core.classifier import Classifier
from skindesk.paths import default_model_path


def test_the_card_records_the_comparison_with_the_previous_model() -> None:
    card = Classifier(default_model_path(), provider="cpu").card
    comparison = card.raw["metrics"]["comparison"]
    old, new = comparison["models"][0], comparison["models"][-1]
    assert new["name"].endswith(card.version) and old["name"] != new["name"]
    assert new["images"] == old["images"] > 0 and comparison["images"]
    assert new["balanced_accuracy"] > old["balanced_accuracy"]
    assert new["melanoma_auc"] > old["melanoma_auc"]
    for key, leakage in old["source_leakage"].items():
        assert new["source_leakage"][key] < leakage, key
