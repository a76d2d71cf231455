"""Typed results: a ``Prediction`` per image, with its alerts and a plain-words summary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .assessment import Assessment, assessment_of
from .formatting import percent
from .modelcard import ClassInfo, ModelCard
from .quality import QualityIssue
from .wording import NOT_ASSESSED_ADVICE, NOT_DERMOSCOPY, alert_phrase

__all__ = [
    "NOT_DERMOSCOPY",
    "Alert",
    "Prediction",
    "make_prediction",
    "alerts_for",
    "operating_point_label",
    "default_heatmap_class",
]


@dataclass(frozen=True)
class Alert:
    """A flagged class whose calibrated probability reached its validated threshold."""

    class_name: str
    display_name: str
    probability: float
    threshold: float
    target_sensitivity: float
    validated_sensitivity: float
    validated_specificity: float

    def text(self) -> str:
        """How the alert reads in every output: 'melanoma 24 % ≥ alert threshold 9 %'."""
        return alert_phrase(self.display_name, self.probability, self.threshold)

    def sentence(self) -> str:
        """The alert with its validated sensitivity, for the banner and the summary."""
        return f"{self.text()} ({percent(self.validated_sensitivity)} sensitivity on validation)"


@dataclass(frozen=True)
class Prediction:
    """What the model says about one image. ``probabilities`` follow ``classes``' order."""

    classes: tuple[ClassInfo, ...]
    probabilities: np.ndarray
    uncertain: bool
    uncertainty_threshold: float
    ood_score: float | None = None
    out_of_distribution: bool | None = None
    cam: np.ndarray | None = None
    alerts: tuple[Alert, ...] = ()
    alerts_available: bool = False
    operating_point: str = ""
    path: str | None = None
    quality: tuple[QualityIssue, ...] = ()
    withheld_alerts: tuple[Alert, ...] = ()

    @property
    def assessed(self) -> bool:
        """False when the gate or a quality check says the image is not fit to assess: then
        no alert is raised and the probabilities are shown only on request."""
        return not self.out_of_distribution and not self.quality

    @property
    def assessment(self) -> Assessment:
        """The status every output shows and, when not assessed, every reason (gate first)."""
        return assessment_of(self.out_of_distribution, [q.code for q in self.quality],
                             bool(self.alerts))

    @property
    def not_assessed_reason(self) -> str:
        """Why the image was not assessed, as the banner says it ('' when it was)."""
        return self.assessment.reason

    @property
    def status(self) -> str:
        """'not assessed', 'review advised' or 'no alert': the one status every output shows."""
        return self.assessment.status

    @property
    def review_advised(self) -> bool:
        """True when any malignant or pre-malignant class reached its alert threshold."""
        return bool(self.alerts)

    @property
    def top_index(self) -> int:
        return int(np.argmax(self.probabilities))

    @property
    def top_class(self) -> ClassInfo:
        return self.classes[self.top_index]

    @property
    def top_probability(self) -> float:
        return float(self.probabilities[self.top_index])

    def class_index(self, name: str) -> int:
        """Position of class ``name`` in ``classes`` (ValueError for a class the model lacks)."""
        for index, info in enumerate(self.classes):
            if info.name == name:
                return index
        raise ValueError(f"no class {name!r} in this prediction")

    def as_dict(self) -> dict[str, float]:
        """Class name → probability, in the model's class order."""
        return {c.name: float(p) for c, p in zip(self.classes, self.probabilities)}

    def top_k(self, k: int | None = None) -> list[tuple[ClassInfo, float]]:
        """Classes sorted by probability, highest first (all of them when ``k`` is None)."""
        order = np.argsort(-self.probabilities, kind="stable")
        if k is not None:
            order = order[:k]
        return [(self.classes[i], float(self.probabilities[i])) for i in order]

    def summary(self) -> str:
        """One line in plain words; an alert, when there is one, comes first."""
        top = self.top_class
        parts: list[str] = []
        if not self.assessed:
            return "Not assessed: " + "; ".join(self.assessment.reasons) + ". " + NOT_ASSESSED_ADVICE
        if self.alerts:
            parts.append("Review advised: " + "; ".join(a.sentence() for a in self.alerts) + ".")
        most_likely = f"Most likely: {top.display_name.lower()} {percent(self.top_probability)}"
        if top.malignant:
            most_likely += " — a malignant class; clinical review advised"
        elif top.premalignant:
            most_likely += " — a pre-malignant class; clinical review advised"
        parts.append(most_likely + ".")
        if self.uncertain:
            parts.append(
                f"Uncertain: no class reaches {percent(self.uncertainty_threshold)}; do not rely on "
                "the top class."
            )
        if not self.alerts_available:
            parts.append("No validated alert threshold exists for this model: probabilities only.")
        return " ".join(parts)


