"""Known-answer tests of training.metrics: report, calibration, thresholds, operating points."""

from __future__ import annotations

import math

import numpy as np
import pytest

from skindesk.core.modelcard import CardError, ModelCard
from skindesk.core.testmodels import test_card
from training import metrics as M

NAMES = ["melanoma", "nevus", "basal cell carcinoma"]


def one_hot_like(predicted: list[int], n_classes: int, top: float = 0.8) -> np.ndarray:
    rest = (1 - top) / (n_classes - 1)
    probs = np.full((len(predicted), n_classes), rest)
    probs[np.arange(len(predicted)), predicted] = top
    return probs


# -- classification_report -------------------------------------------------------------------
def test_perfect_classifier_scores_one_everywhere():
    rng = np.random.default_rng(1)
    labels = np.repeat([0, 1, 2], 20)
    probs = rng.dirichlet([1, 1, 1], size=len(labels)) * 0.3
    probs[np.arange(len(labels)), labels] += 0.7  # true class always on top and always ranked first
    report = M.classification_report(labels, probs, NAMES)
    assert report["accuracy"] == 1.0
    assert report["balanced_accuracy"] == 1.0
    assert report["auc_macro"] == 1.0
    assert all(c["precision"] == c["recall"] == c["f1"] == c["auc"] == 1.0
               for c in report["per_class"].values())
    assert report["confusion_matrix"] == [[20, 0, 0], [0, 20, 0], [0, 0, 20]]
    mel = report["melanoma"]
    assert mel["auc"] == 1.0 and mel["auc_vs_nevus"] == 1.0
    assert mel["operating_point"]["sensitivity"] >= 0.74
    assert mel["operating_point"]["specificity"] == 1.0


