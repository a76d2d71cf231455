"""The lesion report as a PDF: the lesion's visits as thumbnails with dates and scores.

Drawn with the same page machinery as the single-image and batch reports (``pdf``: running
header, "Page i of N", embedded fonts, atomic write). Each visit is a row: its thumbnail (the
stored image's), date, melanoma probability, most likely class, alerts, model (``*`` when not
the newest visit's model) and decision; above the rows, the change from the first to the last
visit in words; below, the melanoma probability over the visits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from skindesk.core import palette
from skindesk.core.formatting import percent

from .history import LesionHistory
from .pdf import (_Block, _box_block, _fields_block, _footer, _open_writer, _Page, _render,
                  _text_block, _title_blocks, _write_atomically, default_paper)

__all__ = ["write_lesion_report_pdf"]

_THUMB_MM = 26.0


def _visit_block(page: _Page, row: Any) -> _Block:
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QColor, QImage, QPen

    side = page.mm(_THUMB_MM)
    gap = page.mm(4)
    star = " *" if row.other_model else ""
    lines = [(row.taken_on, page.font(10, bold=True), palette.TEXT),
             (f"Melanoma {row.melanoma} · most likely {row.most_likely}", page.font(9), palette.TEXT),
             (f"Alerts: {row.alerts}", page.font(9, bold=row.alerts not in ("none", "")),
              palette.ALERT if row.alerts not in ("none", "") else palette.TEXT_MUTED),
             (f"Model: {row.model}{star}" if row.model else "Model: —", page.font(8),
              palette.WARNING_TEXT if row.other_model else palette.TEXT_MUTED)]
    if row.decision:
        lines.append((f"Decision: {row.decision}", page.font(9), palette.TEXT))
    text_w = page.content_width - side - gap
    heights = [page.text_height(text, font, text_w) for text, font, _ in lines]
    height = max(side, sum(heights) + page.mm(0.8) * len(lines))
    image = QImage()
    if row.thumbnail:
        image.loadFromData(row.thumbnail)

    def draw(painter: Any, x: float, y: float, w: float) -> None:
        box = QRectF(x, y, side, side)
        painter.setPen(QPen(QColor(palette.RULE_LIGHT), page.mm(0.2)))
        painter.setBrush(QColor(palette.TRACK))
        painter.drawRect(box)
        if not image.isNull():
            scale = min(side / image.width(), side / image.height())
            iw, ih = image.width() * scale, image.height() * scale
            painter.drawImage(QRectF(x + (side - iw) / 2, y + (side - ih) / 2, iw, ih), image)
        cy = y
        for (text, font, colour), h in zip(lines, heights):
            page.draw_text(text, font, x + side + gap, cy, text_w, colour=colour)
            cy += h + page.mm(0.8)
        painter.setPen(QPen(QColor(palette.RULE_LIGHT), page.mm(0.15)))
        painter.drawLine(int(x), int(y + height + page.mm(1.5)), int(x + w), int(y + height + page.mm(1.5)))

    return _Block(height, draw, space_after=page.mm(3))


def _plot_block(page: _Page, history: LesionHistory) -> _Block | None:
    from PySide6.QtCore import QPointF, QRectF
    from PySide6.QtGui import QColor, QPen

    points = history.series
    if len(points) < 2:
        return None
    height = page.mm(38)
    small = page.font(7.5)

    def draw(painter: Any, x: float, y: float, w: float) -> None:
        page.draw_text("Melanoma probability over visits", page.font(8.5, bold=True), x, y, w)
        area = QRectF(x + page.mm(12), y + page.mm(6), w - page.mm(16), height - page.mm(12))
        for value in (0.0, 0.5, 1.0):
            gy = area.bottom() - value * area.height()
            painter.setPen(QPen(QColor(palette.RULE_LIGHT), page.mm(0.15)))
            painter.drawLine(QPointF(area.left(), gy), QPointF(area.right(), gy))
            page.draw_text(percent(value), small, x, gy - page.mm(1.6), page.mm(10),
                           colour=palette.TEXT_FAINT, align="right")
        first, last = points[0].taken_on, points[-1].taken_on
        span = max(1, (last - first).days)

        def at(point: Any) -> QPointF:
            return QPointF(area.left() + area.width() * (point.taken_on - first).days / span,
                           area.bottom() - point.probability * area.height())

        painter.setPen(QPen(QColor(palette.MALIGNANT), page.mm(0.4)))
        for a, b in zip(points, points[1:]):
            painter.drawLine(at(a), at(b))
        radius = page.mm(1.1)
        for point in points:
            centre = at(point)
            if point.other_model:
                painter.setPen(QPen(QColor(palette.TEXT_FAINT), page.mm(0.3)))
                painter.setBrush(QColor("#ffffff"))
                painter.drawRect(QRectF(centre.x() - radius, centre.y() - radius, 2 * radius, 2 * radius))
            else:
                painter.setPen(QPen(QColor(palette.MALIGNANT), page.mm(0.2)))
                painter.setBrush(QColor(palette.MALIGNANT))
                painter.drawEllipse(centre, radius, radius)
        page.draw_text(first.isoformat(), small, area.left(), area.bottom() + page.mm(1), page.mm(30),
                       colour=palette.TEXT_FAINT)
        page.draw_text(last.isoformat(), small, area.right() - page.mm(30), area.bottom() + page.mm(1),
                       page.mm(30), colour=palette.TEXT_FAINT, align="right")

    return _Block(height, draw, space_after=page.mm(3))


def _blocks(page: _Page, history: LesionHistory) -> list[_Block]:
    blocks = _title_blocks(page, history.clinic, "Lesion history by SkinDesk",
                           "decision support, not a diagnosis")
    blocks.append(_fields_block(page, [
        [("Patient ID", history.patient_id), ("Name", history.patient_name),
         ("Born", history.birth_year)],
        [("Lesion", history.lesion), ("Site", history.site),
         ("Histology", history.histopathology)],
    ]))
    blocks.append(_box_block(page, "Change", [history.change], palette.NOTICE, palette.NOTICE_FILL,
                             palette.NOTICE_TEXT))
    plot = _plot_block(page, history)
    if plot is not None:
        blocks.append(plot)
    heading = _text_block(page, f"Visits ({len(history.rows)}), oldest first",
                          page.font(10, bold=True), space_after=1.5)
    heading.keep_with_next = True
    blocks.append(heading)
    blocks += [_visit_block(page, row) for row in history.rows]
    about = list(history.notes) + [history.limitation, f"Disclaimer: {history.disclaimer}"]
    blocks.append(_text_block(page, "\n".join(about), page.font(7.5), colour=palette.TEXT_MUTED))
    return blocks


def write_lesion_report_pdf(history: LesionHistory, path: str | Path, *, paper: str | None = None,
                            overwrite: bool = False) -> Path:
    """Write the lesion report to ``path`` atomically (``ReportError`` as the other reports)."""

    def draw(temporary: str) -> None:
        writer, painter = _open_writer(temporary, paper or default_paper(), "SkinDesk lesion report")
        try:
            page = _Page(writer, painter)
            header = (f"SkinDesk lesion history · Patient {history.patient_id} · {history.lesion} · "
                      f"{history.created_at:%Y-%m-%d %H:%M}")
            _render(writer, painter, page, _blocks(page, history), header, _footer(history.disclaimer))
        finally:
            painter.end()

    return _write_atomically(path, overwrite, draw)
