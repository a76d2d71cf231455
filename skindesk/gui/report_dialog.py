"""The "Export report" dialogs: patient fields for a single-image PDF, and a batch-report save.

``export_report`` asks for the patient fields (patient identifier required; name, birth date, body
site, clinician, clinic, notes optional), remembers only the clinic, clinician, paper size and
folder in ``QSettings`` (never patient data), proposes a file name from the patient identifier and
the date, asks before replacing a file and writes the PDF synchronously (it takes well under a
second). ``export_batch_report`` does the same for a batch-results CSV. Both confirm a saved report
with a message offering "Open" and "Show in folder" (``show_saved``), and return the written
path, or None when cancelled; a failure is shown in a message box naming the file and the problem.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from skindesk.core.prediction import Prediction
from skindesk.report.content import (
    PatientFields,
    ReportError,
    build_report,
    proposed_file_name,
    read_batch_csv,
)
from skindesk.core import palette
from skindesk.core.heatmap import heatmap_caption
from skindesk.report.pdf import PAPER_SIZES, default_paper, write_batch_report_pdf, write_report_pdf

from .settings import AppSettings

__all__ = ["ReportDialog", "export_report", "export_batch_report", "report_settings",
           "show_saved", "BODY_SITES"]

BODY_SITES = (
    "", "Scalp", "Face", "Ear", "Neck", "Chest", "Abdomen", "Upper back", "Lower back",
    "Upper arm", "Forearm", "Hand", "Thigh", "Lower leg", "Foot", "Genital area", "Other",
)


def report_settings() -> Any:
    """SkinDesk's settings store (the same INI file as the rest of the app)."""
    return AppSettings().store


def _folder(settings: AppSettings) -> Path:
    folder = settings.report_value("folder")
    if folder and Path(folder).is_dir():
        return Path(folder)
    documents = Path.home() / "Documents"
    return documents if documents.is_dir() else Path.home()


def _confirm_overwrite(parent: QWidget | None, path: Path) -> bool:
    answer = QMessageBox.question(
        parent, "Replace file?",
        f"{path.name} already exists in {path.parent}.\nReplace it?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes


class ReportDialog(QDialog):
    """Asks for the patient fields and the output file, then writes the report on OK."""

    def __init__(self, prediction: Prediction, image: Any, heatmap: Any, classifier: Any,
                 parent: QWidget | None = None, heatmap_caption: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Export report")
        self.prediction, self.image, self.heatmap = prediction, image, heatmap
        self.classifier, self.heatmap_caption = classifier, heatmap_caption
        self.analysed_at = datetime.now().astimezone()
        self.settings = AppSettings()
        self.written: Path | None = None
        self._file_edited = False

        self.patient_id = QLineEdit()
        self.patient_id.setPlaceholderText("required")
        self.patient_name = QLineEdit()
        self.birth_date = QLineEdit()
        self.birth_date.setPlaceholderText("e.g. 1961-04-03")
        self.body_site = QComboBox()
        self.body_site.setEditable(True)
        self.body_site.addItems(BODY_SITES)
        self.clinician = QLineEdit(self.settings.report_value("clinician"))
        self.clinic = QLineEdit(self.settings.report_value("clinic"))
        self.notes = QPlainTextEdit()
        self.notes.setFixedHeight(70)
        self.paper = QComboBox()
        self.paper.addItems(["A4", "Letter"])
        paper = self.settings.report_value("paper") or default_paper()
        self.paper.setCurrentIndex(1 if paper == "letter" else 0)
        self.include_heatmap = QCheckBox("Include the heat map")
        usable = heatmap is not None and prediction.assessed  # a not-assessed report has none
        self.include_heatmap.setChecked(usable)
        self.include_heatmap.setEnabled(usable)
        if not prediction.assessed:
            self.include_heatmap.setToolTip("This image was not assessed: its report has no heat map")
        self.file_edit = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self.browse)
        file_row = QHBoxLayout()
        file_row.addWidget(self.file_edit, 1)
        file_row.addWidget(browse)

        form = QFormLayout()
        form.addRow("Patient ID *", self.patient_id)
        form.addRow("Name", self.patient_name)
        form.addRow("Birth date", self.birth_date)
        form.addRow("Body site", self.body_site)
        form.addRow("Clinician", self.clinician)
        form.addRow("Clinic", self.clinic)
        form.addRow("Notes", self.notes)
        form.addRow("Paper", self.paper)
        form.addRow("", self.include_heatmap)
        form.addRow("Save as", file_row)
        self.problem = QLabel("")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(f"color: {palette.ALERT}")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        summary = QLabel(prediction.summary())
        summary.setWordWrap(True)
        layout.addWidget(summary)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)

        self.patient_id.textChanged.connect(self._propose_file)
        self.file_edit.textEdited.connect(self._mark_edited)
        self._propose_file()

    def _mark_edited(self) -> None:
        self._file_edited = True

    def _propose_file(self) -> None:
        if self._file_edited:
            return
        folder = _folder(self.settings)
        self.file_edit.setText(str(folder / proposed_file_name(self.patient_id.text() or "patient",
                                                               self.analysed_at)))

    def browse(self) -> None:
        chosen, _ = QFileDialog.getSaveFileName(
            self, "Save report as", self.file_edit.text(), "PDF files (*.pdf)",
            options=QFileDialog.Option.DontConfirmOverwrite,
        )
        if chosen:
            if not chosen.lower().endswith(".pdf"):
                chosen += ".pdf"
            self.file_edit.setText(chosen)
            self._file_edited = True

    def patient(self) -> PatientFields:
        return PatientFields(
            patient_id=self.patient_id.text(), name=self.patient_name.text(),
            birth_date=self.birth_date.text(), body_site=self.body_site.currentText(),
            clinician=self.clinician.text(), clinic=self.clinic.text(),
            notes=self.notes.toPlainText(),
        ).cleaned()

    def save(self) -> None:
        """Write the PDF (asking before replacing a file); stays open on a problem."""
        patient = self.patient()
        if not patient.patient_id:
            self.problem.setText("Enter the patient identifier.")
            self.patient_id.setFocus()
            return
        text = self.file_edit.text().strip()
        if not text:
            self.problem.setText("Choose where to save the report.")
            return
        path = Path(text).expanduser()
        if path.suffix.lower() != ".pdf":
            path = path.with_name(path.name + ".pdf")
        overwrite = False
        if path.exists():
            if not _confirm_overwrite(self, path):
                return
            overwrite = True
        classifier = self.classifier
        heatmap = self.heatmap if self.include_heatmap.isChecked() else None
        try:
            content = build_report(
                self.prediction, classifier.card, patient, sha256=getattr(classifier, "sha256", ""),
                provider=getattr(classifier, "provider", ""),
                sensitivity=getattr(classifier, "sensitivity", None), image=self.image,
                heatmap=heatmap, heatmap_caption=self.heatmap_caption if heatmap is not None else "",
                analysed_at=self.analysed_at,
            )
            paper = "letter" if self.paper.currentIndex() == 1 else "a4"
            self.written = write_report_pdf(content, path, paper=paper, overwrite=overwrite)
        except ReportError as error:
            self.problem.setText(str(error))
            QMessageBox.critical(self, "Report not written", str(error))
            return
        self.settings.set_report_values(clinic=patient.clinic, clinician=patient.clinician,
                                        paper=paper, folder=str(path.parent))
        self.accept()


