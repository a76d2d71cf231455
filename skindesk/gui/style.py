"""The core palette (``skindesk.core.palette``) as Qt colours, and the one percent format.

Malignant classes are red, pre-malignant amber, benign slate blue; the alert banner uses the
malignant red so the clinician links the banner to the bars that raised it.
"""

from __future__ import annotations

from PySide6.QtGui import QColor

from skindesk.core import palette
from skindesk.core.formatting import percent

__all__ = [
    "MALIGNANT",
    "PREMALIGNANT",
    "BENIGN",
    "WARNING",
    "group_colour",
    "percent",
]

MALIGNANT = QColor(palette.MALIGNANT)
PREMALIGNANT = QColor(palette.PREMALIGNANT)
BENIGN = QColor(palette.BENIGN)
WARNING = QColor(palette.WARNING_TEXT)


def group_colour(group: str) -> QColor:
    """Bar colour of a class group ('malignant', 'pre-malignant' or 'benign')."""
    return QColor(palette.group_colour(group))
