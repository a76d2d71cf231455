"""Predictions and malignancy alerts at validated operating points (issue 10)."""

from __future__ import annotations

import numpy as np
import pytest

from skindesk.core.classifier import Classifier
from skindesk.core.modelcard import CardError, ModelCard
from skindesk.core.prediction import (
    Alert,
    alerts_for,
    default_heatmap_class,
    make_prediction,
    operating_point_label,
)
from skindesk.core.testmodels import test_card as make_card

NAMES = [c["name"] for c in make_card()["classes"]]
MELANOMA, NEVUS, BCC, DERMATOFIBROMA = (NAMES.index(n) for n in (
    "melanoma", "nevus", "basal cell carcinoma", "dermatofibroma"))


def vector(**values: float) -> np.ndarray:
    """Probabilities with the given classes set and the rest shared out evenly."""
    p = np.zeros(len(NAMES))
    for name, value in values.items():
        p[NAMES.index(name.replace("_", " "))] = value
    rest = [i for i in range(len(NAMES)) if p[i] == 0]
    p[rest] = (1 - p.sum()) / len(rest)
    return p


@pytest.fixture(scope="module")
def card() -> ModelCard:
    return ModelCard.from_dict(make_card())


# Default operating points of the example card: melanoma 90 % -> threshold 0.12,
# the other flagged classes 85 % -> 0.20.
def test_benign_top_class_with_melanoma_above_threshold_advises_review(card):
    prediction = make_prediction(card, vector(nevus=0.61, melanoma=0.23))
    assert prediction.top_class.name == "nevus"
    assert prediction.review_advised
    (alert,) = prediction.alerts
    assert alert.class_name == "melanoma"
    assert alert.probability == pytest.approx(0.23)
    assert alert.threshold == 0.12
    assert alert.target_sensitivity == 0.9
    assert alert.validated_sensitivity == pytest.approx(0.91)
    assert alert.validated_specificity == pytest.approx(0.7)
    assert prediction.summary().startswith(
        "Review advised: melanoma 23 % ≥ alert threshold 12 % (91 % sensitivity on "
        "validation). Most likely: nevus 61 %."
    )
    assert alert.text() == "melanoma 23 % ≥ alert threshold 12 %"


def test_melanoma_below_threshold_gives_no_alert(card):
    prediction = make_prediction(card, vector(nevus=0.8, melanoma=0.10))
    assert not prediction.review_advised and prediction.alerts == ()
    assert prediction.summary().startswith("Most likely: nevus 80 %.")
    assert "Review advised" not in prediction.summary()


def test_threshold_itself_raises_the_alert(card):
    assert make_prediction(card, vector(nevus=0.5, melanoma=0.12)).review_advised
    assert not make_prediction(card, vector(nevus=0.5, melanoma=0.1199)).review_advised


def test_changing_the_operating_point_changes_the_outcome(card):
    probabilities = vector(nevus=0.7, melanoma=0.15)
    default = make_prediction(card, probabilities)
    strict = make_prediction(card, probabilities, sensitivity=0.8)   # threshold 0.30
    sensitive = make_prediction(card, probabilities, sensitivity=0.95)  # threshold 0.05
    assert default.review_advised and not strict.review_advised and sensitive.review_advised
    assert sensitive.alerts[0].threshold == 0.05 and default.alerts[0].threshold == 0.12
    assert strict.operating_point == "80 % target sensitivity for every flagged class"
    assert default.operating_point == (
        "actinic keratosis 85 %, basal cell carcinoma 85 %, melanoma 90 %, squamous cell "
        "carcinoma 85 % target sensitivity")
    with pytest.raises(CardError):
        make_prediction(card, probabilities, sensitivity=0.7)


def test_benign_classes_never_alert(card):
    prediction = make_prediction(card, vector(dermatofibroma=0.9, melanoma=0.01, basal_cell_carcinoma=0.01,
                                              squamous_cell_carcinoma=0.01, actinic_keratosis=0.01))
    assert not prediction.review_advised


def test_several_alerts_are_ordered_by_margin_above_threshold(card):
    prediction = make_prediction(card, vector(nevus=0.3, melanoma=0.15, basal_cell_carcinoma=0.45))
    assert [a.class_name for a in prediction.alerts] == ["basal cell carcinoma", "melanoma"]
    assert prediction.summary().startswith("Review advised: basal cell carcinoma 45 %")
    assert "; melanoma 15 %" in prediction.summary()


def test_malignant_top_class_is_named_as_such(card):
    prediction = make_prediction(card, vector(melanoma=0.7))
    assert "Most likely: melanoma 70 % — a malignant class" in prediction.summary()
    prediction = make_prediction(card, vector(actinic_keratosis=0.7))
    assert "a pre-malignant class" in prediction.summary()


