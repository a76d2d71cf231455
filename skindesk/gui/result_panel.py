"""The result side of the window: alert banner, summary line, warnings, chart, heat-map controls.

Top to bottom: the malignancy alert banner (malignant red, only when a flagged class reached its
validated threshold, even under a benign top class), the plain statement when the model has no
validated thresholds, the one-line summary, the uncertain warning, the probability chart with its
legend, the heat-map toggle with its class, opacity and colour scale, and the operating point in
use (said once, at the bottom). An image that is not assessed (the image gate or a quality check
rejected it) shows instead a banner with every reason and no alert; its chart and heat map are
collapsed behind "Show anyway", which reveals them under a note that they may be meaningless and
which alerts were withheld. The heat map shows
``default_heatmap_class`` (the strongest alert's class when review is advised, else the top class)
until the user clicks another bar.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from skindesk.core import palette
from skindesk.core.heatmap import LEGEND_TEXT, heatmap_caption, legend_ramp
from skindesk.core.modelcard import CardError, ModelCard
from skindesk.core.prediction import Prediction, default_heatmap_class, operating_point_label
from skindesk.core.wording import NOT_ASSESSED_ADVICE, SHOWN_ANYWAY, withheld_phrase

from .chart import ProbabilityChart, chart_rows
from .style import BENIGN, MALIGNANT, PREMALIGNANT, percent

__all__ = ["ResultPanel", "NO_THRESHOLDS_TEXT", "summary_line", "alert_text", "legend_html",
           "not_assessed_text", "shown_anyway_text"]

NO_THRESHOLDS_TEXT = (
    "This model has no validated alert threshold: SkinDesk shows probabilities only and cannot "
    "flag a possible cancer under a benign top class."
)


def alert_text(prediction: Prediction) -> str:
    """The banner's words, e.g. 'Review advised: melanoma 23 % is above the alert threshold…'."""
    if not prediction.alerts:
        return ""
    top = prediction.top_class
    return (
        "Review advised: "
        + "; ".join(a.sentence() for a in prediction.alerts)
        + f". Most likely: {top.display_name.lower()} {percent(prediction.top_probability)}."
    )


def not_assessed_text(prediction: Prediction) -> str:
    """The not-assessed banner's body: every reason (the first is the banner's sentence), then
    what to do; '' for an assessed image."""
    if prediction.assessed:
        return ""
    return "\n".join(f"{reason}." for reason in prediction.assessment.reasons) + (
        "\n" + NOT_ASSESSED_ADVICE)


def shown_anyway_text(prediction: Prediction) -> str:
    """The note over a not-assessed image's chart: it may be meaningless; the withheld alerts."""
    withheld = withheld_phrase([a.text() for a in prediction.withheld_alerts])
    return SHOWN_ANYWAY + (f" {withheld}" if withheld else "")


def summary_line(prediction: Prediction) -> str:
    """'Most likely: melanoma 82 % — a malignant class; clinical review advised.'"""
    top = prediction.top_class
    text = f"Most likely: {top.display_name.lower()} {percent(prediction.top_probability)}"
    if top.malignant:
        text += " — a malignant class; clinical review advised"
    elif top.premalignant:
        text += " — a pre-malignant class; clinical review advised"
    elif prediction.alerts:
        text += " — but see the alert above"
    return text + "."


def legend_html() -> str:
    """The chart legend; each entry is kept whole (non-breaking spaces) so a narrow panel wraps
    only between entries, never inside one."""
    entries = [
        f"<span style='color:{MALIGNANT.name()}'>■</span> malignant",
        f"<span style='color:{PREMALIGNANT.name()}'>■</span> pre-malignant",
        f"<span style='color:{BENIGN.name()}'>■</span> benign",
        "▽ alert threshold (▼ reached)",
        "outlined: most likely",
    ]
    return " &nbsp; ".join(entry.replace(" ", "&nbsp;").replace("<span&nbsp;", "<span ")
                           for entry in entries)


def _colour_scale() -> QWidget:
    """The heat map's colour scale: '0 %', the ramp, '100 %', and what the colour means."""
    box = QWidget()
    box.setObjectName("heatmapScale")
    box.setAccessibleName("Heat-map colour scale")
    box.setToolTip(LEGEND_TEXT)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(1)
    row = QHBoxLayout()
    strip = legend_ramp(200, 10)
    image = QImage(strip.tobytes(), strip.shape[1], strip.shape[0], 3 * strip.shape[1],
                   QImage.Format.Format_RGB888).copy()
    ramp = QLabel()
    ramp.setPixmap(QPixmap.fromImage(image))
    row.addWidget(QLabel("0 %"))
    row.addWidget(ramp)
    row.addWidget(QLabel("100 %"))
    row.addStretch(1)
    layout.addLayout(row)
    meaning = QLabel(LEGEND_TEXT)
    meaning.setWordWrap(True)
    small = meaning.font()
    small.setPointSizeF(small.pointSizeF() * 0.9)
    meaning.setFont(small)
    layout.addWidget(meaning)
    box.setVisible(False)
    return box