def test_crafted_confusion_gives_known_figures():
    labels = np.array([0, 0, 1, 1, 2, 2])
    predicted = [0, 1, 1, 1, 2, 0]
    report = M.classification_report(labels, one_hot_like(predicted, 3), NAMES)
    assert report["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert report["accuracy"] == pytest.approx(4 / 6)
    assert report["balanced_accuracy"] == pytest.approx((0.5 + 1.0 + 0.5) / 3)
    per = report["per_class"]
    assert per["melanoma"]["precision"] == pytest.approx(0.5)
    assert per["nevus"]["precision"] == pytest.approx(2 / 3)
    assert per["basal cell carcinoma"]["precision"] == 1.0
    assert per["basal cell carcinoma"]["f1"] == pytest.approx(2 * 0.5 / 1.5)
    assert [per[n]["support"] for n in NAMES] == [2, 2, 2]
    assert report["min_recall"] == 0.5


def test_absent_class_does_not_count_in_balanced_accuracy():
    labels = np.array([0, 0, 1, 1])
    report = M.classification_report(labels, one_hot_like([0, 0, 1, 0], 3), NAMES)
    assert report["absent_classes"] == ["basal cell carcinoma"]
    assert report["per_class"]["basal cell carcinoma"]["recall"] is None
    assert report["balanced_accuracy"] == pytest.approx((1.0 + 0.5) / 2)


def test_report_rejects_bad_shapes():
    with pytest.raises(ValueError, match="columns"):
        M.classification_report(np.array([0, 1]), np.ones((2, 2)) / 2, NAMES)
    with pytest.raises(ValueError, match="labels"):
        M.classification_report(np.array([0, 5]), np.ones((2, 3)) / 3, NAMES)


# -- calibration ------------------------------------------------------------------------------
def test_ece_of_perfectly_calibrated_set_is_near_zero():
    rng = np.random.default_rng(0)
    n = 100_000
    confidence = rng.uniform(0.5, 1.0, n)
    top = rng.integers(0, 2, n)
    probs = np.empty((n, 2))
    probs[np.arange(n), top] = confidence
    probs[np.arange(n), 1 - top] = 1 - confidence
    correct = rng.uniform(size=n) < confidence
    labels = np.where(correct, top, 1 - top)
    assert M.expected_calibration_error(labels, probs) < 0.01


def test_ece_of_overconfident_set_is_the_gap():
    labels = np.array([0, 1] * 50)
    probs = np.tile([0.9, 0.1], (100, 1))  # always 90 % sure of class 0, right half the time
    assert M.expected_calibration_error(labels, probs) == pytest.approx(0.4)
    bins = M.reliability_bins(labels, probs)
    assert len(bins) == 15 and sum(b["count"] for b in bins) == 100
    full = [b for b in bins if b["count"]]
    assert len(full) == 1 and full[0]["lower"] < 0.9 <= full[0]["upper"]


@pytest.mark.parametrize("planted", [0.5, 2.5])
def test_temperature_recovers_planted_temperature(planted):
    rng = np.random.default_rng(7)
    logits = rng.normal(0, 3, size=(20_000, 5))
    true_probs = M.apply_temperature(logits, planted)
    labels = np.array([rng.choice(5, p=p) for p in true_probs])
    fitted = M.fit_temperature(logits, labels)
    assert fitted == pytest.approx(planted, rel=0.08)


def test_temperature_is_bounded_and_accepts_log_probabilities():
    logits = np.array([[5.0, 0.0], [5.0, 0.0], [0.0, 5.0], [0.0, 5.0]])
    labels = np.array([1, 0, 0, 1])  # coin flips: the best temperature is as high as allowed
    assert M.fit_temperature(logits, labels) == pytest.approx(20.0, rel=1e-3)
    perfect = np.array([[1.0, 0.0], [0.0, 1.0]])
    with np.errstate(divide="ignore"):
        log_perfect = np.log(perfect)
    t = M.fit_temperature(log_perfect, np.array([0, 1]))  # -inf entries are handled
    assert 0.05 <= t <= 20 and math.isfinite(t)
    with pytest.raises(ValueError):
        M.fit_temperature(np.zeros((0, 2)), np.zeros(0))


# -- thresholds and intervals -----------------------------------------------------------------
def test_choose_threshold_known_answer():
    positives = np.round(np.arange(1, 11) / 10, 2)  # 0.1 .. 1.0
    negatives = np.array([0.05, 0.15, 0.35, 0.95])
    scores = np.concatenate([positives, negatives])
    is_pos = np.array([True] * 10 + [False] * 4)
    assert M.choose_threshold(scores, is_pos, 0.8) == pytest.approx(0.3)  # 8 of 10
    assert M.choose_threshold(scores, is_pos, 0.85) == pytest.approx(0.2)  # 9 of 10
    assert M.choose_threshold(scores, is_pos, 0.9) == pytest.approx(0.2)  # 9 of 10, no float slip
    assert M.choose_threshold(scores, is_pos, 1.0) == pytest.approx(0.1)
    assert M.choose_threshold(scores, is_pos, 0.05) == pytest.approx(1.0)


def test_choose_threshold_with_ties_keeps_the_target():
    scores = np.array([0.5, 0.5, 0.5, 0.9, 0.5, 0.2])
    is_pos = np.array([True, True, True, True, False, False])
    t = M.choose_threshold(scores, is_pos, 0.5)
    assert t == 0.5  # 0.9 alone gives 25 %; 0.5 includes all three tied positives
    assert M.binary_figures(scores, is_pos, t)["sensitivity"] == 1.0


def test_choose_threshold_is_the_highest_that_reaches_the_target():
    rng = np.random.default_rng(3)
    scores = np.round(rng.uniform(size=300), 2)  # many ties
    is_pos = rng.uniform(size=300) < 0.3
    for target in (0.74, 0.8, 0.9, 0.95):
        t = M.choose_threshold(scores, is_pos, target)
        assert (scores[is_pos] >= t).mean() >= target
        higher = scores[is_pos][scores[is_pos] > t]
        if len(higher):
            assert (scores[is_pos] >= higher.min()).mean() < target


def test_choose_threshold_errors():
    with pytest.raises(ValueError, match="no positive"):
        M.choose_threshold(np.array([0.2, 0.3]), np.array([False, False]), 0.9)
    with pytest.raises(ValueError, match="outside"):
        M.choose_threshold(np.array([0.2]), np.array([True]), 1.5)


def test_wilson_interval_known_values():
    low, high = M.wilson_interval(8, 10)
    assert (low, high) == (pytest.approx(0.4902, abs=1e-4), pytest.approx(0.9433, abs=1e-4))
    low, high = M.wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    low, high = M.wilson_interval(50, 100)
    assert (low, high) == (pytest.approx(0.4038, abs=1e-4), pytest.approx(0.5962, abs=1e-4))
    assert M.wilson_interval(0, 0) is None


def test_binary_figures_counts():
    figures = M.binary_figures([0.9, 0.4, 0.2, 0.6, 0.1], [True, True, False, False, False], 0.3)
    assert figures["sensitivity"] == 1.0
    assert figures["specificity"] == pytest.approx(2 / 3)
    assert (figures["positives"], figures["negatives"]) == (2, 3)
    assert figures["specificity_ci"][0] < 2 / 3 < figures["specificity_ci"][1]


# -- operating points and the model card ------------------------------------------------------
def synthetic(n: int = 600, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    logits = rng.normal(0, 1, (n, 3))
    logits[np.arange(n), labels] += 1.5
    sources = np.where(rng.uniform(size=n) < 0.5, "ham10000", "isic2017")
    return labels, M.apply_temperature(logits, 1.0), list(sources)


def test_operating_point_table_meets_targets_overall_and_reports_per_source():
    labels, probs, sources = synthetic()
    table = M.operating_point_table(labels, probs, NAMES, ["melanoma", "basal cell carcinoma"],
                                    sources=sources)
    assert set(table["classes"]) == {"melanoma", "basal cell carcinoma"}
    for name, rows in table["classes"].items():
        assert [r["target_sensitivity"] for r in rows] == [0.8, 0.85, 0.9, 0.95]
        thresholds = [r["threshold"] for r in rows]
        assert thresholds == sorted(thresholds, reverse=True)
        for row in rows:
            figures = row["validation"]
            assert figures["sensitivity"] >= row["target_sensitivity"]
            lo, hi = figures["sensitivity_ci"]
            assert lo <= figures["sensitivity"] <= hi
            assert set(row["per_source"]) == {"ham10000", "isic2017"}
            by_source = [row["per_source"][s]["validation"]["positives"] for s in row["per_source"]]
            assert sum(by_source) == figures["positives"]


def test_flagged_class_without_positives_is_skipped():
    labels = np.array([0, 1, 0, 1])
    table = M.operating_point_table(labels, one_hot_like([0, 1, 0, 1], 3), NAMES,
                                    ["melanoma", "basal cell carcinoma"])
    assert list(table["classes"]) == ["melanoma"]
    assert "basal cell carcinoma" in table["skipped"]


def test_score_operating_points_keeps_thresholds():
    labels, probs, sources = synthetic(seed=0)
    test_labels, test_probs, test_sources = synthetic(seed=1)
    table = M.operating_point_table(labels, probs, NAMES, ["melanoma"], sources=sources)
    scored = M.score_operating_points(table, test_labels, test_probs, NAMES, test_sources)
    for before, after in zip(table["classes"]["melanoma"], scored["classes"]["melanoma"]):
        assert after["threshold"] == before["threshold"]
        assert after["validation"] == before["validation"]
        expected = M.binary_figures(test_probs[:, 0], test_labels == 0, before["threshold"])
        assert after["test"] == expected
        assert "test" in after["per_source"]["isic2017"]
        assert "validation" in after["per_source"]["isic2017"]
    assert "test" not in table["classes"]["melanoma"][0]  # the input is not modified


def test_card_table_passes_model_card_validation():
    labels, probs, sources = synthetic(seed=0)
    test_labels, test_probs, test_sources = synthetic(seed=1)
    table = M.operating_point_table(labels, probs, NAMES, ["melanoma", "basal cell carcinoma"],
                                    sources=sources)
    table = M.score_operating_points(table, test_labels, test_probs, NAMES, test_sources)
    section = M.card_operating_points(table)
    assert section["default_sensitivity"] == {"melanoma": 0.9, "basal cell carcinoma": 0.85}
    card = ModelCard.from_dict(test_card(NAMES, operating_points=section))
    point = card.operating_point("melanoma")
    assert point.target_sensitivity == 0.9
    assert point.threshold == table["classes"]["melanoma"][2]["threshold"]
    assert point.validated_sensitivity >= 0.9
    assert point.test["sensitivity"] is not None
    assert set(point.per_source["ham10000"]) == {"validation", "test"}
    assert card.available_sensitivities() == (0.8, 0.85, 0.9, 0.95)


def test_broken_card_table_is_refused():
    labels, probs, sources = synthetic(seed=0)
    table = M.operating_point_table(labels, probs, NAMES, ["melanoma"], sources=sources)
    section = M.card_operating_points(table)
    rows = section["classes"]["melanoma"]
    rows[0]["threshold"], rows[-1]["threshold"] = rows[-1]["threshold"], rows[0]["threshold"]
    with pytest.raises(CardError, match="threshold rises"):
        ModelCard.from_dict(test_card(NAMES, operating_points=section))
    broken = {"classes": {"melanoma": [dict(r) for r in table["classes"]["melanoma"]]}}
    broken["classes"]["melanoma"][1]["threshold"] = 2.0
    with pytest.raises(ValueError, match="outside 0-1"):
        M.card_operating_points(broken)
    broken["classes"]["melanoma"][1]["threshold"] = 1.0
    with pytest.raises(ValueError, match="threshold rises"):
        M.card_operating_points(broken)


def test_card_default_falls_back_to_nearest_target():
    labels, probs, _ = synthetic()
    table = M.operating_point_table(labels, probs, NAMES, ["melanoma"], targets=(0.8, 0.95))
    section = M.card_operating_points(table)
    assert section["default_sensitivity"] == {"melanoma": 0.95}
    section = M.card_operating_points(table, default={"melanoma": 0.8})
    assert section["default_sensitivity"] == {"melanoma": 0.8}
    ModelCard.from_dict(test_card(NAMES, operating_points=section))