def _heatmap_caption(parent: Any, prediction: Prediction) -> str:
    """Name the class the app's heat map shows (the main window's choice, else the default)."""
    try:
        name = parent.result_panel.shown_heatmap_class()
    except (AttributeError, TypeError, RuntimeError):
        name = None
    return heatmap_caption(prediction, name)


def export_report(parent: QWidget | None, prediction: Prediction, image: Any,
                  heatmap: Any, classifier: Any) -> str | None:
    """Ask for the patient fields and write the report; the path written, or None."""
    dialog = ReportDialog(prediction, image, heatmap, classifier, parent,
                          heatmap_caption=_heatmap_caption(parent, prediction))
    if dialog.exec() != QDialog.DialogCode.Accepted or dialog.written is None:
        return None
    show_saved(parent, dialog.written, "Report saved")
    return str(dialog.written)


def export_batch_report(parent: QWidget | None, csv_path: str | Path) -> str | None:
    """Ask where to save a batch report of ``csv_path`` and write it; the path, or None."""
    settings = AppSettings()
    try:
        content = read_batch_csv(csv_path, clinic=settings.report_value("clinic"))
    except ReportError as error:
        QMessageBox.critical(parent, "Batch report not written", str(error))
        return None
    proposal = Path(csv_path).with_name(f"{Path(csv_path).stem}_report_"
                                        f"{datetime.now():%Y-%m-%d}.pdf")
    chosen, _ = QFileDialog.getSaveFileName(
        parent, "Save batch report as", str(proposal), "PDF files (*.pdf)",
        options=QFileDialog.Option.DontConfirmOverwrite,
    )
    if not chosen:
        return None
    path = Path(chosen)
    if path.suffix.lower() != ".pdf":
        path = path.with_name(path.name + ".pdf")
    overwrite = False
    if path.exists():
        if not _confirm_overwrite(parent, path):
            return None
        overwrite = True
    paper = settings.report_value("paper") or default_paper()
    try:
        written = write_batch_report_pdf(content, path, overwrite=overwrite,
                                         paper=paper if paper in PAPER_SIZES else None)
    except ReportError as error:
        QMessageBox.critical(parent, "Batch report not written", str(error))
        return None
    show_saved(parent, written, "Batch report saved")
    return str(written)


_OPEN_BOXES: set[QMessageBox] = set()


def show_saved(parent: QWidget | None, path: str | Path, title: str) -> QMessageBox:
    """Say where a report was saved, offering "Open" (the PDF) and "Show in folder" (its
    folder, in the file manager). Not blocking: the box is returned while it is open."""
    path = Path(path)
    box = QMessageBox(QMessageBox.Icon.Information, title,
                      f"{path.name} was saved in\n{path.parent}", QMessageBox.StandardButton.Close,
                      parent)
    box.setObjectName("reportSavedBox")
    open_button = box.addButton("Open", QMessageBox.ButtonRole.ActionRole)
    folder_button = box.addButton("Show in folder", QMessageBox.ButtonRole.ActionRole)
    open_button.setObjectName("openReport")
    folder_button.setObjectName("showReportFolder")

    def clicked(button: Any) -> None:
        if button is open_button:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
        elif button is folder_button:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent)))

    box.buttonClicked.connect(clicked)
    box.finished.connect(lambda _result: _OPEN_BOXES.discard(box))
    _OPEN_BOXES.add(box)
    box.open()
    return box
