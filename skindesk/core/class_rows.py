"""The per-class rows every presenter shows: the app's chart, the PDF's bars and threshold table.

``class_rows`` gives, for each class of a prediction, its name, probability, group, alert
threshold at the chosen operating point (with the operating point's validated figures), whether
it raised an alert, whether it is the top class, and its wording. One card-error policy: an
operating point the card does not offer raises ``CardError`` (the prediction itself could not
have been made with it), and every presenter reports it rather than drawing rows without
thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass

from .formatting import percent
from .modelcard import ModelCard, OperatingPoint
from .prediction import Prediction
from .wording import alert_phrase

__all__ = ["ClassRow", "class_rows", "card_thresholds", "group_shares"]


@dataclass(frozen=True)
class ClassRow:
    """One class of a prediction as every output shows it."""

    name: str
    display_name: str
    probability: float
    group: str  # malignant, pre-malignant or benign
    threshold: float | None  # alert threshold at the chosen operating point
    alerted: bool
    top: bool
    point: OperatingPoint | None = None

    @property
    def wording(self) -> str:
        """'Melanoma 24 % (malignant), alert threshold 9 % reached' in plain words."""
        text = f"{self.display_name} {percent(self.probability)}"
        if self.group != "benign":
            text += f" ({self.group})"
        if self.threshold is not None:
            text += f", alert threshold {percent(self.threshold)}"
            if self.alerted:
                text += " reached"
        return text

    @property
    def alert_text(self) -> str:
        """'melanoma 24 % ≥ alert threshold 9 %' when this class raised an alert, else ''."""
        if not self.alerted or self.threshold is None:
            return ""
        return alert_phrase(self.display_name, self.probability, self.threshold)


def class_rows(prediction: Prediction, card: ModelCard | None = None,
               sensitivity: float | None = None, *, by_probability: bool = True) -> list[ClassRow]:
    """The rows of ``prediction`` (highest probability first, or in the model's class order).

    Raises:
        CardError: ``sensitivity`` is not an operating point ``card`` validated.
    """
    alerted = {a.class_name: a for a in prediction.alerts}
    top = prediction.top_class.name
    order = prediction.top_k() if by_probability else list(
        zip(prediction.classes, (float(p) for p in prediction.probabilities)))
    rows = []
    for info, probability in order:
        point = None
        if card is not None and info.flagged and card.operating_points:
            point = card.operating_point(info.name, sensitivity)
        alert = alerted.get(info.name)
        threshold = alert.threshold if alert is not None else (
            None if point is None else point.threshold)
        rows.append(ClassRow(
            name=info.name, display_name=info.display_name, probability=float(probability),
            group=info.group, threshold=threshold, alerted=alert is not None,
            top=info.name == top, point=point,
        ))
    return rows


def card_thresholds(card: ModelCard, sensitivity: float | None = None
                    ) -> list[tuple[str, OperatingPoint]]:
    """(display name, operating point) of every flagged class with a validated threshold at
    ``sensitivity`` (None: the card's defaults), in the model's class order; raises
    ``CardError`` like ``class_rows``."""
    rows = []
    for info in card.classes:
        if info.flagged and card.operating_points:
            point = card.operating_point(info.name, sensitivity)
            if point is not None:
                rows.append((info.display_name, point))
    return rows


def group_shares(rows: list[ClassRow]) -> dict[str, float]:
    """Summed probability per group (malignant, pre-malignant, benign)."""
    shares = {"malignant": 0.0, "pre-malignant": 0.0, "benign": 0.0}
    for row in rows:
        shares[row.group] = shares.get(row.group, 0.0) + row.probability
    return shares
