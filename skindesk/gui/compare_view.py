"""Compare: two visits of one lesion side by side, at the same scale, with what changed.

Each side shows its image (both drawn with one scale factor, so a lesion that grew looks
bigger), its date, the model that scored it (marked when it differs from the other side's),
its probability bars (the app's ``ProbabilityChart`` on ``compare.result_rows``) and alerts.
Above them, the change in words (``compare.compare_visits``); below, the melanoma probability
over every visit (``MelanomaPlot``). Images are read from the store, verified against their
sha256; a damaged one is shown as a message, never as a picture.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QGridLayout, QHBoxLayout,
                               QLabel, QVBoxLayout, QWidget)

from skindesk.cases import CaseStore, LesionRecord, VisitRecord
from skindesk.cases.compare import (FOCUS_CLASS, compare_visits, model_label, probability_series,
                                    result_rows)
from skindesk.core.errors import SkinDeskError
from skindesk.core.formatting import percent

from .case_widgets import MelanomaPlot
from .chart import ProbabilityChart

__all__ = ["CompareDialog", "IMAGE_BOX"]

IMAGE_BOX = 320


class _Side(QWidget):
    def __init__(self, title: str) -> None:
        super().__init__()
        self.title = QLabel(title)
        self.title.setStyleSheet("font-weight: bold;")
        self.picker = QComboBox()
        self.picker.setAccessibleName(f"{title} visit")
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumWidth(IMAGE_BOX)
        self.image.setFixedHeight(IMAGE_BOX * 3 // 4 + 8)
        self.image.setStyleSheet("background: #202020; color: #ffffff;")
        self.model = QLabel()
        self.model.setWordWrap(True)
        self.alerts = QLabel()
        self.alerts.setWordWrap(True)
        self.chart = ProbabilityChart()
        self.chart.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        layout = QVBoxLayout(self)
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addWidget(self.picker, 1)
        layout.addLayout(header)
        layout.addWidget(self.model)
        layout.addWidget(self.image)
        layout.addWidget(self.alerts)
        layout.addWidget(self.chart, 1)


class CompareDialog(QDialog):
    """Two visits of ``lesion`` (``earlier`` and ``later`` visit ids) compared."""

    def __init__(self, store: CaseStore, lesion: LesionRecord, earlier: int, later: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.lesion = lesion
        self.setObjectName("compareDialog")
        self.setWindowTitle(f"Compare visits — {lesion.label}")
        self.change = QLabel()
        self.change.setObjectName("changeInWords")
        self.change.setWordWrap(True)
        self.change.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.change.setStyleSheet("font-size: 14px; font-weight: bold; padding: 4px;")
        self.sides = (_Side("Earlier"), _Side("Later"))
        for side in self.sides:
            for visit in lesion.visits:
                side.picker.addItem(self._visit_text(visit), visit.id)
        self.plot = MelanomaPlot()
        self.plot.setMinimumHeight(140)
        grid = QGridLayout()
        grid.addWidget(self.sides[0], 0, 0)
        grid.addWidget(self.sides[1], 0, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.change)
        layout.addLayout(grid, 1)
        layout.addWidget(self.plot)
        layout.addWidget(buttons)
        self._pixmaps: dict[int, QPixmap | str] = {}
        self.select(earlier, later)
        for side in self.sides:
            side.picker.currentIndexChanged.connect(lambda _i: self._refresh())
        self.resize(900, 880)

    @staticmethod
    def _visit_text(visit: VisitRecord) -> str:
        latest = visit.latest
        score = f"melanoma {percent(latest.probabilities.get(FOCUS_CLASS))}" if latest else "no result"
        return f"{visit.taken_on.isoformat()} — {score}"

    def visit(self, visit_id: int) -> VisitRecord:
        return next(v for v in self.lesion.visits if v.id == visit_id)

    def select(self, earlier: int, later: int) -> None:
        """Show these two visits (ids), as choosing them in the two lists would."""
        for side, visit_id in zip(self.sides, (earlier, later)):
            side.picker.blockSignals(True)
            side.picker.setCurrentIndex(side.picker.findData(visit_id))
            side.picker.blockSignals(False)
        self._refresh()

    def selected(self) -> tuple[int, int]:
        return tuple(side.picker.currentData() for side in self.sides)  # type: ignore[return-value]

    def _image(self, visit: VisitRecord) -> QPixmap | str:
        if visit.id not in self._pixmaps:
            try:
                data = self.store.image_data(visit.image_sha256)
            except SkinDeskError as error:
                self._pixmaps[visit.id] = str(error)
            else:
                pixmap = QPixmap()
                self._pixmaps[visit.id] = pixmap if pixmap.loadFromData(data) else \
                    f"image {visit.image_sha256[:12]}… cannot be decoded"
        return self._pixmaps[visit.id]

    def _refresh(self) -> None:
        visits = [self.visit(i) for i in self.selected()]
        earlier, later = sorted(visits, key=lambda v: (v.taken_on, v.id))
        self.change.setText(f"{earlier.taken_on.isoformat()} → {later.taken_on.isoformat()}: "
                            + compare_visits(earlier, later))
        images = [self._image(v) for v in visits]
        pixmaps = [p for p in images if isinstance(p, QPixmap)]
        # one scale for both: the factor that fits the larger image into the box
        scale = min((min(IMAGE_BOX / p.width(), IMAGE_BOX * 0.75 / p.height()) for p in pixmaps),
                    default=1.0)
        models = [v.latest.model_key() if v.latest else None for v in visits]
        for side, visit, image, other in zip(self.sides, visits, images, reversed(models)):
            if isinstance(image, QPixmap):
                side.image.setPixmap(image.scaled(round(image.width() * scale),
                                                  round(image.height() * scale),
                                                  Qt.AspectRatioMode.KeepAspectRatio,
                                                  Qt.TransformationMode.SmoothTransformation))
            else:
                side.image.setPixmap(QPixmap())
                side.image.setText(image)
            latest = visit.latest
            if latest is None:
                side.model.setText(f"{visit.taken_on.isoformat()}: no result")
                side.chart.clear()
                side.alerts.setText("")
                continue
            marked = other is not None and latest.model_key() != other
            side.model.setText(f"{visit.taken_on.isoformat()} · {model_label(latest)}"
                               + (" — another model version than the other visit" if marked else ""))
            side.model.setStyleSheet("color: #7a5200; font-weight: bold;" if marked else "")
            rows = result_rows(latest)
            side.chart.set_rows(rows)
            alerts = [r.alert_text for r in rows if r.alerted]
            side.alerts.setText("Alert: " + "; ".join(alerts) if alerts else "No alert raised.")
            side.alerts.setStyleSheet("color: #b71c1c; font-weight: bold;" if alerts else "")
        threshold = next((float(a["threshold"]) for v in reversed(self.lesion.visits) if v.latest
                          for a in v.latest.alerts if a.get("class") == FOCUS_CLASS
                          and "threshold" in a), None)
        self.plot.set_series(probability_series(self.lesion), threshold, marked=self.selected())
