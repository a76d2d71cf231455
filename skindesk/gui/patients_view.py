"""The Patients pane: find a patient, see their lesions with thumbnails and each lesion's timeline.

Search by clinic ID or name (as you type); a patient's lesions are listed with the newest
visit's thumbnail, site and visit count; a lesion's timeline lists every visit oldest first with
its date (and where the date came from), the model's melanoma probability and top class, alerts,
the model version and the clinician's decision. Compare opens the two chosen visits (or the first
and the last) side by side. Everything shown comes from ``CaseStore``; nothing is computed here.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QFileDialog, QHBoxLayout, QLabel, QLineEdit,
                               QListWidget, QListWidgetItem, QMessageBox, QPushButton, QSplitter,
                               QVBoxLayout, QWidget)

from skindesk.cases import CaseStore, LesionRecord, PatientRecord, VisitRecord
from skindesk.cases.compare import model_label, probability_series, score_text
from skindesk.core.errors import SkinDeskError

from .case_dialogs import DecisionDialog, HistopathologyDialog, PatientDialog
from .case_widgets import MelanomaPlot, thumbnail_pixmap

__all__ = ["PatientsWindow", "visit_line"]

THUMB = 72


def visit_line(visit: VisitRecord) -> str:
    """One timeline entry in words."""
    source = {"exif": "date from image", "entered": "date entered", "added": "date added"}
    latest = visit.latest
    score = score_text(latest) + (f"  [{model_label(latest)}]" if latest else "")
    decision = f"\nDecision: {visit.decision_text()}" if visit.decision else ""
    scope = f", {visit.dermatoscope}" if visit.dermatoscope else ""
    return (f"{visit.taken_on.isoformat()} ({source.get(visit.date_source, visit.date_source)}"
            f"{scope})\n{score}{decision}")


class PatientsWindow(QWidget):
    """Patients, their lesions and timelines (see the module docstring)."""

    patient_shown = Signal(str)

    def __init__(self, store: CaseStore, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.store = store
        self.record: PatientRecord | None = None
        self.setObjectName("patientsWindow")
        self.setWindowTitle(f"Patients — {store.label}")
        self.search = QLineEdit()
        self.search.setObjectName("patientSearch")
        self.search.setPlaceholderText("Search by patient ID or name")
        self.search.setAccessibleName("Search patients")
        self.search.setClearButtonEnabled(True)
        self.patients = QListWidget()
        self.patients.setObjectName("patientList")
        self.patients.setAccessibleName("Patients")
        self.patients.setWordWrap(True)
        self.header = QLabel("Choose a patient")
        self.header.setObjectName("patientHeader")
        self.header.setWordWrap(True)
        self.header.setStyleSheet("font-size: 14px; font-weight: bold;")
        self.lesions = QListWidget()
        self.lesions.setObjectName("lesionList")
        self.lesions.setAccessibleName("Lesions")
        self.lesions.setIconSize(QSize(THUMB, THUMB))
        self.lesions.setSpacing(2)
        self.lesions.setWordWrap(True)
        self.timeline = QListWidget()
        self.timeline.setObjectName("timeline")
        self.timeline.setAccessibleName("Visits of the lesion")
        self.timeline.setIconSize(QSize(THUMB, THUMB))
        self.timeline.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.timeline.setWordWrap(True)
        self.plot = MelanomaPlot()
        self.plot.setMinimumHeight(130)
        self.compare_button = QPushButton("Compare visits…")
        self.compare_button.setToolTip("Select two visits (Ctrl+click), or compare the first and the last")
        self.report_button = QPushButton("Lesion report…")
        self.report_button.setToolTip("PDF of this lesion's visits: thumbnails, dates and scores")
        self.new_button = QPushButton("New patient…")
        self.edit_button = QPushButton("Edit patient…")
        self.decision_button = QPushButton("Decision…")
        self.decision_button.setToolTip("Record the decision for the selected visit")
        self.histology_button = QPushButton("Histopathology…")
        self.export_button = QPushButton("Export patient…")
        self.delete_button = QPushButton("Delete patient…")
        self.status = QLabel(f"Store: {store.label}")
        self.status.setObjectName("storeStatus")
        self.status.setWordWrap(True)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.search)
        left_layout.addWidget(self.patients, 1)
        left_layout.addWidget(self.new_button)
        middle = QWidget()
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        middle_layout.addWidget(QLabel("Lesions"))
        middle_layout.addWidget(self.lesions, 1)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(QLabel("Timeline"))
        right_layout.addWidget(self.timeline, 1)
        right_layout.addWidget(self.plot)
        lesion_buttons = QHBoxLayout()
        for button in (self.compare_button, self.report_button, self.decision_button,
                       self.histology_button):
            lesion_buttons.addWidget(button)
        lesion_buttons.addStretch(1)
        patient_buttons = QHBoxLayout()
        patient_buttons.addStretch(1)
        for button in (self.edit_button, self.export_button, self.delete_button):
            patient_buttons.addWidget(button)
        right_layout.addLayout(lesion_buttons)
        right_layout.addLayout(patient_buttons)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        for widget, stretch in ((left, 1), (middle, 1), (right, 2)):
            splitter.addWidget(widget)
            splitter.setStretchFactor(splitter.count() - 1, stretch)
        splitter.setSizes([240, 280, 560])
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status)

        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(150)
        self._search_timer.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.patients.currentItemChanged.connect(self._patient_chosen)
        self.lesions.currentItemChanged.connect(lambda *_: self._show_lesion())
        self.compare_button.clicked.connect(self.compare)
        self.report_button.clicked.connect(self.lesion_report)
        self.new_button.clicked.connect(lambda: self.edit_patient(new=True))
        self.edit_button.clicked.connect(lambda: self.edit_patient())
        self.decision_button.clicked.connect(lambda: self.record_decision())
        self.histology_button.clicked.connect(lambda: self.record_histopathology())
        self.timeline.itemSelectionChanged.connect(self._update_buttons)
        self.export_button.clicked.connect(self.export)
        self.delete_button.clicked.connect(self.delete)
        self._update_buttons()
        self.resize(1180, 760)
        self.refresh()

    # -- what is shown ------------------------------------------------------------------
    def _fail(self, error: Exception) -> None:
        self.status.setText(str(error))
        self.status.setStyleSheet("color: #b71c1c;")

    def refresh(self) -> None:
        """Run the search box's query again (keeps the shown patient when still listed)."""
        shown = self.record.clinic_id if self.record else None
        try:
            found = self.store.search(self.search.text())
        except SkinDeskError as error:
            self._fail(error)
            return
        self.patients.blockSignals(True)
        self.patients.clear()
        for summary in found:
            text = summary.clinic_id + (f" — {summary.name}" if summary.name else "")
            text += f"\n{summary.lesion_count} lesion(s), {summary.visit_count} visit(s)"
            if summary.last_visit:
                text += f", last {summary.last_visit.isoformat()}"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, summary.clinic_id)
            self.patients.addItem(item)
            if summary.clinic_id == shown:
                self.patients.setCurrentItem(item)
        self.patients.blockSignals(False)
        self.status.setText(f"Store: {self.store.label} — {len(found)} patient(s) shown")
        self.status.setStyleSheet("")

    def _patient_chosen(self, item: QListWidgetItem | None, _previous: object = None) -> None:
        if item is not None:
            self.show_patient(item.data(Qt.ItemDataRole.UserRole))

    def show_patient(self, clinic_id: str) -> None:
        try:
            self.record = self.store.patient(clinic_id)
        except SkinDeskError as error:
            self._fail(error)
            return
        record = self.record
        self.header.setText(record.heading())
        newest = [lesion.visits[-1].image_sha256 for lesion in record.lesions if lesion.visits]
        try:
            thumbs = self.store.thumbnails(newest)
        except SkinDeskError:
            thumbs = {}
        self.lesions.blockSignals(True)
        self.lesions.clear()
        for lesion in record.lesions:
            text = lesion.label + (f"\n{lesion.site}" if lesion.site else "")
            text += f"\n{len(lesion.visits)} visit(s)"
            if lesion.histopathology:
                text += f"\nHistopathology: {lesion.histopathology}"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, lesion.id)
            if lesion.visits:
                item.setIcon(QIcon(thumbnail_pixmap(thumbs.get(lesion.visits[-1].image_sha256), THUMB)))
            self.lesions.addItem(item)
        self.lesions.blockSignals(False)
        if self.lesions.count():
            self.lesions.setCurrentRow(0)
        else:
            self._show_lesion()
        self.patient_shown.emit(clinic_id)

    def current_lesion(self) -> LesionRecord | None:
        item = self.lesions.currentItem()
        if self.record is None or item is None:
            return None
        return self.record.lesion(item.data(Qt.ItemDataRole.UserRole))

    def _show_lesion(self) -> None:
        lesion = self.current_lesion()
        self.timeline.clear()
        if lesion is None:
            self.plot.set_series([])
            self._update_buttons()
            return
        try:
            thumbs = self.store.thumbnails([v.image_sha256 for v in lesion.visits])
        except SkinDeskError:
            thumbs = {}
        for visit in lesion.visits:
            item = QListWidgetItem(QIcon(thumbnail_pixmap(thumbs.get(visit.image_sha256), THUMB)),
                                   visit_line(visit))
            item.setData(Qt.ItemDataRole.UserRole, visit.id)
            if visit.latest and visit.latest.alert_classes:
                item.setForeground(Qt.GlobalColor.darkRed)
            self.timeline.addItem(item)
        self.plot.set_series(probability_series(lesion))
        self._update_buttons()

    def _update_buttons(self) -> None:
        lesion = self.current_lesion()
        self.compare_button.setEnabled(lesion is not None and len(lesion.visits) >= 2)
        self.report_button.setEnabled(lesion is not None and bool(lesion.visits))
        self.decision_button.setEnabled(len(self.timeline.selectedItems()) == 1)
        self.histology_button.setEnabled(lesion is not None)
        self.edit_button.setEnabled(self.record is not None)
        self.export_button.setEnabled(self.record is not None)
        self.delete_button.setEnabled(self.record is not None)

    # -- actions ----------------------------------------------------------------------
    def compare_pair(self) -> tuple[int, int] | None:
        """The two visits to compare: the two selected, else the first and the last."""
        lesion = self.current_lesion()
        if lesion is None or len(lesion.visits) < 2:
            return None
        chosen = [item.data(Qt.ItemDataRole.UserRole) for item in self.timeline.selectedItems()]
        if len(chosen) == 2:
            order = [v.id for v in lesion.visits]
            first, second = sorted(chosen, key=order.index)
            return first, second
        return lesion.visits[0].id, lesion.visits[-1].id

    def compare(self) -> QWidget | None:
        pair = self.compare_pair()
        lesion = self.current_lesion()
        if pair is None or lesion is None:
            return None
        from .compare_view import CompareDialog

        dialog = CompareDialog(self.store, lesion, *pair, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def _store_call(self, work: Any) -> bool:
        try:
            work()
        except (SkinDeskError, ValueError) as error:
            self._fail(error)
            return False
        return True

    def _reshow(self, clinic_id: str) -> None:
        lesion_row, visit_row = self.lesions.currentRow(), self.timeline.currentRow()
        self.refresh()
        self.show_patient(clinic_id)
        self.lesions.setCurrentRow(max(0, lesion_row))
        if visit_row >= 0:
            self.timeline.setCurrentRow(visit_row)

    def edit_patient(self, new: bool = False, dialog: PatientDialog | None = None) -> bool:
        """Create a patient or change the shown one's details (``dialog``: filled in already)."""
        if dialog is None:
            dialog = PatientDialog(None if new else self.record, self)
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return False
        clinic_id = dialog.clinic_id.text().strip()
        if not self._store_call(lambda: self.store.save_patient(clinic_id, **dialog.values())):
            return False
        self._reshow(clinic_id)
        return True

    def selected_visit(self) -> int | None:
        items = self.timeline.selectedItems()
        return items[0].data(Qt.ItemDataRole.UserRole) if len(items) == 1 else None

    def record_decision(self, dialog: DecisionDialog | None = None) -> bool:
        visit_id, lesion = self.selected_visit(), self.current_lesion()
        if visit_id is None or lesion is None or self.record is None:
            return False
        if dialog is None:
            when = next(v.taken_on.isoformat() for v in lesion.visits if v.id == visit_id)
            dialog = DecisionDialog(when, self)
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return False
        if not self._store_call(lambda: self.store.set_decision(visit_id, *dialog.values())):
            return False
        self._reshow(self.record.clinic_id)
        return True

    def record_histopathology(self, dialog: HistopathologyDialog | None = None) -> bool:
        lesion = self.current_lesion()
        if lesion is None or self.record is None:
            return False
        if dialog is None:
            dialog = HistopathologyDialog(lesion.histopathology or "", self)
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return False
        if not self._store_call(lambda: self.store.set_histopathology(lesion.id, *dialog.values())):
            return False
        self._reshow(self.record.clinic_id)
        return True

    def lesion_report(self, path: str | None = None) -> bool:
        """Write the shown lesion's history as a PDF (asks where when ``path`` is None)."""
        lesion = self.current_lesion()
        if self.record is None or lesion is None:
            return False
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Lesion report",
                                                  f"{self.record.clinic_id}-lesion-{lesion.id}.pdf",
                                                  "PDF files (*.pdf)")
            if not path:
                return False
        from skindesk.report.history import build_lesion_history
        from skindesk.report.history_pdf import write_lesion_report_pdf

        try:
            write_lesion_report_pdf(build_lesion_history(self.store, self.record.clinic_id, lesion.id),
                                    path, overwrite=True)
        except SkinDeskError as error:
            self._fail(error)
            return False
        self.status.setText(f"Lesion report written to {path}")
        self.status.setStyleSheet("")
        return True

    def export(self, path: str | None = None) -> bool:
        if self.record is None:
            return False
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export patient",
                                                  f"{self.record.clinic_id}.zip", "Zip files (*.zip)")
            if not path:
                return False
        from skindesk.cases.transfer import export_patients

        try:
            export_patients(self.store, path, [self.record.clinic_id])
        except SkinDeskError as error:
            self._fail(error)
            return False
        self.status.setText(f"Exported to {path}")
        self.status.setStyleSheet("")
        return True

    def delete(self, confirmed: bool = False) -> bool:
        if self.record is None:
            return False
        clinic_id = self.record.clinic_id
        if not confirmed:
            answer = QMessageBox.warning(
                self, "Delete patient",
                f"Erase patient {clinic_id}: every lesion, visit, image and result? "
                "This cannot be undone (export first to keep a copy).",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Yes:
                return False
        try:
            self.store.delete_patient(clinic_id)
        except SkinDeskError as error:
            self._fail(error)
            return False
        self.record = None
        self.header.setText("Choose a patient")
        self.lesions.clear()
        self.timeline.clear()
        self.refresh()
        self._update_buttons()
        return True
