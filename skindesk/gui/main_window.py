"""SkinDesk's main window: thumbnails | image with heat map | alert, summary and chart.

The window shows at once; the model loads in a worker (``model_pool``, one thread, which also runs
every inference so the cores are never oversubscribed), images decode in ``image_pool``. Images
can be opened from File ▸ Open, recent files, drag and drop, the clipboard and the command line;
a bad file gives a dismissible message naming it and the problem, and the others still open.
Hooks for other modules, imported lazily (actions are disabled when a module is absent):
``skindesk.gui.batch_view.BatchWindow(classifier_provider, parent)`` for folders, where
``classifier_provider()`` returns the loaded ``Classifier`` or None while none is ready, and
``skindesk.gui.report_dialog.export_report(parent, prediction, image, heatmap_image, classifier)``
with PIL images (the heat-map blend is None when the heat map is off).
``skindesk.gui.patients_menu.install(window)`` adds the Patients menu (case store).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QRectF, QSize, Qt, QThreadPool, QTemporaryDir, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QIcon,
    QImage,
    QKeySequence,
    QPixmap,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from skindesk.core.errors import ImageLoadError, ModelError
from skindesk.core.heatmap import render_heatmap
from skindesk.core.formatting import percent
from skindesk.core.imaging import IMAGE_EXTENSIONS
from skindesk.core.modelcard import DEFAULT_DISCLAIMER
from skindesk.core.prediction import Prediction, make_prediction

from .dialogs import AboutDialog, SettingsDialog
from .image_view import ImageView
from .result_panel import ResultPanel
from .settings import AppSettings
from .workers import LoadedImage, load_for_display, pil_to_qimage, run_task

__all__ = ["MainWindow", "ImageEntry", "resolve_model_path"]

IMAGE_FILTER = "Images (" + " ".join(f"*{e}" for e in sorted(IMAGE_EXTENSIONS)) + ");;All files (*)"


def resolve_model_path(explicit: str | os.PathLike[str] | None, settings: AppSettings) -> Path:
    """The model to load: explicit > $SKINDESK_MODEL > the one the user opened last > bundled."""
    if explicit:
        return Path(explicit)
    if os.environ.get("SKINDESK_MODEL"):
        return Path(os.environ["SKINDESK_MODEL"])
    stored = settings.model_path()
    if stored and Path(stored).is_file():
        return Path(stored)
    try:
        from skindesk.paths import default_model_path
    except ImportError:  # pragma: no cover - paths.py ships with the app
        return Path(__file__).resolve().parents[2] / "resources" / "models" / "skindesk.onnx"
    return Path(default_model_path())


@dataclass
class ImageEntry:
    """One opened image and what is known about it so far."""

    path: str
    item: QListWidgetItem
    loaded: LoadedImage | None = None
    prediction: Prediction | None = None
    failed: str = ""


def _module_available(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


class MainWindow(QMainWindow):
    """The single-image window (see the module docstring)."""

    model_ready = Signal()
    model_failed = Signal(str)
    image_loaded = Signal(str)
    image_failed = Signal(str, str)
    result_shown = Signal(str)

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        settings: AppSettings | None = None,
        load_model: bool = True,
    ) -> None:
        super().__init__()
        self.settings = settings or AppSettings()
        self.classifier: Any | None = None
        self.model_error = ""
        self.model_path = resolve_model_path(model_path, self.settings)
        self.sensitivity: float | None = self.settings.sensitivity()
        self.gate_strictness: str | None = self.settings.gate_strictness()
        self.entries: dict[str, ImageEntry] = {}
        self.pending: list[str] = []
        self.batch_windows: list[QWidget] = []
        self.model_pool = QThreadPool(self)
        self.model_pool.setMaxThreadCount(1)
        self.image_pool = QThreadPool(self)
        self.image_pool.setMaxThreadCount(max(1, min(2, os.cpu_count() or 1)))
        self._paste_dir: QTemporaryDir | None = None
        self._paste_count = 0
        self._model_generation = 0
        self._shown_path: str | None = None

        self.setWindowTitle("SkinDesk")
        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self._build_ui()
        self._build_actions()
        self._restore_settings()
        if load_model:
            QTimer.singleShot(0, self.load_model)

    # ===================================================================== construction
    def _build_ui(self) -> None:
        self.image_list = QListWidget()
        self.image_list.setObjectName("imageList")
        self.image_list.setAccessibleName("Open images")
        self.image_list.setIconSize(QSize(64, 64))
        self.image_list.setSpacing(2)
        self.image_list.setWordWrap(True)
        self.image_list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.image_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.image_list.setMinimumWidth(170)
        self.image_list.currentItemChanged.connect(self._current_changed)

        self.image_view = ImageView()
        self.result_panel = ResultPanel()
        self.result_panel.heatmap_toggled.connect(lambda _on: self._update_heatmap())
        self.result_panel.heatmap_class_changed.connect(self._heatmap_class_changed)
        self.result_panel.opacity_changed.connect(self._opacity_changed)
        # While the opacity slider is dragged, the heat map is redrawn at most every 80 ms.
        self._heatmap_timer = QTimer(self, singleShot=True, interval=80)
        self._heatmap_timer.timeout.connect(self._update_heatmap)
        self.result_panel.opacity_slider.sliderReleased.connect(self._update_heatmap)
        self.result_panel.open_model_requested.connect(self.choose_model)
        self.result_panel.setMinimumWidth(400)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.image_list)
        self.splitter.addWidget(self.image_view)
        self.splitter.addWidget(self.result_panel)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setStretchFactor(2, 2)
        self.splitter.setSizes([200, 640, 480])

        self.error_bar = QFrame()
        self.error_bar.setObjectName("errorBar")
        self.error_bar.setStyleSheet(
            "QFrame#errorBar { background: #fdecea; border: 1px solid #e0a39c; border-radius: 4px; }"
        )
        error_layout = QHBoxLayout(self.error_bar)
        error_layout.setContentsMargins(8, 4, 4, 4)
        self.error_text = QLabel()
        self.error_text.setObjectName("errorText")
        self.error_text.setAccessibleName("File problems")
        self.error_text.setWordWrap(True)
        self.error_text.setTextFormat(Qt.TextFormat.PlainText)
        self.error_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        dismiss = QPushButton("Dismiss")
        dismiss.setAccessibleName("Dismiss file problems")
        dismiss.clicked.connect(self.clear_errors)
        error_layout.addWidget(self.error_text, 1)
        error_layout.addWidget(dismiss, 0, Qt.AlignmentFlag.AlignTop)
        self.error_bar.setVisible(False)
        self._errors: list[str] = []

        self.disclaimer = QLabel(DEFAULT_DISCLAIMER)
        self.disclaimer.setObjectName("disclaimer")
        self.disclaimer.setAccessibleName("Disclaimer")
        self.disclaimer.setWordWrap(True)
        self.disclaimer.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.disclaimer.setStyleSheet(
            "QLabel#disclaimer { background: #263238; color: #ffffff; padding: 5px; font-weight: bold; }"
        )

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 0)
        layout.setSpacing(4)
        layout.addWidget(self.error_bar)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.disclaimer)
        self.setCentralWidget(central)

        self.model_label = QLabel("Loading model…")
        self.model_label.setObjectName("modelStatus")
        self.model_label.setAccessibleName("Model in use")
        self.statusBar().addPermanentWidget(self.model_label)
        self.setTabOrder(self.image_list, self.image_view)
        self.setTabOrder(self.image_view, self.result_panel.chart)

    def _action(self, text: str, slot: Any, shortcut: Any = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            if isinstance(shortcut, (list, tuple)):
                action.setShortcuts([QKeySequence(s) for s in shortcut])
            else:
                action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        K = QKeySequence.StandardKey
        self.open_action = self._action("&Open images…", self.choose_images, K.Open, "Open one or more images")
        self.folder_action = self._action("Classify &folder…", self.choose_folder, "Ctrl+Shift+O",
                                          "Classify every image in a folder")
        self.folder_action.setEnabled(_module_available("skindesk.gui.batch_view"))
        self.paste_action = self._action("&Paste image", self.paste, K.Paste, "Open an image from the clipboard")
        self.report_action = self._action("&Export report…", self.export_report, "Ctrl+P",
                                          "Export a PDF report of the current result")
        self.report_available = _module_available("skindesk.gui.report_dialog")
        self.report_action.setEnabled(False)
        self.close_image_action = self._action("&Close image", self.close_current, K.Close)
        self.model_action = self._action("Open &model…", self.choose_model, "Ctrl+M", "Use another model file")
        self.settings_action = self._action("&Settings…", self.show_settings, "Ctrl+,",
                                            "Operating point and execution provider")
        self.quit_action = self._action("&Quit", self.close, K.Quit)
        self.zoom_in_action = self._action("Zoom &in", self.image_view.zoom_in, ["Ctrl++", "Ctrl+="])
        self.zoom_out_action = self._action("Zoom &out", self.image_view.zoom_out, "Ctrl+-")
        self.fit_action = self._action("&Fit to window", self.image_view.fit, "Ctrl+0")
        self.actual_action = self._action("&Actual size", self.image_view.actual_size, "Ctrl+1")
        self.heatmap_action = self._action("&Heat map", self._toggle_heatmap, "H", "Show where the model looked")
        self.heatmap_action.setCheckable(True)
        self.result_panel.heatmap_check.toggled.connect(self.heatmap_action.setChecked)
        self.next_action = self._action("&Next image", lambda: self._step(1), ["Ctrl+PgDown", "Alt+Down"])
        self.previous_action = self._action("&Previous image", lambda: self._step(-1), ["Ctrl+PgUp", "Alt+Up"])
        self.about_action = self._action("&About SkinDesk and the model…", self.show_about, "F1")

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self._fill_recent_menu()
        file_menu.addAction(self.folder_action)
        file_menu.addAction(self.paste_action)
        file_menu.addSeparator()
        file_menu.addAction(self.report_action)
        file_menu.addAction(self.close_image_action)
        file_menu.addSeparator()
        file_menu.addAction(self.model_action)
        file_menu.addAction(self.settings_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        view_menu = menu.addMenu("&View")
        for action in (self.zoom_in_action, self.zoom_out_action, self.fit_action, self.actual_action):
            view_menu.addAction(action)
        view_menu.addSeparator()
        view_menu.addAction(self.heatmap_action)
        view_menu.addSeparator()
        view_menu.addAction(self.next_action)
        view_menu.addAction(self.previous_action)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self.about_action)
        # The Patients menu (case store), when its module is there: skindesk.gui.patients_menu.
        self.patients_menu = (importlib.import_module("skindesk.gui.patients_menu").install(self)
                              if _module_available("skindesk.gui.patients_menu") else None)

    def _restore_settings(self) -> None:
        geometry = self.settings.geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        self.result_panel.opacity_slider.setValue(self.settings.heatmap_opacity())

    def save_settings(self) -> None:
        self.settings.set_geometry(self.saveGeometry())
        self.settings.set_heatmap_opacity(self.result_panel.opacity_slider.value())
        self.settings.set_sensitivity(self.sensitivity)
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        self.save_settings()
        super().closeEvent(event)

    # ===================================================================== model
    def classifier_provider(self) -> Any | None:
        """The loaded ``Classifier``, or None while none is ready (for the batch window)."""
        return self.classifier

    def load_model(self, path: str | os.PathLike[str] | None = None) -> None:
        """Load (or reload) the model in the worker; images wait for it."""
        if path is not None:
            self.model_path = Path(path)
        self._model_generation += 1
        generation = self._model_generation
        self.classifier = None
        self.model_error = ""
        self.model_label.setText("Loading model…")
        self.model_label.setToolTip(str(self.model_path))
        model_path, provider, sensitivity = self.model_path, self.settings.provider(), self.sensitivity
        strictness = self.gate_strictness

        def build() -> Any:
            from skindesk.core.classifier import Classifier

            classifier = Classifier(model_path, provider=provider)
            try:
                classifier.set_sensitivity(sensitivity)
            except ValueError:
                classifier.set_sensitivity(None)
            try:
                classifier.set_gate_strictness(strictness)
            except ValueError:  # a level this model does not validate: its default
                classifier.set_gate_strictness(None)
            return classifier

        run_task(self.model_pool, build,
                 lambda c: self._model_loaded(generation, c),
                 lambda e: self._model_load_failed(generation, e))

    def _model_loaded(self, generation: int, classifier: Any) -> None:
        if generation != self._model_generation:
            return
        self.classifier = classifier
        notes = []
        if self.sensitivity is not None and classifier.sensitivity is None:
            notes.append(f"The saved operating point {percent(self.sensitivity)} is not offered "
                         "by this model; using the model's defaults.")
        if self.gate_strictness is not None and classifier.gate_strictness is None:
            notes.append(f"The saved image-gate strictness '{self.gate_strictness}' is not "
                         "validated for this model; using the model's default.")
        if notes:
            self.statusBar().showMessage(" ".join(notes), 10000)
        else:
            self.statusBar().clearMessage()
        self.sensitivity = classifier.sensitivity
        card = classifier.card
        text = f"{card.title} · {classifier.provider}"
        self.model_label.setText(text)
        tip = f"Model file: {classifier.model_path}\nRunning on {classifier.provider}"
        if classifier.provider_note:
            tip += f"\n{classifier.provider_note}"
        self.model_label.setToolTip(tip)
        self.disclaimer.setText(card.disclaimer)
        self.result_panel.set_model(card, self.sensitivity)
        for entry in self.entries.values():
            entry.prediction = None
        for entry in list(self.entries.values()):
            if entry.loaded is not None:
                self._classify(entry)
        self._show_current()
        self.model_ready.emit()

    def _model_load_failed(self, generation: int, error: BaseException) -> None:
        if generation != self._model_generation:
            return
        self.classifier = None
        if isinstance(error, ModelError) and error.problem == "file not found":
            message = (
                f"No model installed: SkinDesk looked for {error.path} and found nothing. "
                "Images can be viewed, but not classified, until a model is opened."
            )
            self.model_label.setText("No model installed")
        elif isinstance(error, ModelError):
            message = f"The model cannot be used: {error.path}: {error.problem}"
            self.model_label.setText("Model unusable")
        else:
            message = f"The model could not be loaded: {error}"
            self.model_label.setText("Model unusable")
        self.model_error = message
        self.model_label.setToolTip(message)
        self.result_panel.set_model(None, None)
        self.result_panel.show_model_notice(message)
        self._show_current()
        self.model_failed.emit(message)

    def choose_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a SkinDesk model", str(self.model_path.parent if self.model_path else Path.home()),
            "SkinDesk models (*.onnx);;All files (*)")
        if path:
            self.settings.set_model_path(path)
            self.load_model(path)

    def set_sensitivity(self, sensitivity: float | None) -> None:
        """Use another operating point the card offers; alerts are re-derived at once."""
        if self.classifier is not None:
            self.classifier.set_sensitivity(sensitivity)
        self.sensitivity = sensitivity
        self.settings.set_sensitivity(sensitivity)
        if self.classifier is not None:
            card = self.classifier.card
            for entry in self.entries.values():
                if entry.prediction is not None:
                    entry.prediction = self._rederive(entry.prediction)
                    self._label_entry(entry)
            self.result_panel.set_model(card, sensitivity)
        self._show_current()

    def set_gate_strictness(self, level: str | None) -> None:
        """Use another image-gate level the card validated (None: its default); every result is
        re-judged at once, and batch runs started from now on use it too."""
        if self.classifier is not None:
            self.classifier.set_gate_strictness(level)
        self.gate_strictness = level
        self.settings.set_gate_strictness(level)
        if self.classifier is not None:
            for entry in self.entries.values():
                if entry.prediction is not None:
                    entry.prediction = self._rederive(entry.prediction)
                    self._label_entry(entry)
        self._show_current()

    def _rederive(self, prediction: Prediction) -> Prediction:
        return make_prediction(
            self.classifier.card, prediction.probabilities, ood_score=prediction.ood_score,
            cam=prediction.cam, sensitivity=self.sensitivity, path=prediction.path,
            quality=prediction.quality, gate_threshold=self.classifier.gate_threshold)

    # ===================================================================== opening
    def choose_images(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open images", self.settings.last_folder(), IMAGE_FILTER)
        if paths:
            self.open_paths(paths)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Classify a folder", self.settings.last_folder())
        if folder:
            self.open_folder(folder)

    def open_paths(self, paths: list[str]) -> None:
        """Open files (folders start a batch); each file decodes in the worker pool."""
        first_new: str | None = None
        for raw in paths:
            path = str(Path(raw).expanduser().absolute())
            if Path(path).is_dir():
                self.open_folder(path)
                continue
            if path in self.entries:
                first_new = first_new or path
                continue
            item = QListWidgetItem(Path(path).name)
            item.setData(Qt.ItemDataRole.UserRole, path)
            item.setToolTip(f"{path}\nLoading…")
            self.image_list.addItem(item)
            entry = ImageEntry(path=path, item=item)
            self.entries[path] = entry
            first_new = first_new or path
            self._start_loading(entry)
        if first_new is not None:
            self.settings.set_last_folder(str(Path(first_new).parent))
            self._select(first_new)

    def open_folder(self, folder: str) -> None:
        """A folder goes to the batch window (its own module)."""
        self.settings.set_last_folder(folder)
        try:
            module = importlib.import_module("skindesk.gui.batch_view")
        except ImportError as error:
            self.report_problem(folder, f"batch classification of folders is not available ({error})")
            return
        window = module.BatchWindow(self.classifier_provider, self)
        if hasattr(window, "open_image"):
            window.open_image.connect(lambda path: self.open_paths([str(path)]))
        self.batch_windows.append(window)
        window.show()
        window.start(folder)

    def _start_loading(self, entry: ImageEntry) -> None:
        path = entry.path
        draft = self.classifier.draft_size if self.classifier is not None else (1024, 1024)
        run_task(self.image_pool, lambda: load_for_display(path, draft),
                 lambda loaded: self._image_loaded(path, loaded),
                 lambda error: self._image_load_failed(path, error))

    def _image_loaded(self, path: str, loaded: LoadedImage) -> None:
        entry = self.entries.get(path)
        if entry is None:
            return
        entry.loaded = loaded
        entry.item.setIcon(QIcon(QPixmap.fromImage(loaded.thumbnail)))
        width, height = loaded.original_size
        entry.item.setToolTip(f"{path}\n{width} × {height} pixels")
        self.settings.add_recent_file(path)
        if self._current_entry() is entry:
            self._show_current()
        self.image_loaded.emit(path)
        if self.classifier is not None:
            self._classify(entry)
        elif not self.model_error:
            self.statusBar().showMessage("Waiting for the model to finish loading…", 3000)

    def _image_load_failed(self, path: str, error: BaseException) -> None:
        problem = error.problem if isinstance(error, ImageLoadError) else f"unexpected problem: {error}"
        entry = self.entries.pop(path, None)
        if entry is not None:
            self.image_list.takeItem(self.image_list.row(entry.item))
        self.report_problem(path, problem)
        self.image_failed.emit(path, problem)

    def report_problem(self, path: str, problem: str) -> None:
        """Add a line to the non-blocking problem bar (it never takes focus or waits)."""
        self._errors.append(f"Could not open {Path(path).name} ({path}): {problem}")
        self._errors = self._errors[-6:]
        self.error_text.setText("\n".join(self._errors))
        self.error_bar.setVisible(True)
        self.statusBar().showMessage(f"Could not open {Path(path).name}: {problem}", 8000)

    def clear_errors(self) -> None:
        self._errors.clear()
        self.error_text.setText("")
        self.error_bar.setVisible(False)

    def paste(self) -> None:
        """Open the clipboard's files, or its image (saved as PNG in a private temp folder)."""
        mime = QGuiApplication.clipboard().mimeData()
        if mime is not None and mime.hasUrls():
            files = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
            if files:
                self.open_paths(files)
                return
        image = QGuiApplication.clipboard().image()
        if image.isNull():
            self.statusBar().showMessage("The clipboard holds no image.", 5000)
            return
        if self._paste_dir is None:
            self._paste_dir = QTemporaryDir()
        self._paste_count += 1
        path = Path(self._paste_dir.path()) / f"pasted-{self._paste_count}.png"
        image.save(str(path), "PNG")
        self.open_paths([str(path)])

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent_files()
        for index, path in enumerate(recent):
            label = f"&{index + 1} {Path(path).name}" if index < 9 else Path(path).name
            action = self.recent_menu.addAction(label)
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, p=path: self.open_paths([p]))
        if not recent:
            self.recent_menu.addAction("(none)").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list", self.settings.clear_recent_files)

    # drag and drop --------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        mime = event.mimeData()
        if mime.hasUrls() and any(u.isLocalFile() for u in mime.urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if files:
            event.acceptProposedAction()
            self.open_paths(files)
        else:
            event.ignore()

    # ===================================================================== inference
    def _classify(self, entry: ImageEntry) -> None:
        classifier, loaded, path = self.classifier, entry.loaded, entry.path
        if classifier is None or loaded is None:
            return
        generation = self._model_generation
        draft = classifier.draft_size
        run_task(self.model_pool, lambda: classifier.predict_image(loaded.image_for_model(draft), path),
                 lambda p: self._classified(generation, path, p),
                 lambda e: self._classify_failed(path, e))

    def _classified(self, generation: int, path: str, prediction: Prediction) -> None:
        entry = self.entries.get(path)
        if entry is None or generation != self._model_generation or self.classifier is None:
            return
        entry.prediction = self._rederive(prediction)
        self._label_entry(entry)
        if self._current_entry() is entry:
            self._show_current()

    def _label_entry(self, entry: ImageEntry) -> None:
        """The list item's text: file name, top class (or 'not assessed'), ⚠ when review is
        advised, ⊘ when the image was not assessed."""
        prediction = entry.prediction
        if not prediction.assessed:
            entry.item.setText(f"⊘ {Path(entry.path).name}\n{prediction.status}")
            return
        marker = "⚠ " if prediction.review_advised else ""
        entry.item.setText(f"{marker}{Path(entry.path).name}\n{prediction.top_class.display_name} "
                           f"{percent(prediction.top_probability)}")

    def _classify_failed(self, path: str, error: BaseException) -> None:
        self.report_problem(path, f"the model could not classify it ({error})")

    # ===================================================================== display
    def _current_entry(self) -> ImageEntry | None:
        item = self.image_list.currentItem()
        if item is None:
            return None
        return self.entries.get(item.data(Qt.ItemDataRole.UserRole))

    def current_prediction(self) -> Prediction | None:
        entry = self._current_entry()
        return None if entry is None else entry.prediction

    def _select(self, path: str) -> None:
        entry = self.entries.get(path)
        if entry is not None:
            self.image_list.setCurrentItem(entry.item)

    def _step(self, delta: int) -> None:
        count = self.image_list.count()
        if count:
            self.image_list.setCurrentRow((self.image_list.currentRow() + delta) % count)

    def _current_changed(self, *_: Any) -> None:
        self.result_panel.reset_heatmap_class()
        self._shown_path = None
        self._show_current()

    def _show_current(self) -> None:
        entry = self._current_entry()
        if entry is None:
            self.image_view.set_image(None)
            self._shown_path = None
            self.result_panel.show_waiting("Open an image (Ctrl+O), drop one here, or paste one (Ctrl+V).")
            self.setWindowTitle("SkinDesk")
            self.report_action.setEnabled(False)
            return
        self.setWindowTitle(f"{Path(entry.path).name} — SkinDesk")
        if self._shown_path != entry.path:
            # Never leave the previous patient's image on screen while this one loads.
            self.image_view.set_image(entry.loaded.display if entry.loaded is not None else None)
            self._shown_path = entry.path if entry.loaded is not None else None
        if entry.loaded is None:
            self.result_panel.show_waiting("Opening the image…")
        elif entry.prediction is not None:
            self.result_panel.show_prediction(entry.prediction)
        elif self.classifier is not None:
            self.result_panel.show_waiting("Classifying…")
        elif self.model_error:
            self.result_panel.show_waiting("Not classified: no usable model.")
        else:
            self.result_panel.show_waiting("Waiting for the model to finish loading…")
        self.report_action.setEnabled(self.report_available and entry.prediction is not None)
        self._update_heatmap()
        if entry.prediction is not None:
            self.result_panel.chart.repaint()
            self.result_shown.emit(entry.path)

    # heat map ---------------------------------------------------------------------------
    def _toggle_heatmap(self) -> None:
        check = self.result_panel.heatmap_check
        if check.isEnabled():
            check.setChecked(not check.isChecked())
        else:
            self.heatmap_action.setChecked(False)

    def _heatmap_class_changed(self, _name: str) -> None:
        check = self.result_panel.heatmap_check
        if check.isEnabled() and not check.isChecked():
            check.setChecked(True)  # picking a class in the chart means "show me where"
        else:
            self._update_heatmap()

    def _opacity_changed(self, value: int) -> None:
        self.settings.set_heatmap_opacity(value)
        if self.result_panel.opacity_slider.isSliderDown():
            if not self._heatmap_timer.isActive():
                self._heatmap_timer.start()
        else:
            self._update_heatmap()

    def _heatmap_index(self, prediction: Prediction) -> int:
        name = self.result_panel.shown_heatmap_class()
        return prediction.class_index(name) if name in prediction.as_dict() else prediction.top_index

    def heatmap_image(self) -> Any:
        """The heat map as shown (``skindesk.core.heatmap.render_heatmap`` over the displayed
        picture, at the chosen class and opacity; a PIL image), or None when it is off."""
        entry = self._current_entry()
        if (not self.result_panel.heatmap_check.isChecked() or entry is None
                or not self.result_panel.results_shown()
                or entry.loaded is None or entry.prediction is None
                or entry.prediction.cam is None or self.classifier is None):
            return None
        prediction = entry.prediction
        index = self._heatmap_index(prediction)
        return render_heatmap(entry.loaded.pil_display, prediction.cam, index,
                              self.classifier.card.preprocessing,
                              probability=float(prediction.probabilities[index]),
                              opacity=self.result_panel.opacity_slider.value() / 100)

    def _update_heatmap(self) -> None:
        picture = self.heatmap_image()
        if picture is None:
            self.image_view.set_overlay(None)
            return
        self.image_view.set_overlay(pil_to_qimage(picture), QRectF(0, 0, picture.width,
                                                                   picture.height))
        self.image_view.set_overlay_opacity(1.0)  # the opacity is in the rendered pixels

    # ===================================================================== dialogs, hooks
    def export_report(self) -> None:
        entry = self._current_entry()
        if entry is None or entry.prediction is None or entry.loaded is None:
            return
        try:
            module = importlib.import_module("skindesk.gui.report_dialog")
        except ImportError as error:
            QMessageBox.information(self, "Report", f"Reports are not available in this build ({error}).")
            return
        module.export_report(self, entry.prediction, entry.loaded.pil_display, self.heatmap_image(),
                             self.classifier)

    def show_settings(self) -> None:
        card = self.classifier.card if self.classifier is not None else None
        strictness = self.classifier.gate_strictness if self.classifier is not None else None
        dialog = SettingsDialog(card, self.sensitivity, self.settings.provider(), self,
                                gate_strictness=strictness)
        if dialog.exec() != SettingsDialog.DialogCode.Accepted:
            return
        self.apply_settings(dialog.sensitivity(), dialog.provider(), dialog.gate_strictness())

    def apply_settings(self, sensitivity: float | None, provider: str,
                       gate_strictness: str | None = None) -> None:
        """Store and apply the Settings dialog's choices (``gate_strictness`` None: the card's
        default level)."""
        provider_changed = provider != self.settings.provider()
        self.settings.set_provider(provider)
        if self.classifier is not None:
            self.set_sensitivity(sensitivity)
            self.set_gate_strictness(gate_strictness)
        if provider_changed:
            self.load_model()

    def show_about(self) -> None:
        AboutDialog(self.classifier, self.sensitivity, self).exec()

    def close_current(self) -> None:
        entry = self._current_entry()
        if entry is None:
            return
        self.entries.pop(entry.path, None)
        self.image_list.takeItem(self.image_list.row(entry.item))
        self._show_current()
