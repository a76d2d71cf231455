"""The batch window: classify a whole folder, watch results arrive, filter, export, resume.

``BatchWindow(classifier_provider)`` runs the core batch engine (``skindesk.core.batch``) in a
``QThread`` so the window never freezes. Every row is written to a results CSV as it arrives
(the file the caller names, or an autosaved one per run), so a crash loses nothing and "Continue
previous run" finishes the last run where it stopped. The table is sortable and filterable by
top class and by flag (review advised, malignant, uncertain, not assessed, error), with the
counts of review advised and not assessed beside it; its
columns are the results schema's (``skindesk.core.result_schema``), sized to their content, with
file names elided in the middle (the full path in the tooltip). Double-clicking a row emits
``open_image(path)``. Cancel stops within a second and keeps the rows. "Export CSV…" and
"Export PDF…" (the batch report of ``skindesk.gui.report_dialog``) save the run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QStandardPaths,
    Qt,
    QThread,
    Signal,
    Slot,
)
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from skindesk.core import palette
from skindesk.core.batch import Progress, classify_files, find_images
from skindesk.core.formatting import duration
from skindesk.core.results import (
    ModelInfo,
    ResultCounts,
    ResultRow,
    ResultsFileError,
    open_results_csv,
)
from skindesk.gui.settings import AppSettings

from .results_table import FLAG_FILTERS, ResultsFilter, ResultsTable, ResultsTableModel

__all__ = ["BatchWindow", "ResultsTableModel", "ResultsFilter", "FLAG_FILTERS"]

# (key, label) of the flag filter; "" shows everything.
_EMIT_SECONDS = 0.1


class _BatchWorker(QObject):
    """Runs in a QThread: finds files, classifies them, writes each row, reports in batches."""

    rows_ready = Signal(list)
    progressed = Signal(object)
    finished = Signal(str, str)  # outcome ("done", "cancelled", "failed"), message

    def __init__(self, classifier: Any, folder: str, recursive: bool, writer: Any,
                 done_files: set[str], cancel: threading.Event) -> None:
        super().__init__()
        self.classifier = classifier
        self.folder = folder
        self.recursive = recursive
        self.writer = writer
        self.done_files = done_files
        self.cancel = cancel

    @Slot()
    def run(self) -> None:
        outcome, message = "done", ""
        buffer: list[ResultRow] = []
        last = time.monotonic()
        last_progress = 0.0

        def progress(p: Progress) -> None:
            nonlocal last_progress
            now = time.monotonic()
            if now - last_progress >= _EMIT_SECONDS or p.done == p.total:
                last_progress = now
                self.progressed.emit(p)

        try:
            items = find_images([self.folder], recursive=self.recursive).items
            items = [i for i in items if i.path not in self.done_files]
            for row in classify_files(self.classifier, items, cancel=self.cancel,
                                      on_progress=progress):
                self.writer.write(row)
                buffer.append(row)
                if time.monotonic() - last >= _EMIT_SECONDS:
                    self.rows_ready.emit(buffer)
                    buffer, last = [], time.monotonic()
            if self.cancel.is_set():
                outcome = "cancelled"
        except Exception as error:  # noqa: BLE001 - the window reports it; rows so far are kept
            outcome, message = "failed", f"{type(error).__name__}: {error}"
        finally:
            try:
                self.writer.close()
            except OSError as error:
                outcome, message = "failed", f"results file could not be closed: {error}"
            if buffer:
                self.rows_ready.emit(buffer)
            self.finished.emit(outcome, message)


class BatchWindow(QWidget):
    """A window that classifies a folder (see the module docstring)."""

    open_image = Signal(str)
    run_finished = Signal(str)  # "done", "cancelled" or "failed"

    def __init__(self, classifier_provider: Callable[[], Any], parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.classifier_provider = classifier_provider
        self.setWindowTitle("SkinDesk — batch classification (decision support, not a diagnosis)")
        self.setAcceptDrops(True)
        self.resize(1100, 700)
        self.settings = AppSettings()
        self.folder: str | None = None
        self.output_csv: str | None = None
        self.model_info: ModelInfo | None = None
        self.counts = ResultCounts()
        self.last_message = ""
        self._thread: QThread | None = None
        self._worker: _BatchWorker | None = None
        self._cancel = threading.Event()
        self._previous = 0
        self._build()
        self._update_buttons()

    # -- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.choose_button = QPushButton("Choose folder…")
        self.choose_button.clicked.connect(self._choose_folder)
        self.recursive_box = QCheckBox("Include subfolders")
        self.recursive_box.setChecked(True)
        self.continue_button = QPushButton("Continue previous run")
        self.continue_button.setToolTip("Finish the last run where it stopped (no file twice)")
        self.continue_button.clicked.connect(self.continue_previous)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.clicked.connect(self._choose_export)
        self.export_pdf_button = QPushButton("Export PDF…")
        self.export_pdf_button.setToolTip("Save a batch report (PDF) of this run")
        self.export_pdf_button.clicked.connect(self.export_pdf)
        for widget in (self.choose_button, self.recursive_box, self.continue_button,
                       self.cancel_button, self.export_button, self.export_pdf_button):
            top.addWidget(widget)
        top.addStretch(1)
        layout.addLayout(top)

        self.progress_bar = QProgressBar()
        self.progress_bar.setFormat("%v / %m")
        self.progress_label = QLabel("Choose or drop a folder of images.")
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.progress_label)

        filters = QHBoxLayout()
        self.class_filter = QComboBox()
        self.class_filter.addItem("All classes", "")
        self.class_filter.currentIndexChanged.connect(self._apply_filters)
        self.flag_filter = QComboBox()
        for key, label in FLAG_FILTERS:
            self.flag_filter.addItem(label, key)
        self.flag_filter.currentIndexChanged.connect(self._apply_filters)
        self.review_label = QLabel("Review advised: 0")
        self.review_label.setStyleSheet(f"color: {palette.MALIGNANT}; font-weight: bold;")
        self.not_assessed_label = QLabel("Not assessed: 0")
        self.not_assessed_label.setObjectName("notAssessedCount")
        self.not_assessed_label.setToolTip("Images the image gate or a quality check set aside: "
                                           "no result, no alert; take new dermoscopic images")
        self.not_assessed_label.setStyleSheet(f"color: {palette.WARNING_TEXT}; font-weight: bold;")
        filters.addWidget(QLabel("Show:"))
        filters.addWidget(self.class_filter)
        filters.addWidget(self.flag_filter)
        filters.addStretch(1)
        filters.addWidget(self.review_label)
        filters.addWidget(self.not_assessed_label)
        layout.addLayout(filters)
        self.operating_point_label = QLabel("")
        self.operating_point_label.setWordWrap(True)
        self.operating_point_label.setAccessibleName("Alert operating point")
        layout.addWidget(self.operating_point_label)

        self.model = ResultsTableModel(self)
        self.proxy = ResultsFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = ResultsTable()
        self.table.setModel(self.proxy)
        self.table.start_sorted_by(self.model.column_of("file"))
        self.table.doubleClicked.connect(self._double_clicked)
        layout.addWidget(self.table, 1)

        self.counts_label = QLabel("")
        self.counts_label.setWordWrap(True)
        self.counts_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.counts_label)
        note = QLabel("Decision support, not a diagnosis: a clinician makes every decision.")
        note.setStyleSheet("color: gray;")
        layout.addWidget(note)

    # -- state ----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None

    def _previous_run(self) -> tuple[str, str, bool] | None:
        folder, csv_path, recursive = self.settings.last_batch_run()
        if folder and csv_path and Path(csv_path).is_file() and Path(folder).is_dir():
            return folder, csv_path, recursive
        return None

    def _update_buttons(self) -> None:
        running = self.running
        self.choose_button.setEnabled(not running)
        self.recursive_box.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.continue_button.setEnabled(not running and self._previous_run() is not None)
        self.export_button.setEnabled(not running and bool(self.model.rows))
        self.export_pdf_button.setEnabled(not running and bool(self.model.rows)
                                          and bool(self.output_csv))

    def _say(self, message: str) -> None:
        self.last_message = message
        self.progress_label.setText(message)

    # -- starting ---------------------------------------------------------------------------
    def _choose_folder(self) -> None:
        start = self.settings.last_batch_run()[0]
        folder = QFileDialog.getExistingDirectory(self, "Folder of images to classify", start)
        if folder:
            self.start(folder)

    def continue_previous(self) -> bool:
        """Resume the last run of this user (folder, results file, recursion) where it stopped."""
        previous = self._previous_run()
        if previous is None:
            self._say("There is no previous run to continue.")
            return False
        folder, csv_path, recursive = previous
        self.recursive_box.setChecked(recursive)
        return self.start(folder, csv_path, resume=True)

    def _autosave_path(self, folder: str) -> Path:
        base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)
        base = str(Path(base) / "skindesk") if base else ""
        if not base:
            from skindesk.paths import user_config_dir

            base = str(user_config_dir())
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        name = Path(folder).name or "folder"
        return Path(base) / "batch results" / f"{name}-{stamp}.csv"

    def start(self, folder: str, output_csv: str | None = None, resume: bool = False) -> bool:
        """Classify ``folder``, writing rows to ``output_csv`` (default: an autosaved file).

        With ``resume``, rows already in ``output_csv`` are shown and their files skipped.
        Returns False (with the reason on screen) when the run cannot start.
        """
        if self.running:
            self._say("A run is in progress; cancel it first.")
            return False
        if not Path(folder).is_dir():
            self._say(f"{folder}: not a folder.")
            return False
        classifier = self.classifier_provider()
        if classifier is None:
            self._say("No model is loaded yet; wait for it (or choose one) and start again.")
            return False
        model = ModelInfo.from_classifier(classifier)
        output = Path(output_csv) if output_csv else self._autosave_path(folder)
        try:
            writer, state = open_results_csv(output, model, resume=resume)
        except ResultsFileError as error:
            self._say(f"Cannot start: {error}")
            return False
        previous = state.rows if state is not None else []
        self.folder, self.output_csv, self.model_info = folder, str(output), model
        gate = f" · image gate: {model.gate_level}" if model.gate_level else ""
        self.operating_point_label.setText(f"Alerts at the operating point: {model.operating_point}{gate}")
        recursive = self.recursive_box.isChecked()
        self.settings.set_last_batch_run(folder, str(output), recursive)

        self.model.clear()
        self.counts = ResultCounts()
        self._reset_class_filter(model.class_names)
        self._previous = len(previous)
        self._add_rows(previous)
        self.progress_bar.setRange(0, 0)  # busy until the files are counted
        self.counts_label.setText("")
        self._say(f"Finding images in {folder}…"
                  + (f" ({len(previous)} already done in the previous run)" if previous else ""))

        self._cancel = threading.Event()
        done = state.done_files if state is not None else set()
        self._thread = QThread(self)
        self._worker = _BatchWorker(classifier, folder, recursive, writer, done, self._cancel)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.rows_ready.connect(self._add_rows)
        self._worker.progressed.connect(self._show_progress)
        # The thread's event loop ends with the run itself, so wait() never hangs.
        self._worker.finished.connect(self._thread.quit, Qt.ConnectionType.DirectConnection)
        self._worker.finished.connect(self._finished)
        self._thread.start()
        self._update_buttons()
        return True

    def cancel(self) -> None:
        """Stop the run (within a second); rows so far stay in the table and the CSV."""
        if self.running:
            self._cancel.set()
            self._say("Cancelling…")

    def wait(self, timeout_ms: int = 5000) -> bool:
        """Block until the worker thread has ended (for closing and tests)."""
        return self._thread is None or self._thread.wait(timeout_ms)

    # -- results arriving ---------------------------------------------------------------------
    def _reset_class_filter(self, class_names: Sequence[str]) -> None:
        self.class_filter.blockSignals(True)
        self.class_filter.clear()
        self.class_filter.addItem("All classes", "")
        for name in class_names:
            self.class_filter.addItem(name, name)
        self.class_filter.blockSignals(False)
        self._apply_filters()

    @Slot(list)
    def _add_rows(self, rows: list[ResultRow]) -> None:
        self.model.add_rows(rows)
        if len(self.model.rows) <= 2 * len(rows) or len(self.model.rows) < 200:
            self.table.fit_columns()
        for row in rows:
            self.counts.add(row)
        self.review_label.setText(f"Review advised: {self.counts.review_advised}")
        self.not_assessed_label.setText(f"Not assessed: {self.counts.not_assessed}")

    @Slot(object)
    def _show_progress(self, progress: Progress) -> None:
        total = progress.total + self._previous
        self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(progress.done + self._previous)
        eta = duration(progress.eta)
        self._say(f"{progress.done + self._previous} / {total} files — "
                  f"{progress.rate:.1f} images/s — ETA {eta}")

    @Slot(str, str)
    def _finished(self, outcome: str, message: str) -> None:
        if self._thread is not None:
            self._thread.quit()
            self._thread.wait(2000)
            self._thread.deleteLater()
        if self._worker is not None:
            self._worker.deleteLater()
        self._thread, self._worker = None, None
        where = f"Results saved in {self.output_csv}."
        if outcome == "cancelled":
            self._say(f"Cancelled after {self.counts.total} files. {where} "
                      "Use 'Continue previous run' to finish.")
        elif outcome == "failed":
            self._say(f"Stopped by an error: {message}. {where} "
                      "Use 'Continue previous run' once it is fixed.")
        else:
            self.progress_bar.setRange(0, max(self.counts.total, 1))
            self.progress_bar.setValue(self.counts.total)
            self._say(f"Done: {self.counts.total} files. {where}")
        names = self.model_info.class_names if self.model_info else ()
        self.counts_label.setText(self.counts.describe(names))
        self.table.fit_columns()
        self._update_buttons()
        self.run_finished.emit(outcome)

    # -- filtering, opening, exporting ----------------------------------------------------------
    def _apply_filters(self) -> None:
        self.proxy.set_filters(self.class_filter.currentData() or "", self.flag_filter.currentData() or "")

    def set_filter(self, class_name: str = "", flag: str = "") -> None:
        """Select a class and a flag filter as a user would (``""``: all)."""
        self.class_filter.setCurrentIndex(max(0, self.class_filter.findData(class_name)))
        self.flag_filter.setCurrentIndex(max(0, self.flag_filter.findData(flag)))

    def visible_rows(self) -> list[ResultRow]:
        """Rows as the table shows them now (filtered and sorted)."""
        return [self.model.rows[self.proxy.mapToSource(self.proxy.index(i, 0)).row()]
                for i in range(self.proxy.rowCount())]

    def _double_clicked(self, index: QModelIndex) -> None:
        row = self.model.rows[self.proxy.mapToSource(index).row()]
        self.open_image.emit(row.file)

    def export_pdf(self) -> str | None:
        """Ask where to save the batch report (PDF) of this run's results file; its path."""
        if not self.output_csv or not self.model.rows:
            self._say("Nothing to export yet.")
            return None
        from .report_dialog import export_batch_report

        written = export_batch_report(self, self.output_csv)
        if written:
            self._say(f"Batch report saved: {written}")
        return written

    def _choose_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export results", "skindesk-results.csv",
                                              "CSV files (*.csv)")
        if path:
            self.export_csv(path, overwrite=True)  # the dialog already asked about replacing

    def export_csv(self, path: str, overwrite: bool = False) -> bool:
        """Write every row (not only the filtered ones) to ``path``."""
        if self.model_info is None or not self.model.rows:
            self._say("Nothing to export yet.")
            return False
        if self.output_csv and Path(path).resolve() == Path(self.output_csv).resolve():
            self._say(f"The results are already in {path}.")
            return True
        try:
            writer, _ = open_results_csv(path, self.model_info, overwrite=overwrite)
            with writer:
                for row in self.model.rows:
                    writer.write(row)
        except (ResultsFileError, OSError) as error:
            self._say(f"Export failed: {error}")
            return False
        self._say(f"Exported {len(self.model.rows)} rows to {path}.")
        return True

    # -- drag and drop, closing --------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile() and Path(urls[0].toLocalFile()).is_dir():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            self.start(urls[0].toLocalFile())

    def closeEvent(self, event: Any) -> None:  # noqa: N802
        if self.running:
            self._cancel.set()
            self.wait(3000)
        super().closeEvent(event)
