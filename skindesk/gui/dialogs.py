"""The About dialog (model card as readable tables, intended use, limitation, privacy, licence)
and the Settings dialog.

Settings offers only operating points the model card validated (its ``available_sensitivities``,
or the card's own per-class defaults), each shown with its thresholds and validated figures; a
model without operating points gets a plain statement instead of a chooser. The image gate's
strictness is offered the same way: only the levels the card validated, each with its validated
false-flag rate; disabled, with the reason, for a model without levels. It also holds the
execution-provider preference (auto, CUDA, CPU).
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from skindesk import __version__ as skindesk_version
from skindesk.core.assessment import gate_levels, gate_score_text, quality_limit_lines
from skindesk.core.card_text import card_sections, flatten
from skindesk.core.class_rows import card_thresholds
from skindesk.core.formatting import percent, percent_range
from skindesk.core.modelcard import ModelCard, file_sha256
from skindesk.core.prediction import operating_point_label
from skindesk.core.wording import LIMITATION, PRIVACY

from .result_panel import NO_THRESHOLDS_TEXT

__all__ = ["AboutDialog", "SettingsDialog", "operating_point_table"]

PROVIDER_LABELS = (
    ("auto", "Automatic (GPU if it really works, else CPU)"),
    ("cuda", "GPU (CUDA), falling back to CPU"),
    ("cpu", "CPU only"),
)


_pct = percent


def _ci(values: Any) -> str:
    try:
        low, high = values
        return f" ({percent_range(float(low), float(high))})"
    except (TypeError, ValueError):
        return ""


def _table(rows: list[tuple[str, str]]) -> str:
    """A two-column HTML table (label, value)."""
    esc = html.escape
    body = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in rows)
    return f"<table border='1' cellspacing='0' cellpadding='3'>{body}</table>"


def card_html(card: ModelCard) -> str:
    """The whole model card as headed two-column tables (the 'Full model card' tab)."""
    parts = []
    for section, rows in card_sections(card.raw):
        parts.append(f"<h4>{html.escape(section.capitalize())}</h4>")
        if not rows:
            parts.append("<p>none recorded</p>")
        elif len(rows) == 1 and not rows[0][0]:
            parts.append(f"<p>{html.escape(rows[0][1])}</p>")
        else:
            parts.append(_table(rows))
    return "".join(parts)


def operating_point_table(card: ModelCard, sensitivity: float | None) -> str:
    """HTML table of each flagged class's threshold and validated figures at ``sensitivity``."""
    if not card.operating_points:
        return html.escape(NO_THRESHOLDS_TEXT)
    rows = [
        "<tr><th align='left'>Class</th><th>Target</th><th>Threshold</th>"
        "<th>Validation sensitivity</th><th>Validation specificity</th>"
        "<th>Test sensitivity</th><th>Test specificity</th></tr>"
    ]
    for name, point in card_thresholds(card, sensitivity):
        test = point.test or {}
        rows.append(
            f"<tr><td>{html.escape(name)}</td>"
            f"<td align='center'>{_pct(point.target_sensitivity)}</td>"
            f"<td align='center'>{_pct(point.threshold)}</td>"
            f"<td align='center'>{_pct(point.validated_sensitivity)}{_ci(point.validation.get('sensitivity_ci'))}</td>"
            f"<td align='center'>{_pct(point.validated_specificity)}{_ci(point.validation.get('specificity_ci'))}</td>"
            f"<td align='center'>{_pct(test.get('sensitivity'))}</td>"
            f"<td align='center'>{_pct(test.get('specificity'))}</td></tr>"
        )
    return "<table cellspacing='0' cellpadding='3' border='1'>" + "".join(rows) + "</table>"


GATE_NOTE = (
    "A stricter image gate leaves more images unassessed: fewer wrong inputs (photos without a "
    "dermatoscope, screenshots, documents, other medical images) get a "
    "result, and more real dermoscopic images are set aside (the rate shown). Only levels "
    "validated in the model card are offered."
)