def default_heatmap_class(prediction: Prediction) -> str:
    """The class whose heat map is shown unless the user picks another: the strongest alert's
    class when review is advised (a confident benign top class must never hide a possible
    cancer), otherwise the top class. The app and the PDF report both follow this rule."""
    if prediction.alerts:
        return prediction.alerts[0].class_name
    return prediction.top_class.name


def operating_point_label(card: ModelCard, sensitivity: float | None) -> str:
    """Human-readable operating point, e.g. 'melanoma 90 %, others 85 % target sensitivity'."""
    if not card.operating_points:
        return "none (model has no validated alert thresholds)"
    if sensitivity is not None:
        return f"{percent(sensitivity)} target sensitivity for every flagged class"
    chosen = {name: card.operating_point(name).target_sensitivity for name in card.operating_points}
    return ", ".join(f"{name} {percent(value)}" for name, value in chosen.items()) + " target sensitivity"


def alerts_for(
    card: ModelCard, probabilities: np.ndarray, sensitivity: float | None = None
) -> tuple[Alert, ...]:
    """Alerts of flagged classes whose probability is at or above their threshold."""
    alerts = []
    for index, info in enumerate(card.classes):
        if not info.flagged:
            continue
        point = card.operating_point(info.name, sensitivity)
        if point is None:
            continue
        probability = float(probabilities[index])
        if probability >= point.threshold:
            alerts.append(
                Alert(
                    class_name=info.name,
                    display_name=info.display_name,
                    probability=probability,
                    threshold=point.threshold,
                    target_sensitivity=point.target_sensitivity,
                    validated_sensitivity=point.validated_sensitivity,
                    validated_specificity=point.validated_specificity,
                )
            )
    alerts.sort(key=lambda a: a.probability - a.threshold, reverse=True)
    return tuple(alerts)


def make_prediction(
    card: ModelCard,
    probabilities: np.ndarray,
    *,
    ood_score: float | None = None,
    cam: np.ndarray | None = None,
    sensitivity: float | None = None,
    path: str | None = None,
    quality: Sequence[QualityIssue] = (),
    gate_threshold: float | None = None,
) -> Prediction:
    """Build a ``Prediction`` from one probability vector under ``card``'s rules.

    ``gate_threshold`` overrides the card's default gate threshold (a clinic's strictness);
    an image the gate or a quality check rejects raises no alert (they are kept as withheld).
    """
    probabilities = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    if probabilities.shape[0] != len(card.classes):
        raise ValueError(
            f"{probabilities.shape[0]} probabilities for {len(card.classes)} classes"
        )
    ood = None
    threshold = card.ood_threshold if gate_threshold is None else gate_threshold
    if ood_score is not None and threshold is not None:
        ood = bool(ood_score >= threshold)
    alerts = alerts_for(card, probabilities, sensitivity)
    assessed = not ood and not quality
    return Prediction(
        classes=card.classes,
        probabilities=probabilities,
        uncertain=bool(probabilities.max() < card.uncertainty_threshold),
        uncertainty_threshold=card.uncertainty_threshold,
        ood_score=None if ood_score is None else float(ood_score),
        out_of_distribution=ood,
        cam=cam,
        alerts=alerts if assessed else (),
        alerts_available=bool(card.operating_points),
        operating_point=operating_point_label(card, sensitivity),
        path=path,
        quality=tuple(quality),
        withheld_alerts=() if assessed else alerts,
    )