def test_card_without_operating_points_works_and_says_so():
    card = ModelCard.from_dict(make_card(operating_points=None))
    prediction = make_prediction(card, vector(nevus=0.61, melanoma=0.23))
    assert not prediction.review_advised and not prediction.alerts_available
    assert "No validated alert threshold exists for this model: probabilities only." in (
        prediction.summary())
    assert prediction.operating_point == "none (model has no validated alert thresholds)"
    assert operating_point_label(card, None).startswith("none")


def test_sentence_shows_a_decimal_when_whole_percentages_would_look_equal():
    alert = Alert("melanoma", "Melanoma", 0.124, 0.12, 0.9, 0.91, 0.7)
    assert alert.sentence().startswith("melanoma 12.4 % ≥ alert threshold 12.0 %")
    alert = Alert("melanoma", "Melanoma", 0.23, 0.12, 0.9, 0.91, 0.7)
    assert alert.sentence().startswith("melanoma 23 % ≥ alert threshold 12 %")


def test_prediction_views(card):
    p = vector(nevus=0.5, melanoma=0.3, basal_cell_carcinoma=0.1)
    prediction = make_prediction(card, p, path="a.jpg", ood_score=-3.0)
    top = prediction.top_k(3)
    assert [c.name for c, _ in top] == ["nevus", "melanoma", "basal cell carcinoma"]
    assert [v for _, v in top] == sorted((v for _, v in top), reverse=True)
    assert len(prediction.top_k()) == 9
    assert prediction.as_dict()["melanoma"] == pytest.approx(0.3)
    assert list(prediction.as_dict()) == NAMES
    assert prediction.top_probability == pytest.approx(0.5) and not prediction.uncertain
    assert prediction.out_of_distribution is False and prediction.path == "a.jpg"
    assert make_prediction(card, p, ood_score=0.5).out_of_distribution is True
    assert make_prediction(card, p).out_of_distribution is None


def test_uncertain_below_the_cards_threshold():
    card = ModelCard.from_dict(make_card(uncertainty_threshold=0.6))
    assert make_prediction(card, vector(nevus=0.55)).uncertain
    assert not make_prediction(card, vector(nevus=0.65)).uncertain
    assert "no class reaches 60 %" in make_prediction(card, vector(nevus=0.55)).summary()


def test_wrong_length_is_refused(card):
    with pytest.raises(ValueError, match="8 probabilities for 9 classes"):
        make_prediction(card, np.full(8, 1 / 8))


def test_alerts_for_matches_prediction(card):
    p = vector(nevus=0.4, melanoma=0.3, squamous_cell_carcinoma=0.25)
    assert alerts_for(card, p) == make_prediction(card, p).alerts


def test_default_heatmap_class_is_the_strongest_alert_under_a_benign_top_class(card):
    hidden = make_prediction(card, vector(nevus=0.61, melanoma=0.23))
    assert hidden.top_class.name == "nevus" and default_heatmap_class(hidden) == "melanoma"
    two = make_prediction(card, vector(nevus=0.3, melanoma=0.15, basal_cell_carcinoma=0.45))
    assert default_heatmap_class(two) == "basal cell carcinoma"  # the larger margin
    # the same probabilities at a stricter operating point: no alert, so the top class
    strict = make_prediction(card, vector(nevus=0.61, melanoma=0.23), sensitivity=0.8)
    assert not strict.alerts and default_heatmap_class(strict) == "nevus"


def test_default_heatmap_class_without_alerts_is_the_top_class(card):
    assert default_heatmap_class(make_prediction(card, vector(nevus=0.8, melanoma=0.05))) == "nevus"
    assert default_heatmap_class(make_prediction(card, vector(dermatofibroma=0.9))) == (
        "dermatofibroma")
    no_points = ModelCard.from_dict(make_card(operating_points=None))
    assert default_heatmap_class(make_prediction(no_points, vector(nevus=0.61, melanoma=0.23))) == (
        "nevus")


def test_class_index(card):
    prediction = make_prediction(card, vector(nevus=0.6))
    assert prediction.class_index("melanoma") == MELANOMA
    assert prediction.class_index("nevus") == prediction.top_index == NEVUS
    with pytest.raises(ValueError, match="no class 'lentigo'"):
        prediction.class_index("lentigo")


# -- through the real classifier ----------------------------------------------------------
def test_review_advised_through_onnxruntime(fixed_probabilities_model):
    from PIL import Image

    path = fixed_probabilities_model(vector(nevus=0.61, melanoma=0.23))
    image = Image.new("RGB", (64, 48), (180, 120, 90))
    prediction = Classifier(path, provider="cpu").predict_image(image)
    assert prediction.top_class.name == "nevus" and prediction.review_advised
    assert prediction.summary().startswith("Review advised: melanoma 23 %")
    strict = Classifier(path, provider="cpu", sensitivity=0.8).predict_image(image)
    assert not strict.review_advised
