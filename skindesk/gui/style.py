"""Colours and small text helpers shared by SkinDesk's widgets (one palette, one place).

Malignant classes are red, pre-malignant amber, benign slate blue; the alert banner uses the
malignant red so the clinician links the banner to the bars that raised it.
"""

from __future__ import annotations

from PySide6.QtGui import QColor

__all__ = [
    "MALIGNANT",
    "PREMALIGNANT",
    "BENIGN",
    "WARNING",
    "group_colour",
    "percent",
]

MALIGNANT = QColor("#c62828")
PREMALIGNANT = QColor("#ef8f00")
BENIGN = QColor("#4f6d8f")
WARNING = QColor("#8a6d00")


def group_colour(group: str) -> QColor:
    """Bar colour of a class group ('malignant', 'pre-malignant' or 'benign')."""
    if group == "malignant":
        return QColor(MALIGNANT)
    if group == "pre-malignant":
        return QColor(PREMALIGNANT)
    return QColor(BENIGN)


def percent(value: float) -> str:
    """A probability as a percentage for display: '82 %', '<1 %' for tiny non-zero values."""
    if 0.0 < value < 0.005:
        return "<1 %"
    return f"{value * 100:.0f} %"
