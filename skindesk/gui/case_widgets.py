"""Small widgets and helpers the Patients pane and the Compare view share.

``open_case_store`` opens the store named by ``$SKINDESK_DATABASE`` or the ``cases/database``
setting (else the per-user SQLite store) and says plainly why when it cannot.
``MelanomaPlot`` draws a class's probability over a lesion's visits (``compare.probability_series``):
filled dots for the newest visit's model, hollow squares for results of another model version,
a dashed line at the alert threshold when one is known, the compared visits ringed.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import QMessageBox, QWidget

from skindesk.cases import CaseStore
from skindesk.cases.compare import SeriesPoint
from skindesk.core import palette
from skindesk.core.errors import SkinDeskError
from skindesk.core.formatting import percent

from .settings import AppSettings

__all__ = ["DATABASE_SETTING", "open_case_store", "thumbnail_pixmap", "MelanomaPlot"]

DATABASE_SETTING = "cases/database"


def open_case_store(settings: AppSettings, parent: QWidget | None = None) -> CaseStore | None:
    """The case store, or None after telling the user why it cannot be opened."""
    setting = str(settings.store.value(DATABASE_SETTING, "") or "")
    try:
        return CaseStore.open(None, setting=setting or None)
    except (SkinDeskError, ValueError, OSError) as error:
        if parent is not None:
            QMessageBox.warning(parent, "Case store", str(error))
        return None


def thumbnail_pixmap(data: bytes | None, side: int = 96) -> QPixmap:
    """A pixmap of a stored JPEG thumbnail (a grey square when there is none)."""
    pixmap = QPixmap()
    if not data or not pixmap.loadFromData(data):
        pixmap = QPixmap(side, side)
        pixmap.fill(QColor(palette.TRACK))
        return pixmap
    return pixmap.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                         Qt.TransformationMode.SmoothTransformation)


class MelanomaPlot(QWidget):
    """A class's probability over visits (see the module docstring)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("historyPlot")
        self.setAccessibleName("Melanoma probability over visits")
        self._points: list[SeriesPoint] = []
        self._threshold: float | None = None
        self._marked: set[int] = set()
        self.class_label = "Melanoma"

    def set_series(self, points: Sequence[SeriesPoint], threshold: float | None = None,
                   marked: Sequence[int] = ()) -> None:
        self._points = list(points)
        self._threshold = threshold
        self._marked = set(marked)
        self.setToolTip(self.text_summary())
        self.update()

    def points(self) -> list[SeriesPoint]:
        return list(self._points)

    def text_summary(self) -> str:
        """The plot in words (tooltip and screen readers)."""
        if not self._points:
            return f"{self.class_label}: no scored visits"
        return f"{self.class_label} by visit: " + ", ".join(
            f"{p.taken_on.isoformat()} {percent(p.probability)}"
            + (" (other model version)" if p.other_model else "") + (" alert" if p.alert else "")
            for p in self._points)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(420, 150)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor("#ffffff"))
        small = QFont(self.font())
        small.setPointSizeF(max(7.0, small.pointSizeF() - 1))
        painter.setFont(small)
        area = QRectF(self.rect()).adjusted(40, 22, -14, -22)
        painter.setPen(QColor(palette.TEXT))
        painter.drawText(QRectF(4, 2, self.width() - 8, 18), Qt.AlignmentFlag.AlignLeft,
                         f"{self.class_label} probability over visits")
        for value in (0.0, 0.5, 1.0):
            y = area.bottom() - value * area.height()
            painter.setPen(QPen(QColor(palette.RULE_LIGHT), 1))
            painter.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
            painter.setPen(QColor(palette.TEXT_FAINT))
            painter.drawText(QRectF(0, y - 8, 36, 16), Qt.AlignmentFlag.AlignRight, percent(value))
        if self._threshold is not None:
            y = area.bottom() - self._threshold * area.height()
            painter.setPen(QPen(QColor(palette.ALERT), 1, Qt.PenStyle.DashLine))
            painter.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
        if not self._points:
            painter.setPen(QColor(palette.TEXT_FAINT))
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, "no scored visits yet")
            return
        first, last = self._points[0].taken_on, self._points[-1].taken_on
        span = max(1, (last - first).days)

        def at(point: SeriesPoint) -> QPointF:
            x = area.left() + (area.width() * (point.taken_on - first).days / span
                               if len(self._points) > 1 else area.width() / 2)
            return QPointF(x, area.bottom() - point.probability * area.height())

        painter.setPen(QPen(QColor(palette.MALIGNANT), 1.5))
        for a, b in zip(self._points, self._points[1:]):
            painter.drawLine(at(a), at(b))
        for point in self._points:
            centre = at(point)
            if point.other_model:
                painter.setPen(QPen(QColor(palette.TEXT_FAINT), 1.5))
                painter.setBrush(QColor("#ffffff"))
                painter.drawRect(QRectF(centre.x() - 4, centre.y() - 4, 8, 8))
            else:
                painter.setPen(QPen(QColor(palette.MALIGNANT), 1))
                painter.setBrush(QColor(palette.MALIGNANT))
                painter.drawEllipse(centre, 4, 4)
            if point.visit_id in self._marked:
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.setPen(QPen(QColor(palette.MARKER), 1.5))
                painter.drawEllipse(centre, 8, 8)
        painter.setPen(QColor(palette.TEXT_FAINT))
        painter.drawText(QRectF(area.left(), area.bottom() + 4, area.width(), 16),
                         Qt.AlignmentFlag.AlignLeft, first.isoformat())
        painter.drawText(QRectF(area.left(), area.bottom() + 4, area.width(), 16),
                         Qt.AlignmentFlag.AlignRight, last.isoformat())
        if any(p.other_model for p in self._points):
            painter.drawText(QRectF(4, 2, self.width() - 8, 18), Qt.AlignmentFlag.AlignRight,
                             "□ other model version")
