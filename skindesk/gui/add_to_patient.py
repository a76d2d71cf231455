"""The "Add to patient…" dialog: file the current result, or a batch's, under a patient and lesion.

``AddToPatientDialog`` only gathers where the image(s) go — patient ID (existing ones offered
as you type), lesion (that patient's lesions offered, or a new label), anatomical site, date
(the image's own EXIF date unless one is entered) and dermatoscope — or, for a batch, a CSV
mapping file. ``add_prediction`` and ``add_rows`` hand the choice to the core
(``CaseStore.add_image``, ``cases.attach.attach_rows``) and report what happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QDateEdit, QDialog,
                               QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QMessageBox, QPushButton, QRadioButton, QVBoxLayout,
                               QWidget)

from skindesk.cases import SITES, CaseStore
from skindesk.cases.attach import (Assignment, AttachReport, attach_rows, read_mapping,
                                   result_from_prediction)
from skindesk.core.errors import SkinDeskError
from skindesk.core.prediction import Prediction
from skindesk.core.results import ResultRow

__all__ = ["AddToPatientDialog", "add_prediction", "add_rows"]


class AddToPatientDialog(QDialog):
    """Where to file one image (``batch=False``) or a batch of rows (``batch=True``)."""

    def __init__(self, store: CaseStore, *, batch: bool = False, count: int = 1,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.mapping: dict[str, Assignment] | None = None
        self.setObjectName("addToPatientDialog")
        self.setWindowTitle("Add to patient" if not batch else f"Add {count} results to patients")
        self.patient = QComboBox()
        self.patient.setEditable(True)
        self.patient.setAccessibleName("Patient ID")
        self.patient.lineEdit().setPlaceholderText("clinic patient ID (new or existing)")
        self.patient.addItems([p.clinic_id for p in store.search("", limit=500)])
        self.patient.setCurrentText("")
        self.lesion = QComboBox()
        self.lesion.setEditable(True)
        self.lesion.setAccessibleName("Lesion")
        self.lesion.lineEdit().setPlaceholderText("e.g. left shoulder, 3 cm below the acromion")
        self.site = QComboBox()
        self.site.setAccessibleName("Anatomical site")
        self.site.addItem("(not given)", None)
        for site in SITES:
            self.site.addItem(site, site)
        self.use_exif = QCheckBox("Date the image was taken (EXIF), else today")
        self.use_exif.setChecked(True)
        self.date = QDateEdit(QDate.currentDate())
        self.date.setCalendarPopup(True)
        self.date.setDisplayFormat("yyyy-MM-dd")
        self.date.setMaximumDate(QDate.currentDate())
        self.date.setEnabled(False)
        self.use_exif.toggled.connect(lambda on: self.date.setEnabled(not on))
        self.dermatoscope = QLineEdit()
        self.dermatoscope.setAccessibleName("Dermatoscope")
        self.patient.currentTextChanged.connect(self._patient_changed)

        form = QFormLayout()
        form.addRow("Patient ID", self.patient)
        form.addRow("Lesion", self.lesion)
        form.addRow("Anatomical site", self.site)
        form.addRow("Date", self.use_exif)
        form.addRow("", self.date)
        form.addRow("Dermatoscope", self.dermatoscope)
        layout = QVBoxLayout(self)
        self.from_mapping = QRadioButton("Each file to the patient and lesion a CSV mapping file names")
        self.to_one = QRadioButton("All to this patient and lesion")
        self.to_one.setChecked(True)
        self.mapping_label = QLabel("")
        self.mapping_label.setWordWrap(True)
        choose = QPushButton("Choose mapping file…")
        choose.clicked.connect(self.choose_mapping)
        if batch:
            layout.addWidget(self.to_one)
        layout.addLayout(form)
        if batch:
            layout.addWidget(self.from_mapping)
            row = QHBoxLayout()
            row.addWidget(choose)
            row.addWidget(self.mapping_label, 1)
            layout.addLayout(row)
            hint = QLabel("Mapping columns: file, patient_id, lesion (optional: site, date "
                          "YYYY-MM-DD, dermatoscope).")
            hint.setWordWrap(True)
            layout.addWidget(hint)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #b71c1c;")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok |
                                   QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Add")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _patient_changed(self, text: str) -> None:
        current = self.lesion.currentText()
        self.lesion.clear()
        try:
            record = self.store.patient(text.strip()) if text.strip() else None
        except SkinDeskError:
            record = None
        if record is not None:
            self.lesion.addItems([lesion.label for lesion in record.lesions])
        self.lesion.setCurrentText(current)

    def choose_mapping(self, path: str | None = None) -> bool:
        """Read a mapping CSV (asks for one when ``path`` is None); False with the reason shown."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Mapping file", "", "CSV files (*.csv)")
            if not path:
                return False
        try:
            self.mapping = read_mapping(path)
        except SkinDeskError as error:
            self.mapping = None
            self.mapping_label.setText(str(error))
            return False
        self.from_mapping.setChecked(True)
        self.mapping_label.setText(f"{path}: {len(self.mapping)} files mapped")
        return True

    def assignment(self) -> Assignment | dict[str, Assignment]:
        """The choice (raises ValueError naming what is missing or wrong)."""
        if self.from_mapping.isChecked():
            if self.mapping is None:
                raise ValueError("choose a mapping file, or file all results under one patient")
            return self.mapping
        patient = self.patient.currentText().strip()
        if not patient:
            raise ValueError("enter the patient's clinic ID")
        taken = None if self.use_exif.isChecked() else self.date.date().toPython()
        return Assignment(patient_id=patient, lesion=self.lesion.currentText().strip() or None,
                          site=self.site.currentData(), taken_on=taken,
                          dermatoscope=self.dermatoscope.text().strip())

    def accept(self) -> None:  # noqa: D102 - Qt API
        try:
            self.assignment()
        except ValueError as error:
            self.error.setText(str(error))
            return
        super().accept()


def _busy(work: Any) -> Any:
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        return work()
    finally:
        QApplication.restoreOverrideCursor()


def add_prediction(dialog: AddToPatientDialog, prediction: Prediction, classifier: Any) -> str:
    """File the shown result with its image as the dialog says; returns the message shown."""
    where = dialog.assignment()
    assert isinstance(where, Assignment)
    path = prediction.path or ""
    try:
        outcome = _busy(lambda: dialog.store.add_image(
            where.patient_id, path, lesion=where.lesion, site=where.site,
            taken_on=where.taken_on, dermatoscope=where.dermatoscope,
            result=result_from_prediction(prediction, classifier, path)))
    except (SkinDeskError, ValueError) as error:
        return f"Not added: {error}"
    return ("Added to the patient's record." if outcome.added
            else "This image is already in the patient's record; nothing was added.")


def add_rows(dialog: AddToPatientDialog, rows: Sequence[ResultRow], model_sha256: str) -> AttachReport:
    """File batch rows as the dialog says (one transaction per image)."""
    return _busy(lambda: attach_rows(dialog.store, rows, dialog.assignment(), model_sha256))
