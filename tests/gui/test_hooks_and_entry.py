"""The places left for batch mode and reports, and the ``main(paths)`` entry point."""

from __future__ import annotations

import sys
import types

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication

from skindesk.gui import app as app_module
from skindesk.gui.main_window import MainWindow


class _FakeBatch(QObject):
    open_image = Signal(str)
    made: list["_FakeBatch"] = []

    def __init__(self, classifier_provider, parent) -> None:
        super().__init__(parent)
        self.classifier_provider = classifier_provider
        self.started: list[str] = []
        _FakeBatch.made.append(self)

    def show(self) -> None:
        pass

    def start(self, folder: str) -> None:
        self.started.append(folder)


def _fake_module(name: str, **members) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__spec__ = types.SimpleNamespace(name=name)  # type: ignore[assignment]
    for key, value in members.items():
        setattr(module, key, value)
    return module


def test_dropped_folder_opens_the_batch_window(monkeypatch, make_window, qtbot, wait_for_result,
                                               colour_model, images):
    monkeypatch.setitem(sys.modules, "skindesk.gui.batch_view",
                        _fake_module("skindesk.gui.batch_view", BatchWindow=_FakeBatch))
    _FakeBatch.made.clear()
    window = make_window(colour_model)
    folder = images["lesion"].parent
    window.open_paths([str(folder)])
    assert len(_FakeBatch.made) == 1 and _FakeBatch.made[0].started == [str(folder.absolute())]
    assert _FakeBatch.made[0].classifier_provider() is window.classifier
    assert window.image_list.count() == 0  # the folder is the batch's, not the image list's
    _FakeBatch.made[0].open_image.emit(str(images["lesion"]))  # "open this one" from the batch
    wait_for_result(window, images["lesion"])


def test_export_report_hands_over_prediction_image_and_heatmap(
    monkeypatch, make_window, qtbot, wait_for_result, colour_model, images
):
    calls = []
    monkeypatch.setitem(sys.modules, "skindesk.gui.report_dialog",
                        _fake_module("skindesk.gui.report_dialog", export_report=lambda *a: calls.append(a)))
    window = make_window(colour_model)
    window.open_paths([str(images["lesion"])])
    prediction = wait_for_result(window, images["lesion"])
    assert window.report_action.isEnabled()
    window.report_action.trigger()
    parent, given, image, heatmap, classifier = calls[-1]
    assert parent is window and given is prediction and classifier is window.classifier
    assert image.size == (320, 240) and heatmap is None
    window.result_panel.heatmap_check.setChecked(True)
    window.report_action.trigger()
    heatmap = calls[-1][3]
    assert heatmap is not None and heatmap.size == image.size and heatmap.tobytes() != image.tobytes()


def test_main_opens_the_given_images(monkeypatch, qtbot, colour_model, images):
    monkeypatch.setenv("SKINDESK_MODEL", str(colour_model))
    seen = {}

    def fake_exec(self) -> int:  # run the loop until the image is classified, then "exit"
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        seen["window"] = windows[-1]
        qtbot.addWidget(windows[-1])
        qtbot.waitUntil(lambda: windows[-1].current_prediction() is not None, timeout=8000)
        return 0

    monkeypatch.setattr(type(QApplication.instance()), "exec", fake_exec)
    assert app_module.main([str(images["noise"])]) == 0
    window = seen["window"]
    assert window.model_path == colour_model
    assert window._current_entry().path == str(images["noise"].absolute())
    assert QApplication.instance().organizationName() == "skindesk"
    assert QApplication.instance().applicationDisplayName() == "SkinDesk"


def test_actions_have_shortcuts_and_widgets_accessible_names(make_window, colour_model):
    window = make_window(colour_model)
    for action in (window.open_action, window.paste_action, window.report_action, window.model_action,
                   window.settings_action, window.zoom_in_action, window.zoom_out_action,
                   window.fit_action, window.heatmap_action, window.next_action, window.about_action):
        assert not action.shortcut().isEmpty(), action.text()
    for widget in (window.image_list, window.image_view, window.result_panel.chart,
                   window.result_panel.opacity_slider, window.result_panel.heatmap_check,
                   window.result_panel.alert_banner, window.disclaimer):
        assert widget.accessibleName(), widget.objectName()
    assert window.image_list.nextInFocusChain() is not None