def _box(name: str, background: str, foreground: str, border: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setStyleSheet(
        f"QLabel#{name} {{ background: {background}; color: {foreground}; "
        f"border: 1px solid {border}; border-radius: 4px; padding: 6px 8px; }}"
    )
    label.setVisible(False)
    return label


class ResultPanel(QWidget):
    """Everything the model says about the current image (see the module docstring)."""

    heatmap_toggled = Signal(bool)
    heatmap_class_changed = Signal(str)
    opacity_changed = Signal(int)
    open_model_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resultPanel")
        self.card: ModelCard | None = None
        self.sensitivity: float | None = None
        self.prediction: Prediction | None = None
        self.heatmap_class: str | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)

        self.model_notice = QFrame()
        self.model_notice.setObjectName("modelNotice")
        self.model_notice.setStyleSheet(
            f"QFrame#modelNotice {{ background: {palette.NOTICE_FILL}; border: 1px solid "
            f"{palette.NOTICE}; border-radius: 4px; }}"
        )
        notice_layout = QVBoxLayout(self.model_notice)
        self.model_notice_text = QLabel()
        self.model_notice_text.setObjectName("modelNoticeText")
        self.model_notice_text.setWordWrap(True)
        self.model_notice_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_model_button = QPushButton("Open Model…")
        self.open_model_button.setAccessibleName("Open a model file")
        self.open_model_button.clicked.connect(self.open_model_requested)
        notice_layout.addWidget(self.model_notice_text)
        notice_layout.addWidget(self.open_model_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.model_notice.setVisible(False)
        layout.addWidget(self.model_notice)

        self.alert_banner = QFrame()
        self.alert_banner.setObjectName("alertBanner")
        self.alert_banner.setAccessibleName("Malignancy alert")
        self.alert_banner.setStyleSheet(
            f"QFrame#alertBanner {{ background: {MALIGNANT.name()}; border-radius: 4px; }}"
            "QFrame#alertBanner QLabel { color: white; background: transparent; }"
        )
        banner_layout = QVBoxLayout(self.alert_banner)
        banner_layout.setContentsMargins(10, 8, 10, 8)
        banner_layout.setSpacing(3)
        self.alert_text = QLabel()
        self.alert_text.setObjectName("alertText")
        self.alert_text.setWordWrap(True)
        self.alert_text.setTextFormat(Qt.TextFormat.PlainText)
        self.alert_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.alert_text.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.alert_text.setFont(font)
        banner_layout.addWidget(self.alert_text)
        self.alert_banner.setVisible(False)
        layout.addWidget(self.alert_banner)

        self.not_assessed_banner = QFrame()
        self.not_assessed_banner.setObjectName("notAssessedBanner")
        self.not_assessed_banner.setAccessibleName("Not assessed")
        self.not_assessed_banner.setStyleSheet(
            f"QFrame#notAssessedBanner {{ background: {palette.WARNING_FILL}; border: 2px solid "
            f"{palette.WARNING_BORDER}; border-radius: 4px; }}"
            f"QFrame#notAssessedBanner QLabel {{ color: {palette.WARNING_TEXT}; "
            "background: transparent; border: none; }"
        )
        not_assessed_layout = QVBoxLayout(self.not_assessed_banner)
        not_assessed_layout.setContentsMargins(10, 8, 10, 8)
        not_assessed_layout.setSpacing(4)
        self.not_assessed_title = QLabel("Not assessed")
        self.not_assessed_title.setObjectName("notAssessedTitle")
        title_font = self.not_assessed_title.font()
        title_font.setBold(True)
        title_font.setPointSizeF(title_font.pointSizeF() * 1.2)
        self.not_assessed_title.setFont(title_font)
        self.not_assessed_text = QLabel()
        self.not_assessed_text.setObjectName("notAssessedText")
        self.not_assessed_text.setWordWrap(True)
        self.not_assessed_text.setTextFormat(Qt.TextFormat.PlainText)
        self.not_assessed_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.show_anyway_button = QPushButton("Show anyway")
        self.show_anyway_button.setObjectName("showAnywayButton")
        self.show_anyway_button.setCheckable(True)
        self.show_anyway_button.setAccessibleName("Show the probabilities and heat map anyway")
        self.show_anyway_button.setToolTip("Show what the model computed, marked as possibly "
                                           "meaningless")
        self.show_anyway_button.toggled.connect(self._reveal)
        not_assessed_layout.addWidget(self.not_assessed_title)
        not_assessed_layout.addWidget(self.not_assessed_text)
        not_assessed_layout.addWidget(self.show_anyway_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.not_assessed_banner.setVisible(False)
        layout.addWidget(self.not_assessed_banner)

        self.no_thresholds = _box("noThresholdNotice", palette.NOTICE_FILL, palette.NOTICE_TEXT,
                                  palette.NOTICE)
        self.no_thresholds.setAccessibleName("No validated alert threshold")
        self.no_thresholds.setText(NO_THRESHOLDS_TEXT)
        layout.addWidget(self.no_thresholds)

        self.summary = QLabel("Open an image (Ctrl+O), drop one here, or paste one (Ctrl+V).")
        self.summary.setObjectName("summaryLine")
        self.summary.setAccessibleName("Summary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.summary.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        font.setBold(True)
        self.summary.setFont(font)
        layout.addWidget(self.summary)

        self.uncertain_warning = _box("uncertainWarning", palette.WARNING_FILL, palette.WARNING_TEXT,
                                      palette.WARNING_BORDER)
        self.uncertain_warning.setAccessibleName("Uncertainty warning")
        layout.addWidget(self.uncertain_warning)

        # What the model computed; collapsed for a not-assessed image until "Show anyway".
        self.details = QWidget()
        self.details.setObjectName("resultDetails")
        outer = layout
        layout = QVBoxLayout(self.details)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        outer.addWidget(self.details)
        self.shown_anyway_note = _box("shownAnywayNote", palette.WARNING_FILL,
                                      palette.WARNING_TEXT, palette.WARNING_BORDER)
        self.shown_anyway_note.setAccessibleName("Shown anyway: may be meaningless")
        layout.addWidget(self.shown_anyway_note)

        self.chart = ProbabilityChart()
        self.chart.class_selected.connect(self._chart_class_selected)
        layout.addWidget(self.chart)
        self.legend = QLabel(legend_html())
        self.legend.setObjectName("chartLegend")
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        layout.addWidget(self.legend)

        heat_row = QHBoxLayout()
        self.heatmap_check = QCheckBox("&Heat map")
        self.heatmap_check.setObjectName("heatmapToggle")
        self.heatmap_check.setAccessibleName("Show heat map")
        self.heatmap_check.setToolTip("Show where the model looked (H)")
        self.heatmap_check.toggled.connect(self.heatmap_toggled)
        self.heatmap_check.toggled.connect(lambda _on: self._update_heatmap_controls())
        self.heatmap_class_label = QLabel()
        self.heatmap_class_label.setObjectName("heatmapClass")
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setObjectName("opacitySlider")
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(50)
        self.opacity_slider.setAccessibleName("Heat-map opacity")
        self.opacity_slider.setToolTip("Heat-map opacity")
        self.opacity_slider.setMinimumWidth(120)
        self.opacity_slider.valueChanged.connect(self.opacity_changed)
        opacity_label = QLabel("&Opacity")
        opacity_label.setBuddy(self.opacity_slider)
        heat_row.addWidget(self.heatmap_check)
        heat_row.addStretch(1)
        heat_row.addWidget(opacity_label)
        heat_row.addWidget(self.opacity_slider, 1)
        layout.addLayout(heat_row)
        self.heatmap_class_label.setWordWrap(True)
        layout.addWidget(self.heatmap_class_label)
        self.heatmap_scale = _colour_scale()
        layout.addWidget(self.heatmap_scale)
        layout = outer

        self.operating_point = QLabel()
        self.operating_point.setObjectName("operatingPoint")
        self.operating_point.setWordWrap(True)
        small = self.operating_point.font()
        small.setPointSizeF(small.pointSizeF() * 0.9)
        self.operating_point.setFont(small)
        layout.addWidget(self.operating_point)
        layout.addStretch(1)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.setTabOrder(self.chart, self.heatmap_check)
        self.setTabOrder(self.heatmap_check, self.opacity_slider)
        self._update_heatmap_controls()

    # -- model state ------------------------------------------------------------------
    def set_model(self, card: ModelCard | None, sensitivity: float | None) -> None:
        self.card = card
        self.sensitivity = sensitivity
        self.model_notice.setVisible(False)
        self.no_thresholds.setVisible(card is not None and not card.operating_points)
        if card is None:
            self.operating_point.setText("")
        else:
            self.operating_point.setText(
                "Alert operating point: " + operating_point_label(card, sensitivity)
                + " (change in Settings)"
            )
        if self.prediction is not None:
            self.show_prediction(self.prediction)

    def show_model_notice(self, text: str) -> None:
        """No usable model: say why, and offer to open one."""
        self.model_notice_text.setText(text)
        self.model_notice.setVisible(True)

    def show_waiting(self, text: str) -> None:
        self.prediction = None
        self.chart.clear()
        self.alert_banner.setVisible(False)
        self.uncertain_warning.setVisible(False)
        self.not_assessed_banner.setVisible(False)
        self.shown_anyway_note.setVisible(False)
        self.details.setVisible(True)
        self.summary.setVisible(True)
        self.summary.setText(text)
        self._update_heatmap_controls()

    # -- result -----------------------------------------------------------------------
    def show_prediction(self, prediction: Prediction) -> None:
        if self.prediction is None or self.prediction.path != prediction.path:
            self.show_anyway_button.setChecked(False)  # each image starts collapsed
        self.prediction = prediction
        banner = alert_text(prediction)
        self.alert_text.setText(banner)
        self.alert_banner.setAccessibleDescription(banner)
        self.alert_banner.setVisible(bool(banner))
        self.summary.setText(summary_line(prediction))
        self.uncertain_warning.setText(
            f"Uncertain: no class reaches {percent(prediction.uncertainty_threshold)} "
            f"(top {percent(prediction.top_probability)}); do not rely on the top class."
            if prediction.uncertain else ""
        )
        self.uncertain_warning.setVisible(bool(prediction.uncertain))
        self.not_assessed_text.setText(not_assessed_text(prediction))
        self.not_assessed_banner.setAccessibleDescription(prediction.summary())
        self.shown_anyway_note.setText("" if prediction.assessed else shown_anyway_text(prediction))
        try:
            rows = chart_rows(prediction, self.card, self.sensitivity)
        except CardError as error:  # the one policy: never draw rows without their thresholds
            rows = []
            self.summary.setText(f"This result cannot be shown with this model card: {error}. "
                                 "Choose another operating point in Settings.")
        self.chart.set_rows(rows)
        if self.heatmap_class not in prediction.as_dict():
            self.heatmap_class = None
        self.chart.select_class(self.shown_heatmap_class(), emit=False)
        self._show_assessment()

    def results_shown(self) -> bool:
        """True when the chart and heat map may be seen: an assessed image, or "Show anyway"."""
        return self.prediction is not None and (self.prediction.assessed
                                                or self.show_anyway_button.isChecked())

    def _reveal(self, _on: bool) -> None:
        self.show_anyway_button.setText("Hide again" if _on else "Show anyway")
        if self.prediction is not None:
            self._show_assessment()
            self.heatmap_toggled.emit(self.heatmap_check.isChecked())  # the overlay follows

    def _show_assessment(self) -> None:
        """Banner or summary; the details collapsed for a not-assessed image unless revealed."""
        assessed = self.prediction is None or self.prediction.assessed
        self.not_assessed_banner.setVisible(not assessed)
        self.summary.setVisible(assessed)
        self.uncertain_warning.setVisible(bool(self.uncertain_warning.text())
                                          and self.results_shown())
        self.details.setVisible(self.results_shown())
        self.shown_anyway_note.setVisible(not assessed and self.results_shown())
        self._update_heatmap_controls()

    def shown_heatmap_class(self) -> str | None:
        """The class the user picked, else ``default_heatmap_class`` (the strongest alert's
        class under review advised, otherwise the top class); None without a prediction."""
        if self.prediction is None:
            return None
        return self.heatmap_class or default_heatmap_class(self.prediction)

    def reset_heatmap_class(self) -> None:
        self.heatmap_class = None

    def _chart_class_selected(self, name: str) -> None:
        self.heatmap_class = name
        self._update_heatmap_controls()
        self.heatmap_class_changed.emit(name)

    def _update_heatmap_controls(self) -> None:
        has_cam = (self.prediction is not None and self.prediction.cam is not None
                   and self.results_shown())
        self.heatmap_check.setEnabled(has_cam)
        self.opacity_slider.setEnabled(has_cam)
        self.heatmap_scale.setVisible(has_cam and self.heatmap_check.isChecked())
        if self.prediction is None:
            self.heatmap_class_label.setText("")
        elif not has_cam:
            self.heatmap_class_label.setText("(this model gives no heat maps)")
        else:
            name = self.shown_heatmap_class() or ""
            alerted = name in {a.class_name for a in self.prediction.alerts}
            role = (" (alert: review advised)" if alerted else
                    " (top class)" if self.prediction.top_class.name == name else "")
            text = f"{heatmap_caption(self.prediction, name)}{role}; click a bar to change"
            layer = self.prediction.cam[..., self.prediction.class_index(name)]
            if float(layer.max() - layer.min()) < 1e-6:
                text += ". This class's map is flat: no region stands out."
            self.heatmap_class_label.setText(text)
