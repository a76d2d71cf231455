"""The probability chart: one horizontal bar per class, sorted, with percentages.

A custom-painted widget (it renders the same offscreen, under Xvfb and on a desktop, and its
values can be read back with ``rows()``). The top class is drawn bold with a dark outline;
malignant bars are red, pre-malignant amber, benign slate blue, each with a text tag, so the
distinction never rests on colour alone. Each flagged class with a validated operating point
shows its alert threshold as a black marker on its bar (filled when the probability reached it).
Clicking a bar (or Up/Down with the keyboard) selects that class for the heat map.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QKeyEvent, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from skindesk.core import palette
from skindesk.core.class_rows import ClassRow, class_rows
from skindesk.core.modelcard import ModelCard
from skindesk.core.prediction import Prediction

from .style import group_colour, percent

__all__ = ["ChartRow", "ProbabilityChart", "chart_rows"]

ROW_HEIGHT = 30
BAR_HEIGHT = 16
LEFT_PAD = 8


ChartRow = ClassRow  # the chart draws the core's per-class rows


def chart_rows(
    prediction: Prediction, card: ModelCard | None = None, sensitivity: float | None = None
) -> list[ClassRow]:
    """The chart's rows for ``prediction``, highest probability first (``class_rows``; an
    operating point the card does not offer raises ``CardError`` as everywhere else)."""
    return class_rows(prediction, card, sensitivity)


class ProbabilityChart(QWidget):
    """Horizontal bars of every class's probability (see the module docstring)."""

    class_selected = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[ChartRow] = []
        self._selected: str | None = None
        self.setObjectName("probabilityChart")
        self.setAccessibleName("Class probabilities")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMouseTracking(True)
        self.setToolTip("Click a class to show where the model looked for it (heat map)")

    # -- data -------------------------------------------------------------------------
    def set_rows(self, rows: list[ChartRow]) -> None:
        self._rows = list(rows)
        if self._selected not in {r.name for r in self._rows}:
            self._selected = None
        self.setAccessibleDescription(self.text_summary())
        self.updateGeometry()
        self.update()

    def clear(self) -> None:
        self.set_rows([])

    def rows(self) -> list[ChartRow]:
        """The rows as drawn, top to bottom."""
        return list(self._rows)

    def values(self) -> dict[str, float]:
        """Class name → probability as drawn."""
        return {r.name: r.probability for r in self._rows}

    def selected_class(self) -> str | None:
        return self._selected

    def select_class(self, name: str | None, emit: bool = True) -> None:
        if name is not None and name not in {r.name for r in self._rows}:
            return
        self._selected = name
        self.update()
        if emit and name is not None:
            self.class_selected.emit(name)

    def text_summary(self) -> str:
        """The chart in words (the accessible description; also useful in tests)."""
        return "; ".join(row.wording for row in self._rows)

    # -- geometry ---------------------------------------------------------------------
    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(420, max(1, len(self._rows)) * ROW_HEIGHT + 12)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(300, max(1, len(self._rows)) * ROW_HEIGHT + 12)

    def _layout(self) -> tuple[float, float, float]:
        """(label width, bar x, bar width) for the current size."""
        metrics = QFontMetrics(self._bold_font())
        label = max([metrics.horizontalAdvance(r.display_name) for r in self._rows] + [80])
        tag = QFontMetrics(self._small_font()).horizontalAdvance("pre-malignant") + 8
        label_width = min(max(label, tag) + 14, self.width() * 0.5)
        value_width = metrics.horizontalAdvance("100 %") + 10
        bar_x = LEFT_PAD + label_width
        bar_width = max(40.0, self.width() - bar_x - value_width - LEFT_PAD)
        return label_width, bar_x, bar_width

    def bar_rect(self, index: int) -> QRectF:
        """The full-width track of row ``index`` (the bar fills its left part)."""
        _, bar_x, bar_width = self._layout()
        top = 6 + index * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2
        return QRectF(bar_x, top, bar_width, BAR_HEIGHT)

    def row_at(self, y: float) -> int | None:
        index = int((y - 6) // ROW_HEIGHT)
        return index if 0 <= index < len(self._rows) else None

    # -- painting ---------------------------------------------------------------------
    def _bold_font(self) -> QFont:
        font = QFont(self.font())
        font.setBold(True)
        return font

    def _small_font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(max(6.5, font.pointSizeF() * 0.8))
        return font

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        text_colour = palette.windowText().color()
        if not self._rows:
            painter.setPen(palette.placeholderText().color())
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No result yet")
            return
        label_width, bar_x, bar_width = self._layout()
        for index, row in enumerate(self._rows):
            y = 6 + index * ROW_HEIGHT
            colour = group_colour(row.group)
            track = self.bar_rect(index)
            if row.name == self._selected:
                painter.fillRect(QRectF(0, y, self.width(), ROW_HEIGHT), QColor(palette.highlight().color().lighter(190)))
            # label and group tag
            painter.setFont(self._bold_font() if row.top else self.font())
            painter.setPen(text_colour)
            name_rect = QRectF(LEFT_PAD, y, label_width, ROW_HEIGHT * 0.62)
            painter.drawText(name_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom,
                             row.display_name)
            if row.group != "benign":
                painter.setFont(self._small_font())
                painter.setPen(colour.darker(115))
                tag_rect = QRectF(LEFT_PAD, y + ROW_HEIGHT * 0.60, label_width, ROW_HEIGHT * 0.40)
                painter.drawText(tag_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                                 row.group)
            # track and bar
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(palette.base().color().darker(108))
            painter.drawRoundedRect(track, 3, 3)
            fill = QColor(colour)
            if not row.top:
                fill.setAlpha(170)
            painter.setBrush(fill)
            bar = QRectF(track.x(), track.y(), max(1.5, track.width() * row.probability), track.height())
            painter.drawRoundedRect(bar, 3, 3)
            if row.top:
                painter.setPen(QPen(text_colour, 2))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRoundedRect(bar.adjusted(-1, -1, 1, 1), 3, 3)
            if row.threshold is not None:
                self._draw_threshold(painter, track, row)
            # value
            painter.setFont(self._bold_font() if row.top else self.font())
            painter.setPen(text_colour)
            value_rect = QRectF(bar_x + bar_width + 6, y, self.width() - bar_x - bar_width - 6, ROW_HEIGHT)
            painter.drawText(value_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             percent(row.probability))
        if self.hasFocus() and self._selected is not None:
            names = [r.name for r in self._rows]
            index = names.index(self._selected)
            painter.setPen(QPen(palette.highlight().color(), 1, Qt.PenStyle.DashLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(1, 6 + index * ROW_HEIGHT, self.width() - 2, ROW_HEIGHT - 1))

    def _draw_threshold(self, painter: QPainter, track: QRectF, row: ChartRow) -> None:
        x = track.x() + track.width() * float(row.threshold or 0.0)
        painter.setPen(QPen(QColor(palette.MARKER), 2))
        painter.drawLine(QPointF(x, track.top() - 4), QPointF(x, track.bottom() + 4))
        path = QPainterPath()
        path.moveTo(x - 5, track.top() - 6)
        path.lineTo(x + 5, track.top() - 6)
        path.lineTo(x, track.top() - 1)
        path.closeSubpath()
        painter.setPen(QPen(QColor(palette.MARKER), 1))
        painter.setBrush(QColor(palette.MARKER) if row.alerted else QColor("white"))
        painter.drawPath(path)

    # -- interaction ------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        index = self.row_at(event.position().y())
        if index is not None:
            self.select_class(self._rows[index].name)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        index = self.row_at(event.position().y())
        if index is None:
            self.setCursor(Qt.CursorShape.ArrowCursor)
        else:
            self.setCursor(Qt.CursorShape.PointingHandCursor)
            row = self._rows[index]
            self.setToolTip(f"{row.wording}\nClick to show where the model looked for it")
        super().mouseMoveEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        if not self._rows or event.key() not in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            super().keyPressEvent(event)
            return
        names = [r.name for r in self._rows]
        index = names.index(self._selected) if self._selected in names else -1
        index += 1 if event.key() == Qt.Key.Key_Down else -1
        self.select_class(names[max(0, min(len(names) - 1, index))])