class SettingsDialog(QDialog):
    """Operating point, image-gate strictness and execution provider; read the choices after
    ``exec()``."""

    def __init__(
        self,
        card: ModelCard | None,
        sensitivity: float | None,
        provider: str,
        parent: QWidget | None = None,
        gate_strictness: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("SkinDesk settings")
        self.setObjectName("settingsDialog")
        self.card = card
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.operating_combo = QComboBox()
        self.operating_combo.setObjectName("operatingPointCombo")
        self.operating_combo.setAccessibleName("Alert operating point")
        self.operating_details = QLabel()
        self.operating_details.setObjectName("operatingPointDetails")
        self.operating_details.setWordWrap(True)
        self.operating_details.setTextFormat(Qt.TextFormat.RichText)
        if card is None:
            self.operating_combo.addItem("No model loaded", None)
            self.operating_combo.setEnabled(False)
        elif not card.operating_points:
            self.operating_combo.addItem("None: no validated alert threshold", None)
            self.operating_combo.setEnabled(False)
        else:
            default = operating_point_label(card, None)
            self.operating_combo.addItem(f"Model default ({default})", None)
            for value in card.available_sensitivities():
                self.operating_combo.addItem(f"{percent(value)} target sensitivity for every flagged class", value)
            index = 0
            for i in range(self.operating_combo.count()):
                data = self.operating_combo.itemData(i)
                if data is not None and sensitivity is not None and abs(data - sensitivity) < 1e-9:
                    index = i
            self.operating_combo.setCurrentIndex(index)
        self.operating_combo.currentIndexChanged.connect(self._show_details)
        form.addRow("Alert &operating point:", self.operating_combo)
        form.addRow("", self.operating_details)
        self.gate_combo, self.gate_note = self._gate_chooser(card, gate_strictness)
        form.addRow("&Image gate strictness:", self.gate_combo)
        form.addRow("", self.gate_note)
        self.provider_combo = QComboBox()
        self.provider_combo.setObjectName("providerCombo")
        self.provider_combo.setAccessibleName("Execution provider")
        for key, label in PROVIDER_LABELS:
            self.provider_combo.addItem(label, key)
        self.provider_combo.setCurrentIndex(max(0, [k for k, _ in PROVIDER_LABELS].index(provider) if provider in dict(PROVIDER_LABELS) else 0))
        form.addRow("&Run the model on:", self.provider_combo)
        layout.addLayout(form)
        note = QLabel(
            "A higher target sensitivity raises more alerts (fewer missed cancers, more benign "
            "lesions flagged). Only operating points validated in the model card are offered."
        )
        note.setWordWrap(True)
        layout.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._show_details()
        self.resize(680, 460)

    @staticmethod
    def _gate_chooser(card: ModelCard | None, chosen: str | None) -> tuple[QComboBox, QLabel]:
        """The strictness combo (data: a level name, None for the card's default) and its note."""
        combo = QComboBox()
        combo.setObjectName("gateStrictnessCombo")
        combo.setAccessibleName("Image gate strictness")
        note = QLabel(GATE_NOTE)
        note.setObjectName("gateStrictnessNote")
        note.setWordWrap(True)
        levels = gate_levels(card) if card is not None else []
        for level in levels:
            combo.addItem(level.label, None if level.default else level.name)
            if level.name == chosen:
                combo.setCurrentIndex(combo.count() - 1)
        if levels and chosen is None:
            combo.setCurrentIndex(max(0, next((i for i, lv in enumerate(levels) if lv.default), 0)))
        if not levels:
            combo.addItem("Fixed: no validated levels" if card is not None else "No model loaded",
                          None)
            combo.setEnabled(False)
            note.setText(
                "Open a model to choose its image-gate strictness." if card is None else
                "This model has no image gate: it cannot tell a dermoscopic image from anything "
                "else." if card.ood_threshold is None else
                "This model's card validates no strictness levels for its image gate, so its "
                "threshold is fixed; a newer model brings its own levels.")
        return combo, note

    def gate_strictness(self) -> str | None:
        """The chosen image-gate level, or None for the card's default."""
        data = self.gate_combo.currentData()
        return None if data is None else str(data)

    def _show_details(self) -> None:
        if self.card is None:
            self.operating_details.setText("Open a model to choose its operating point.")
            return
        self.operating_details.setText(operating_point_table(self.card, self.sensitivity()))

    def sensitivity(self) -> float | None:
        data = self.operating_combo.currentData()
        return None if data is None else float(data)

    def provider(self) -> str:
        return str(self.provider_combo.currentData())


class AboutDialog(QDialog):
    """SkinDesk and its model: card summary, intended use, limitation, privacy, licence, and the
    whole card as readable tables."""

    def __init__(self, classifier: Any | None, sensitivity: float | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About SkinDesk")
        self.setObjectName("aboutDialog")
        layout = QVBoxLayout(self)
        tabs = QTabWidget()
        layout.addWidget(tabs)
        self.overview = QTextBrowser()
        self.overview.setObjectName("aboutOverview")
        self.overview.setOpenLinks(False)
        self.overview.setHtml(self._overview_html(classifier, sensitivity))
        tabs.addTab(self.overview, "&Model")
        self.card_text = QTextBrowser()
        self.card_text.setObjectName("aboutCard")
        self.card_text.setOpenLinks(False)
        self.card_text.setHtml(card_html(classifier.card) if classifier is not None
                               else "<p>No model loaded.</p>")
        tabs.addTab(self.card_text, "Full model &card")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)
        self.resize(760, 620)

    @staticmethod
    def _overview_html(classifier: Any | None, sensitivity: float | None) -> str:
        esc = html.escape
        parts = [f"<h2>SkinDesk {esc(skindesk_version)}</h2>",
                 "<p>Decision support for dermoscopic skin-lesion images.</p>",
                 f"<p><b>Privacy:</b> {esc(PRIVACY)}</p>"]
        if classifier is None:
            parts.append("<p><b>No model is loaded.</b></p>")
            return "".join(parts)
        card: ModelCard = classifier.card
        parts.append(f"<h3>{esc(card.title)}</h3>")
        parts.append(f"<p><b>Disclaimer:</b> {esc(card.disclaimer)}</p>")
        parts.append(f"<p><b>Intended use:</b> {esc(card.intended_use or 'not stated')}</p>")
        parts.append(f"<p><b>{esc(LIMITATION.partition(': ')[0])}:</b> "
                     f"{esc(LIMITATION.partition(': ')[2])}</p>")
        parts.append(f"<p><b>Licence:</b> {esc(card.licence or 'not stated')}</p>")
        parts.append(
            f"<p><b>Architecture:</b> {esc(str(card.raw.get('architecture', '–')))}<br>"
            f"<b>Created:</b> {esc(str(card.raw.get('created', '–')))}<br>"
            f"<b>File:</b> {esc(str(classifier.model_path))}<br>"
            f"<b>File sha256</b> (of the whole file, as sha256sum prints): "
            f"{esc(_file_digest(classifier.model_path))}<br>"
            f"<b>Content sha256</b> (model card's hash, recorded inside the model; verified): "
            f"{esc(str(classifier.sha256))}<br>"
            f"<b>Runs on:</b> {esc(classifier.provider)}"
            + (f" — {esc(classifier.provider_note)}" if classifier.provider_note else "") + "</p>"
        )
        classes = "".join(
            f"<li>{esc(c.display_name)}" + (f" — <b>{esc(c.group)}</b>" if c.group != 'benign' else "") + "</li>"
            for c in card.classes
        )
        parts.append(f"<p><b>Classes:</b></p><ul>{classes}</ul>")
        parts.append(f"<p><b>Malignancy alert operating point:</b> {esc(operating_point_label(card, sensitivity))}</p>")
        parts.append(operating_point_table(card, sensitivity))
        parts.append(_gate_html(card, getattr(classifier, "gate_strictness", None)))
        training = card.raw.get("training_data") or {}
        if isinstance(training, dict) and training.get("description"):
            parts.append(f"<p><b>Training data:</b> {esc(str(training['description']))}</p>")
        metrics = card.metrics
        if metrics:
            parts.append("<p><b>Metrics:</b></p>" + _table(flatten(metrics)))
        return "".join(parts)


def _gate_html(card: ModelCard, strictness: str | None) -> str:
    """When an image is 'not assessed': the gate, its levels (the one in use marked) and the
    quality limits."""
    esc = html.escape
    if card.ood_threshold is None:
        gate = "<p><b>Image gate:</b> none; this model cannot tell a dermoscopic image from " \
               "anything else.</p>"
    else:
        gate = f"<p><b>Image gate</b> ({esc(gate_score_text(card))}):</p>"
        levels = gate_levels(card)
        if not levels:
            gate += "<p>no validated strictness levels; the threshold is fixed.</p>"
        in_use = strictness or next((lv.name for lv in levels if lv.default), None)
        gate += "".join(f"<li>{'<b>in use:</b> ' if lv.name == in_use else ''}{esc(lv.label)}</li>"
                        for lv in levels).join(("<ul>", "</ul>")) if levels else ""
    limits = quality_limit_lines(card.quality_limits)
    quality = ("<p><b>Quality checks</b> (not assessed when):</p>" + _table(limits)) if limits \
        else "<p><b>Quality checks:</b> none in this model card.</p>"
    return gate + quality


def _file_digest(path: Any) -> str:
    try:
        return file_sha256(path)
    except OSError as error:
        return f"cannot be read ({error.strerror or error})"
