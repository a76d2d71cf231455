"""PDF rendering of reports with Qt's ``QPdfWriter`` + ``QPainter`` (headless-safe).

``write_report_pdf`` draws a ``ReportContent`` (single image) and ``write_batch_report_pdf`` a
``BatchContent`` (table of a batch run). Both lay out blocks top to bottom, break pages between
blocks, put a running header and "Page i of N" on every page, embed the fonts (Qt embeds subsets
of the TrueType fonts it uses; the shipped Droid Sans Fallback covers Chinese, Japanese and other
scripts that the system's Latin font lacks) and write atomically: the PDF is drawn into a
temporary file in the destination folder and moved over the destination with ``os.replace`` only
when complete, so an error never leaves a half-written PDF. On Linux without a display the
``offscreen`` Qt platform is chosen. Nothing about the patient is logged.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from skindesk.core.atomic import is_special_file, write_atomically

from skindesk.core import palette
from skindesk.core.formatting import percent, percent_pair
from skindesk.core.heatmap import LEGEND_TEXT, legend_ramp

from .content import BatchContent, ReportContent, ReportError, not_assessed_lines

__all__ = [
    "PAPER_SIZES",
    "default_paper",
    "ensure_gui_application",
    "font_families",
    "write_report_pdf",
    "write_batch_report_pdf",
]

PAPER_SIZES = ("a4", "letter")
_DPI = 300
_MARGIN_MM = 15.0
_MAX_IMAGE_SIDE = 1400
_LATIN_FAMILIES = ("DejaVu Sans", "Segoe UI", "Arial", "Helvetica", "Liberation Sans", "Noto Sans")
_APP: Any = None
_SHIPPED_FAMILIES: list[str] | None = None


# -- Qt set-up --------------------------------------------------------------------------
def ensure_gui_application() -> Any:
    """The running ``QGuiApplication`` (the app's), or a new one; offscreen when no display."""
    global _APP
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtGui import QGuiApplication

    app = QCoreApplication.instance()
    if app is None:
        if (
            sys.platform.startswith("linux")
            and not os.environ.get("DISPLAY")
            and not os.environ.get("WAYLAND_DISPLAY")
        ):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        _APP = app = QGuiApplication(["skindesk"])
    elif not isinstance(app, QGuiApplication):
        raise ReportError("cannot draw a PDF: a non-GUI Qt application is already running")
    return app


def _font_folders() -> list[Path]:
    folders = []
    try:  # the app's resource locator, when present
        from skindesk import paths  # type: ignore[attr-defined]

        for name in ("resources_dir", "resource_dir", "resources_path"):
            function = getattr(paths, name, None)
            if callable(function):
                folders.append(Path(function()) / "fonts")
                break
    except ImportError:
        pass
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        folders.append(Path(bundle) / "resources" / "fonts")
    folders.append(Path(__file__).resolve().parents[2] / "resources" / "fonts")
    return folders


def font_families() -> list[str]:
    """Font families for reports, in fallback order (a Latin font, then the shipped CJK font)."""
    global _SHIPPED_FAMILIES
    from PySide6.QtGui import QFontDatabase

    ensure_gui_application()
    if _SHIPPED_FAMILIES is None:
        _SHIPPED_FAMILIES = []
        for folder in _font_folders():
            for font_file in sorted(folder.glob("*.[ot]tf")) if folder.is_dir() else []:
                font_id = QFontDatabase.addApplicationFont(str(font_file))
                if font_id >= 0:
                    _SHIPPED_FAMILIES += QFontDatabase.applicationFontFamilies(font_id)
            if _SHIPPED_FAMILIES:
                break
    installed = set(QFontDatabase.families())
    families = [f for f in _LATIN_FAMILIES if f in installed][:2]
    families += [f for f in _SHIPPED_FAMILIES if f not in families]
    return families or ["sans-serif"]


_LETTER_TERRITORIES = ("UnitedStates", "Canada", "Mexico", "Philippines", "Chile", "Colombia",
                       "Venezuela", "PuertoRico")


def default_paper(locale: Any = None) -> str:
    """'letter' where ``locale`` (default: the system's) uses US paper, else 'a4'."""
    from PySide6.QtCore import QLocale

    locale = QLocale.system() if locale is None else locale
    if locale.measurementSystem() == QLocale.MeasurementSystem.ImperialUSSystem:
        return "letter"
    territories = getattr(QLocale, "Territory", None) or QLocale.Country
    letter = {getattr(territories, name) for name in _LETTER_TERRITORIES
              if hasattr(territories, name)}
    return "letter" if locale.territory() in letter else "a4"


# -- atomic writing -----------------------------------------------------------------------
def _write_atomically(path: str | Path, overwrite: bool, draw: Callable[[str], None]) -> Path:
    """Run ``draw(temporary_path)`` then put the result at ``path``; never leave a partial file
    (``skindesk.core.atomic``: a device or FIFO is written directly, never replaced)."""
    path = Path(path)
    if path.suffix.lower() != ".pdf" and not is_special_file(path):
        raise ReportError(f"{path}: a report file name must end in .pdf")
    if path.is_dir():
        raise ReportError(f"{path}: is a folder, not a file name")
    if path.exists() and not overwrite:
        raise ReportError(f"{path}: already exists; it was not overwritten")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ReportError(f"{path}: the folder {folder} does not exist")

    def produce(temporary: str) -> None:
        draw(temporary)
        with open(temporary, "rb") as check:
            head = check.read(5)
            check.seek(0, os.SEEK_END)
            size = check.tell()
        if head != b"%PDF-" or size < 200:
            raise ReportError(f"{path}: the PDF could not be produced (empty output)")
        if path.exists() and not overwrite:
            raise ReportError(f"{path}: already exists; it was not overwritten")

    try:
        return write_atomically(path, produce, prefix=".skindesk-report-", suffix=".pdf.part")
    except ReportError:
        raise
    except OSError as error:
        raise ReportError(f"{path}: cannot be written ({error.strerror or error})") from error
    except Exception as error:  # noqa: BLE001 - Qt or PIL failing while drawing
        raise ReportError(f"{path}: the report could not be drawn ({error})") from error


# -- layout machinery -----------------------------------------------------------------------
@dataclass
class _Block:
    height: float
    draw: Callable[[Any, float, float, float], None]
    header: _Block | None = None  # drawn first when this block starts a new page
    space_after: float = 0.0
    keep_with_next: bool = False  # a heading: never the last thing on a page


class _Page:
    """Geometry and fonts for one document (device units: pixels at ``_DPI``)."""

    def __init__(self, writer: Any, painter: Any) -> None:
        from PySide6.QtGui import QFont

        self.writer, self.painter = writer, painter
        self.width, self.height = writer.width(), writer.height()
        self.margin = self.mm(_MARGIN_MM)
        self.left, self.right = self.margin, self.width - self.margin
        self.content_width = self.right - self.left
        self.top = self.margin + self.mm(8)  # below the running header (``_render`` may lower it)
        self.bottom = self.height - self.margin - self.mm(12)  # above the footer
        self.families = font_families()

        def font(size: float, bold: bool = False, italic: bool = False) -> QFont:
            f = QFont()
            f.setFamilies(self.families)
            f.setPointSizeF(size)
            f.setBold(bold)
            f.setItalic(italic)
            f.setStyleStrategy(QFont.StyleStrategy.PreferAntialias)
            # No ligatures: "fi" must stay two letters so the text can be searched and copied.
            for tag in ("liga", "clig", "dlig"):
                f.setFeature(QFont.Tag(tag), 0)
            return f

        self.font = font

    def mm(self, value: float) -> float:
        return value * _DPI / 25.4

    @staticmethod
    def _wrapping(align: str = "left", vcenter: bool = False) -> Any:
        """Wrap at word boundaries, or anywhere in a word too long for the line (a long patient
        identifier or file name is wrapped, never cut)."""
        from PySide6.QtCore import Qt
        from PySide6.QtGui import QTextOption

        alignment = {"left": Qt.AlignmentFlag.AlignLeft, "right": Qt.AlignmentFlag.AlignRight,
                     "center": Qt.AlignmentFlag.AlignHCenter}[align]
        if vcenter:
            alignment |= Qt.AlignmentFlag.AlignVCenter
        option = QTextOption(alignment)
        option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        return option

    def text_height(self, text: str, font: Any, width: float) -> float:
        from PySide6.QtCore import QRectF

        self.painter.setFont(font)
        return self.painter.boundingRect(QRectF(0, 0, width, 1e7), text,
                                         self._wrapping()).height()

    def draw_text(self, text: str, font: Any, x: float, y: float, width: float,
                  colour: str = palette.TEXT, align: str = "left", height: float | None = None) -> float:
        from PySide6.QtCore import QRectF
        from PySide6.QtGui import QColor

        painter = self.painter
        painter.setFont(font)
        painter.setPen(QColor(colour))
        option = self._wrapping(align, vcenter=height is not None)
        if height is None:
            height = self.text_height(text, font, width)
        painter.drawText(QRectF(x, y, width, height), text, option)
        return height


def _paginate(page: _Page, blocks: list[_Block]) -> list[list[tuple[_Block, float]]]:
    pages: list[list[tuple[_Block, float]]] = [[]]
    y = page.top
    for index, block in enumerate(blocks):
        needed = block.height
        follower = index
        while blocks[follower].keep_with_next and follower + 1 < len(blocks):
            needed += blocks[follower].space_after + blocks[follower + 1].height
            follower += 1
        if y + needed > page.bottom and pages[-1]:
            pages.append([])
            y = page.top
            if block.header is not None:
                pages[-1].append((block.header, y))
                y += block.header.height + block.header.space_after
        pages[-1].append((block, y))
        y += block.height + block.space_after
    return pages


def _render(writer: Any, painter: Any, page: _Page, blocks: list[_Block],
            running_header: str, footer: str) -> None:
    from PySide6.QtGui import QColor, QPen

    small = page.font(7.5)
    # A long patient identifier wraps the running header; the content starts below it.
    header_h = max(page.text_height(running_header, small, page.content_width), page.mm(4.5))
    page.top = page.margin + header_h + page.mm(3.5)
    pages = _paginate(page, blocks)
    for number, placed in enumerate(pages, start=1):
        if number > 1:
            writer.newPage()
        header_y = page.margin
        page.draw_text(running_header, small, page.left, header_y, page.content_width,
                       colour=palette.TEXT_FAINT, height=header_h)
        rule_y = int(header_y + header_h + page.mm(1))
        painter.setPen(QPen(QColor(palette.RULE), page.mm(0.2)))
        painter.drawLine(int(page.left), rule_y, int(page.right), rule_y)
        for block, y in placed:
            block.draw(painter, page.left, y, page.content_width)
        footer_top = page.height - page.margin - page.mm(10)
        painter.setPen(QPen(QColor(palette.RULE), page.mm(0.2)))
        painter.drawLine(int(page.left), int(footer_top), int(page.right), int(footer_top))
        page_label = f"Page {number} of {len(pages)}"
        label_width = page.mm(24)
        page.draw_text(footer, small, page.left, footer_top + page.mm(1.2),
                       page.content_width - label_width - page.mm(3), colour=palette.TEXT_FAINT)
        page.draw_text(page_label, page.font(8, bold=True), page.right - label_width,
                       footer_top + page.mm(1.2), label_width, align="right")


def _open_writer(path: str, paper: str, title: str) -> tuple[Any, Any]:
    from PySide6.QtCore import QMarginsF
    from PySide6.QtGui import QPageLayout, QPageSize, QPainter, QPdfWriter

    ensure_gui_application()
    paper = (paper or default_paper()).lower()
    if paper not in PAPER_SIZES:
        raise ReportError(f"unknown paper size {paper!r}; use one of {', '.join(PAPER_SIZES)}")
    writer = QPdfWriter(path)
    size_id = QPageSize.PageSizeId.A4 if paper == "a4" else QPageSize.PageSizeId.Letter
    writer.setPageSize(QPageSize(size_id))
    writer.setPageOrientation(QPageLayout.Orientation.Portrait)
    writer.setPageMargins(QMarginsF(0, 0, 0, 0))
    writer.setResolution(_DPI)
    writer.setTitle(title)
    writer.setCreator("SkinDesk")
    painter = QPainter()
    if not painter.begin(writer):
        raise ReportError(f"{path}: cannot open the PDF for writing")
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
    return writer, painter


# -- pictures -------------------------------------------------------------------------------
def _to_qimage(picture: Any) -> Any:
    """A ``QImage`` (at most ``_MAX_IMAGE_SIDE`` px) from a PIL image, Qt image, array or path."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPixmap

    if picture is None:
        return None
    if isinstance(picture, QPixmap):
        picture = picture.toImage()
    if not isinstance(picture, QImage):
        from PIL import Image

        if isinstance(picture, (str, Path)):
            from skindesk.core.imaging import load_image

            picture = load_image(picture)
        elif not isinstance(picture, Image.Image):
            import numpy as np

            picture = Image.fromarray(np.asarray(picture).astype("uint8"))
        picture = picture.convert("RGB")
        picture.thumbnail((_MAX_IMAGE_SIDE, _MAX_IMAGE_SIDE), Image.Resampling.LANCZOS)
        data = picture.tobytes()
        picture = QImage(data, picture.width, picture.height, 3 * picture.width,
                         QImage.Format.Format_RGB888).copy()
    if picture.isNull():
        return None
    if max(picture.width(), picture.height()) > _MAX_IMAGE_SIDE:
        picture = picture.scaled(_MAX_IMAGE_SIDE, _MAX_IMAGE_SIDE,
                                 Qt.AspectRatioMode.KeepAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
    return picture.convertToFormat(QImage.Format.Format_RGB32)


# -- single-image report ------------------------------------------------------------------
def _box_block(page: _Page, heading: str, lines: list[str], border: str, fill: str,
               heading_colour: str) -> _Block:
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QColor, QPen

    pad = page.mm(2.2)
    width = page.content_width - 2 * pad
    head_font, body_font = page.font(10.5, bold=True), page.font(9)
    head_h = page.text_height(heading, head_font, width)
    line_hs = [page.text_height(line, body_font, width) for line in lines]
    gap = page.mm(1)
    height = 2 * pad + head_h + sum(h + gap for h in line_hs)

    def draw(painter: Any, x: float, y: float, w: float) -> None:
        painter.setPen(QPen(QColor(border), page.mm(0.6)))
        painter.setBrush(QColor(fill))
        painter.drawRect(QRectF(x, y, w, height))
        painter.setBrush(QColor(border))
        painter.setPen(QColor(border))
        painter.drawRect(QRectF(x, y, page.mm(1.5), height))
        cy = y + pad
        page.draw_text(heading, head_font, x + pad, cy, width, colour=heading_colour)
        cy += head_h + gap
        for line, h in zip(lines, line_hs):
            page.draw_text(line, body_font, x + pad, cy, width)
            cy += h + gap

    return _Block(height, draw, space_after=page.mm(2.5))


def _text_block(page: _Page, text: str, font: Any, colour: str = palette.TEXT,
                space_after: float = 2.0) -> _Block:
    height = page.text_height(text, font, page.content_width)

    def draw(painter: Any, x: float, y: float, w: float) -> None:
        page.draw_text(text, font, x, y, w, colour=colour)

    return _Block(height, draw, space_after=page.mm(space_after))


def _fields_block(page: _Page, columns: list[list[tuple[str, str]]]) -> _Block:
    label_font, value_font = page.font(8, bold=True), page.font(10)
    gap = page.mm(4)
    col_w = (page.content_width - gap * (len(columns) - 1)) / len(columns)
    label_w = page.mm(24)
    value_w = col_w - label_w
    row_h = [  # a row is as tall as its value or its label, whichever wraps to more lines
        [max(page.text_height(v or "—", value_font, value_w),
             page.text_height(label, label_font, label_w) + page.mm(0.6), page.mm(5))
         for label, v in column]
        for column in columns
    ]
    height = max(sum(h) + page.mm(1) * len(h) for h in row_h)

    def draw(painter: Any, x: float, y: float, w: float) -> None:
        for c, column in enumerate(columns):
            cx, cy = x + c * (col_w + gap), y
            for (label, value), h in zip(column, row_h[c]):
                page.draw_text(label, label_font, cx, cy + page.mm(0.6), label_w, colour=palette.TEXT_FAINT)
                page.draw_text(value or "—", value_font, cx + label_w, cy, value_w)
                cy += h + page.mm(1)

    return _Block(height, draw, space_after=page.mm(3))


def _images_block(page: _Page, content: ReportContent) -> _Block | None:
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QColor, QPainter, QPen

    pictures = [(_to_qimage(content.image), "Image" + (f": {content.image_name}"
                                                      if content.image_name else ""))]
    if content.heatmap is not None:
        pictures.append((_to_qimage(content.heatmap), content.heatmap_caption or "Heat map"))
    heat_caption = (content.heatmap_caption or "Heat map") if content.heatmap is not None else None
    pictures = [(p, c) for p, c in pictures if p is not None]
    if not pictures:
        return None
    gap = page.mm(5)
    slot_w = (page.content_width - gap) / 2
    slot_h = page.mm(50)
    caption_font = page.font(8)
    caption_h = max(page.text_height(c, caption_font, slot_w) for _, c in pictures)
    heat_slot = next((i for i, (_, c) in enumerate(pictures) if c == heat_caption), None)
    legend = _heat_legend(page, slot_w) if heat_slot is not None else None
    height = slot_h + page.mm(1.5) + caption_h + (legend[0] if legend else 0)

    def draw(painter: Any, x: float, y: float, w: float) -> None:
        for i, (picture, caption) in enumerate(pictures):
            sx = x + i * (slot_w + gap)
            scale = min(slot_w / picture.width(), slot_h / picture.height())
            pw, ph = picture.width() * scale, picture.height() * scale
            target = QRectF(sx + (slot_w - pw) / 2, y + (slot_h - ph) / 2, pw, ph)
            # The heat map is stored losslessly: the same pixels as the app's (the photograph
            # may be JPEG-compressed like any camera image).
            painter.setRenderHint(QPainter.RenderHint.LosslessImageRendering,
                                  caption == heat_caption)
            painter.drawImage(target, picture)
            painter.setRenderHint(QPainter.RenderHint.LosslessImageRendering, False)
            painter.setPen(QPen(QColor(palette.RULE), page.mm(0.2)))
            painter.setBrush(QColor(0, 0, 0, 0))
            painter.drawRect(target)
            page.draw_text(caption, caption_font, sx, y + slot_h + page.mm(1.5), slot_w,
                           colour=palette.TEXT_MUTED, align="center")
        if legend:
            legend[1](painter, x + heat_slot * (slot_w + gap), y + slot_h + page.mm(1.5) + caption_h)

    return _Block(height, draw, space_after=page.mm(4))


def _heat_legend(page: _Page, width: float) -> tuple[float, Callable[[Any, float, float], None]]:
    """The heat map's colour scale (0 % … 100 %) with its explanation: (height, draw(x, y))."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QImage

    strip = legend_ramp(256, 8)
    image = QImage(strip.tobytes(), strip.shape[1], strip.shape[0], 3 * strip.shape[1],
                   QImage.Format.Format_RGB888).copy()
    small = page.font(7)
    label_w = page.mm(10)
    strip_h = page.mm(2.5)
    text_h = page.text_height(LEGEND_TEXT, small, width)
    height = page.mm(1) + strip_h + page.mm(0.8) + text_h

    def draw(painter: Any, x: float, y: float) -> None:
        top = y + page.mm(1)
        page.draw_text("0 %", small, x, top - page.mm(0.6), label_w, colour=palette.TEXT_MUTED)
        painter.drawImage(QRectF(x + label_w, top, width - 2 * label_w, strip_h), image)
        page.draw_text("100 %", small, x + width - label_w, top - page.mm(0.6), label_w,
                       colour=palette.TEXT_MUTED, align="right")
        page.draw_text(LEGEND_TEXT, small, x, top + strip_h + page.mm(0.8), width,
                       colour=palette.TEXT_MUTED, align="center")

    return height, draw


def _chart_block(page: _Page, content: ReportContent) -> _Block:
    from PySide6.QtCore import QPointF, QRectF
    from PySide6.QtGui import QColor, QPen, QPolygonF

    row_h, bar_h = page.mm(5.3), page.mm(3.6)
    label_w, value_w = page.mm(52), page.mm(26)
    legend_h = page.mm(6)
    height = row_h * len(content.bars) + legend_h
    label_font, label_bold = page.font(9), page.font(9, bold=True)
    value_font = page.font(9, bold=True)

    def draw(painter: Any, x: float, y: float, w: float) -> None:
        track_x = x + label_w
        track_w = w - label_w - value_w
        for i, bar in enumerate(content.bars):
            ry = y + i * row_h
            by = ry + (row_h - bar_h) / 2
            colour = palette.group_colour(bar.group)
            if bar.top:
                painter.setPen(QColor(0, 0, 0, 0))
                painter.setBrush(QColor(palette.TOP_FILL))
                painter.drawRect(QRectF(x - page.mm(1), ry, w + page.mm(1), row_h))
            label = bar.display_name + (" (top)" if bar.top else "")
            page.draw_text(label, label_bold if bar.top else label_font, x, ry,
                           label_w - page.mm(2), height=row_h,
                           colour=colour if bar.group != "benign" else palette.TEXT)
            painter.setPen(QColor(0, 0, 0, 0))
            painter.setBrush(QColor(palette.TRACK))
            painter.drawRect(QRectF(track_x, by, track_w, bar_h))
            painter.setBrush(QColor(colour))
            if bar.top:
                painter.setPen(QPen(QColor(palette.TEXT), page.mm(0.5)))
            painter.drawRect(QRectF(track_x, by, max(track_w * bar.probability, page.mm(0.3)),
                                    bar_h))
            if bar.threshold is not None:
                tx = track_x + track_w * bar.threshold
                painter.setPen(QPen(QColor(palette.ALERT), page.mm(0.5)))
                painter.drawLine(QPointF(tx, ry + page.mm(0.4)), QPointF(tx, ry + row_h - page.mm(0.4)))
                painter.setPen(QColor(0, 0, 0, 0))
                painter.setBrush(QColor(palette.ALERT))
                s = page.mm(1.1)
                painter.drawPolygon(QPolygonF([QPointF(tx - s, ry), QPointF(tx + s, ry),
                                               QPointF(tx, ry + s * 1.3)]))
            value = percent(bar.probability)
            page.draw_text(value, value_font if bar.top else label_font, track_x + track_w,
                           ry, page.mm(14), height=row_h, align="right")
            if bar.alerted:
                page.draw_text("ALERT", page.font(8, bold=True), track_x + track_w + page.mm(15),
                               ry, value_w - page.mm(15), height=row_h, colour=palette.ALERT)
        # legend
        ly = y + len(content.bars) * row_h + page.mm(1.5)
        lx = x
        small = page.font(7.5)
        for colour, text in ((palette.MALIGNANT, "malignant"),
                             (palette.PREMALIGNANT, "pre-malignant"), (palette.BENIGN, "benign")):
            painter.setPen(QColor(0, 0, 0, 0))
            painter.setBrush(QColor(colour))
            painter.drawRect(QRectF(lx, ly + page.mm(0.8), page.mm(4), page.mm(2.6)))
            page.draw_text(text, small, lx + page.mm(5), ly, page.mm(24), height=page.mm(4.2))
            lx += page.mm(5) + page.text_height(text, small, 1e6) * 0 + page.mm(22)
        if any(b.threshold is not None for b in content.bars):
            painter.setPen(QPen(QColor(palette.ALERT), page.mm(0.5)))
            painter.drawLine(QPointF(lx + page.mm(2), ly + page.mm(0.3)),
                             QPointF(lx + page.mm(2), ly + page.mm(4)))
            page.draw_text("alert threshold at the operating point", small, lx + page.mm(4), ly,
                           page.mm(70), height=page.mm(4.2))

    return _Block(height, draw, space_after=page.mm(3))


def _table_block(page: _Page, headers: list[str], rows: list[list[str]], widths: list[float],
                 fills: list[str | None] | None = None, font_size: float = 8.5,
                 bold_first: bool = False) -> list[_Block]:
    """Header block + one block per row (the header repeats on a new page)."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QColor, QPen

    scale = page.content_width / sum(widths)
    widths = [w * scale for w in widths]
    pad = page.mm(1.2)
    head_font, body_font = page.font(font_size, bold=True), page.font(font_size)
    bold_font = page.font(font_size, bold=True)

    def make(cells: list[str], font: Any, fill: str | None, rule: str, bold: bool) -> _Block:
        heights = [page.text_height(c, font, w - 2 * pad) for c, w in zip(cells, widths)]
        height = max(heights) + 2 * pad

        def draw(painter: Any, x: float, y: float, w: float) -> None:
            if fill:
                painter.setPen(QColor(0, 0, 0, 0))
                painter.setBrush(QColor(fill))
                painter.drawRect(QRectF(x, y, w, height))
            cx = x
            for i, (cell, cw) in enumerate(zip(cells, widths)):
                cell_font = bold_font if bold and i == 0 else font
                page.draw_text(cell, cell_font, cx + pad, y + pad, cw - 2 * pad)
                cx += cw
            painter.setPen(QPen(QColor(rule), page.mm(0.15)))
            painter.drawLine(int(x), int(y + height), int(x + w), int(y + height))

        return _Block(height, draw)

    header = make(headers, head_font, palette.HEADER_FILL, palette.TEXT_FAINT, False)
    blocks = [_Block(header.height, header.draw, keep_with_next=True)]
    for i, row in enumerate(rows):
        fill = fills[i] if fills else None
        block = make(row, body_font, fill, palette.RULE_LIGHT, bold_first)
        block.header = header
        blocks.append(block)
    if blocks:
        blocks[-1].space_after = page.mm(4)
    return blocks


def _title_blocks(page: _Page, clinic: str, title: str, subtitle: str) -> list[_Block]:
    """The clinic's name as the title with SkinDesk's line below it; without a clinic name, the
    SkinDesk line is the title (never an empty or placeholder title)."""
    if clinic:
        return [_text_block(page, clinic, page.font(15, bold=True), space_after=0.5),
                _text_block(page, f"{title}: {subtitle}", page.font(10, italic=True),
                            colour=palette.TEXT_MUTED, space_after=4)]
    return [_text_block(page, title, page.font(15, bold=True), space_after=0.5),
            _text_block(page, subtitle[0].upper() + subtitle[1:], page.font(10, italic=True),
                        colour=palette.TEXT_MUTED, space_after=4)]


def _single_blocks(page: _Page, content: ReportContent) -> list[_Block]:
    p = content.patient
    blocks: list[_Block] = []
    blocks += _title_blocks(page, p.clinic, "Dermoscopy second opinion by SkinDesk",
                            "decision support, not a diagnosis")
    analysed = content.analysed_at.strftime("%Y-%m-%d %H:%M")
    if content.analysed_at.tzinfo is not None:
        analysed += content.analysed_at.strftime(" (UTC%z)")
    blocks.append(_fields_block(page, [
        [("Patient ID", p.patient_id), ("Name", p.name), ("Birth date", p.birth_date),
         ("Body site", p.body_site)],
        [("Clinician", p.clinician), ("Analysed", analysed), ("Image file", content.image_name),
         ("Model", content.model_trace)],
    ]))
    if content.patient.notes:
        blocks.append(_box_block(page, "Notes", [content.patient.notes], palette.RULE, palette.NOTICE_FILL,
                                 palette.TEXT_MUTED))
    if not content.assessed:  # no alert and no diagnosis: why, and what to do
        heading, lines = not_assessed_lines(content.not_assessed)
        blocks.append(_box_block(page, heading, lines, palette.WARNING, palette.WARNING_FILL,
                                 palette.WARNING_TEXT))
    elif content.alert_lines:
        blocks.append(_box_block(page, "REVIEW ADVISED: possible malignancy", content.alert_lines,
                                 palette.ALERT, palette.ALERT_FILL, palette.ALERT))
    elif content.thresholds:
        blocks.append(_box_block(
            page, "No malignancy alert at the chosen operating point",
            ["No malignant or pre-malignant class reached its validated alert threshold. This does "
             "not rule out malignancy."], palette.NOTICE, palette.NOTICE_FILL, palette.NOTICE_TEXT))
    for warning in content.warnings:
        heading, _, rest = warning.partition(": ")
        blocks.append(_box_block(page, heading, [rest or warning], palette.WARNING, palette.WARNING_FILL,
                                 palette.WARNING_TEXT))
    images = _images_block(page, content)
    if images is not None:
        blocks.append(images)
    blocks.append(_text_block(page, content.top_line,
                              page.font(13 if content.assessed else 10, bold=True),
                              colour=palette.TEXT if content.assessed else palette.WARNING_TEXT,
                              space_after=0.8))
    blocks.append(_text_block(page, content.group_line, page.font(9), colour=palette.TEXT_MUTED,
                              space_after=2.5))
    blocks.append(_chart_block(page, content))
    if content.thresholds:
        heading = _text_block(
            page, "Malignancy alert thresholds at the chosen operating point (sensitivity / "
            "specificity measured on the model's validation and test splits)",
            page.font(8.5, bold=True), space_after=1)
        heading.keep_with_next = True
        blocks.append(heading)
        rows, fills = [], []
        for t in content.thresholds:
            point = t.point
            figures = point.test or {}
            test = ("—" if figures.get("sensitivity") is None else
                    f"{percent(figures.get('sensitivity'))} / {percent(figures.get('specificity'))}")
            probability, threshold = percent_pair(t.probability, point.threshold)
            rows.append([t.display_name, probability, threshold,
                         percent(point.target_sensitivity),
                         f"{percent(point.validated_sensitivity)} / "
                         f"{percent(point.validated_specificity)}", test,
                         "ALERT" if t.alerted else "withheld" if t.name in content.withheld
                         else "no"])
            fills.append(palette.ALERT_FILL if t.alerted else None)
        blocks += _table_block(
            page, ["Flagged class", "Probability", "Threshold", "Target sens.",
                   "Validation sens./spec.", "Test sens./spec.", "Alert"],
            rows, [33, 17, 14, 15, 28, 24, 14], fills, font_size=7.5)
        for block in blocks[-len(rows):-1]:
            block.keep_with_next = True  # a short table stays on one page
    heading = _text_block(page, "About this result", page.font(8.5, bold=True), space_after=0.8)
    heading.keep_with_next = True
    blocks.append(heading)
    blocks.append(_text_block(page, "\n".join(content.model_lines), page.font(7.5),
                              colour=palette.TEXT_MUTED, space_after=1))
    about = []
    if content.intended_use:
        about.append(f"Intended use: {content.intended_use}")
    about.append(content.limitation)
    about.append(f"Disclaimer: {content.disclaimer}")
    if content.licence:
        about.append(f"Data licence: {content.licence}")
    blocks.append(_text_block(page, "\n".join(about), page.font(7.5), colour=palette.TEXT_MUTED))
    return blocks


def write_report_pdf(content: ReportContent, path: str | Path, *, paper: str | None = None,
                     overwrite: bool = False) -> Path:
    """Write a single-image report to ``path`` atomically.

    Raises:
        ReportError: the file exists (and ``overwrite`` is False), the folder is missing or not
            writable, or drawing failed; no partial file is left behind.
    """

    def draw(temporary: str) -> None:
        writer, painter = _open_writer(temporary, paper or default_paper(), "SkinDesk report")
        try:
            page = _Page(writer, painter)
            blocks = _single_blocks(page, content)
            header = (f"SkinDesk dermoscopy report · Patient {content.patient.patient_id} · "
                      f"{content.analysed_at:%Y-%m-%d %H:%M}")
            _render(writer, painter, page, blocks, header, _footer(content.disclaimer))
        finally:
            painter.end()

    return _write_atomically(path, overwrite, draw)


def _footer(disclaimer: str) -> str:
    return disclaimer


# -- batch report ------------------------------------------------------------------------
def _batch_blocks(page: _Page, content: BatchContent) -> list[_Block]:
    blocks = _title_blocks(page, content.clinic, "Batch report: dermoscopy second opinion by "
                           "SkinDesk", "decision support, not a diagnosis")
    failed = content.total - content.classified
    blocks.append(_fields_block(page, [
        [("Results file", content.source), ("Created", f"{content.created_at:%Y-%m-%d %H:%M}"),
         ("Model", content.model)],
        [("Files", f"{content.total} ({content.assessed} assessed, "
                   f"{content.count('not_assessed')} not assessed, {failed} not analysed)"),
         ("Review advised", str(content.count("review_advised"))),
         ("Operating point", content.operating_point)],
        *([[("Image gate strictness", content.gate_level)]] if content.gate_level else []),
    ]))
    summary = (
        f"{content.count('review_advised')} review advised · {content.count('malignant')} with a "
        f"malignant top class · {content.count('uncertain')} uncertain · "
        f"{content.count('not_assessed')} not assessed (not a dermoscopic image of a skin lesion, "
        f"or too poor to assess: no result, no alert) · {failed} not analysed (unreadable or "
        "unclassified)"
    )
    blocks.append(_text_block(page, summary, page.font(10, bold=True), space_after=2))
    apart = [f"{n} {what}" for n, what in ((content.classified - content.assessed, "not assessed"),
                                           (failed, "not analysed")) if n]
    if content.class_counts:
        blocks.append(_text_block(
            page, f"Top class counts: shares of the {content.assessed} assessed files"
            + (f" ({' and '.join(apart)}, not counted)" if apart else ""),
            page.font(9, bold=True), space_after=1))
        blocks[-1].keep_with_next = True
        blocks += _table_block(page, ["Top class", "Files", "Share"],
                               [[name, str(n), percent(share)]
                                for name, n, share in content.class_shares()], [60, 15, 15])
    blocks.append(_text_block(page, "Every file, those needing attention first (review advised "
                              "or malignant, then not assessed, then uncertain, then not "
                              "analysed)", page.font(9, bold=True), space_after=1))
    blocks[-1].keep_with_next = True
    rows, fills = [], []
    for i, row in enumerate(content.rows, start=1):
        flags = ", ".join(row.flags) or "—"
        if row.alerts:
            flags += f"\n{row.alerts}"
        if row.error:
            flags += f"\n{row.error}"
        shown = row.probability is not None and not row.not_assessed  # no result from it
        probability = percent(row.probability) if shown else "—"
        top = row.top_class if row.top_class and not row.not_assessed else "—"
        rows.append([str(i), row.file, top, probability, flags])
        fills.append(palette.ALERT_FILL if row.priority == 0 else palette.WARNING_FILL
                     if row.priority in (1, 2, 3) else None)
    blocks += _table_block(page, ["#", "File", "Top class", "Prob.", "Flags"], rows,
                           [7, 62, 38, 13, 60], fills, font_size=8)
    blocks.append(_text_block(page, f"{content.limitation}\nDisclaimer: {content.disclaimer}",
                              page.font(8), colour=palette.TEXT_MUTED))
    return blocks


def write_batch_report_pdf(content: BatchContent, path: str | Path, *, paper: str | None = None,
                           overwrite: bool = False) -> Path:
    """Write a batch report to ``path`` atomically (raises ``ReportError`` like
    ``write_report_pdf``)."""

    def draw(temporary: str) -> None:
        writer, painter = _open_writer(temporary, paper or default_paper(),
                                       "SkinDesk batch report")
        try:
            page = _Page(writer, painter)
            blocks = _batch_blocks(page, content)
            header = f"SkinDesk batch report · {content.source} · {content.created_at:%Y-%m-%d %H:%M}"
            _render(writer, painter, page, blocks, header, content.disclaimer)
        finally:
            painter.end()

    return _write_atomically(path, overwrite, draw)
