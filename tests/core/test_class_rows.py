"""The one per-class row builder and its one card-error policy."""

from __future__ import annotations

import numpy as np
import pytest

from skindesk.core.class_rows import card_thresholds, class_rows, group_shares
from skindesk.core.modelcard import CardError, ModelCard
from skindesk.core.prediction import make_prediction
from skindesk.core.testmodels import test_card


@pytest.fixture
def card() -> ModelCard:
    return ModelCard.from_dict(test_card())


def _vector(card: ModelCard, **wanted: float) -> np.ndarray:
    rest = (1 - sum(wanted.values())) / (len(card.classes) - len(wanted))
    return np.array([wanted.get(c.name, rest) for c in card.classes])


def test_rows_carry_probability_group_threshold_alert_and_wording(card) -> None:  # noqa: ANN001
    prediction = make_prediction(card, _vector(card, nevus=0.61, melanoma=0.23))
    rows = class_rows(prediction, card)
    assert [r.name for r in rows[:2]] == ["nevus", "melanoma"] and rows[0].top
    melanoma = rows[1]
    assert (melanoma.group, melanoma.threshold, melanoma.alerted) == ("malignant", 0.12, True)
    assert melanoma.wording == "Melanoma 23 % (malignant), alert threshold 12 % reached"
    assert melanoma.alert_text == "melanoma 23 % ≥ alert threshold 12 %"
    assert rows[0].threshold is None and rows[0].alert_text == ""
    by_model = class_rows(prediction, card, by_probability=False)
    assert [r.name for r in by_model] == list(card.class_names)
    assert sum(group_shares(rows).values()) == pytest.approx(1.0)


def test_an_operating_point_the_card_does_not_offer_is_an_error_everywhere(card) -> None:  # noqa: ANN001
    prediction = make_prediction(card, _vector(card, nevus=0.61, melanoma=0.23))
    with pytest.raises(CardError, match="no validated operating point at sensitivity 0.42"):
        class_rows(prediction, card, 0.42)
    rows = class_rows(prediction, None)  # no card: probabilities only, thresholds from alerts
    assert next(r for r in rows if r.name == "melanoma").threshold == 0.12


def test_card_thresholds_follow_the_operating_point(card) -> None:  # noqa: ANN001
    default = dict(card_thresholds(card))
    strict = dict(card_thresholds(card, 0.8))
    assert default["Melanoma"].threshold == 0.12 and strict["Melanoma"].threshold == 0.3
    assert list(default) == ["Actinic keratosis", "Basal cell carcinoma", "Melanoma",
                             "Squamous cell carcinoma"]
    with pytest.raises(CardError):
        card_thresholds(card, 0.42)
