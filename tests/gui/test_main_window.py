"""The single-image window on real tiny models, offscreen: opening, chart, heat map, warnings."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication

from skindesk.core.classifier import Classifier



def test_open_through_api_chart_equals_classifier(make_window, qtbot, wait_for_result, colour_model, images):
    window = make_window(colour_model)
    window.open_paths([str(images["lesion"]), str(images["noise"])])
    prediction = wait_for_result(window, images["lesion"])
    expected = Classifier(colour_model).predict_file(images["lesion"]).as_dict()
    drawn = window.result_panel.chart.values()
    assert set(drawn) == set(expected)
    for name, value in expected.items():
        assert drawn[name] == pytest.approx(value, abs=1e-6)
    rows = window.result_panel.chart.rows()
    assert [r.probability for r in rows] == sorted((r.probability for r in rows), reverse=True)
    assert rows[0].top and not any(r.top for r in rows[1:])
    assert rows[0].name == prediction.top_class.name
    groups = {r.name: r.group for r in rows}
    assert groups["melanoma"] == "malignant" and groups["actinic keratosis"] == "pre-malignant"
    assert groups["nevus"] == "benign"
    assert window.result_panel.summary.text().startswith("Most likely: ")
    assert prediction.top_class.display_name.lower() in window.result_panel.summary.text()
    assert window.image_list.count() == 2
    assert not window.image_list.item(0).icon().isNull()
    # the other image classifies too, with its own numbers
    window.image_list.setCurrentRow(1)
    wait_for_result(window, images["noise"])
    noise = Classifier(colour_model).predict_file(images["noise"]).as_dict()
    assert window.result_panel.chart.values()["melanoma"] == pytest.approx(noise["melanoma"], abs=1e-6)


def _drop(window, paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    point = QPointF(window.width() / 2, window.height() / 2)
    with warnings.catch_warnings():  # PySide marks the QPoint constructor deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(point.toPoint(), Qt.DropAction.CopyAction, mime,
                                Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(point, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, drop)
    return drop


def test_open_through_drop_event(make_window, qtbot, wait_for_result, colour_model, images):
    window = make_window(colour_model)
    drop = _drop(window, [images["noise"]])
    assert drop.isAccepted()
    wait_for_result(window, images["noise"])
    expected = Classifier(colour_model).predict_file(images["noise"]).as_dict()
    for name, value in window.result_panel.chart.values().items():
        assert value == pytest.approx(expected[name], abs=1e-6)


def test_heatmap_toggle_class_and_opacity_change_the_picture(make_window, qtbot, wait_for_result, colour_model, images):
    window = make_window(colour_model)
    window.open_paths([str(images["lesion"])])
    prediction = wait_for_result(window, images["lesion"])
    view = window.image_view
    plain = view.rendered()
    panel = window.result_panel
    assert panel.heatmap_check.isEnabled()
    qtbot.keyClick(window, Qt.Key.Key_H)  # the shortcut toggles it
    assert panel.heatmap_check.isChecked() and view.overlay_visible()
    with_map = view.rendered()
    assert with_map != plain
    # a class clicked in the chart gets its own map
    chart = panel.chart
    rows = chart.rows()
    other = next(i for i, r in enumerate(rows) if r.name != prediction.top_class.name)
    centre = chart.bar_rect(other).center().toPoint()
    qtbot.mouseClick(chart, Qt.MouseButton.LeftButton, pos=centre)
    assert chart.selected_class() == rows[other].name
    assert f"looked for {rows[other].name}" in panel.heatmap_class_label.text()
    other_map = view.rendered()
    assert other_map != with_map
    panel.opacity_slider.setValue(100)
    assert view.overlay_opacity() == pytest.approx(1.0)
    assert view.rendered() != other_map
    qtbot.keyClick(window, Qt.Key.Key_H)
    assert not view.overlay_visible()
    assert view.rendered() == plain


def test_uncertain_warning_for_flat_model(make_window, qtbot, wait_for_result, make_fixed_model, images):
    flat = make_fixed_model("flat", {"ood_threshold": None}, nevus=0.2)
    window = make_window(flat)
    window.open_paths([str(images["lesion"])])
    prediction = wait_for_result(window, images["lesion"])
    assert prediction.uncertain
    warning = window.result_panel.uncertain_warning
    assert warning.isVisible() and "Uncertain" in warning.text() and "50 %" in warning.text()
    assert not window.result_panel.not_assessed_banner.isVisible()


def test_confident_model_shows_no_uncertain_warning(make_window, qtbot, wait_for_result, make_fixed_model, images):
    sure = make_fixed_model("sure", {"ood_threshold": None}, nevus=0.9)
    window = make_window(sure)
    window.open_paths([str(images["lesion"])])
    wait_for_result(window, images["lesion"])
    assert not window.result_panel.uncertain_warning.isVisible()
    assert window.result_panel.chart.rows()[0].name == "nevus"


def test_out_of_distribution_banner(make_window, qtbot, wait_for_result, make_fixed_model, images):
    # ood_score = -logsumexp(logits) = -5 here (log-probabilities shifted by 5): at threshold
    # -5.5 the image is gated (not assessed); at threshold -4.5 it is not.
    odd = make_fixed_model("odd", {"ood_threshold": -5.5}, nevus=0.9)
    window = make_window(odd)
    window.open_paths([str(images["lesion"])])
    prediction = wait_for_result(window, images["lesion"])
    assert prediction.out_of_distribution
    banner = window.result_panel.not_assessed_banner
    assert banner.isVisible() and window.result_panel.not_assessed_text.text().startswith(
        "This does not look like a dermoscopic image of a skin lesion.")

    familiar = make_fixed_model("familiar", {"ood_threshold": -4.5}, nevus=0.9)
    window2 = make_window(familiar)
    window2.open_paths([str(images["lesion"])])
    assert wait_for_result(window2, images["lesion"]).out_of_distribution is False
    assert not window2.result_panel.not_assessed_banner.isVisible()


def test_bad_file_is_reported_and_the_rest_still_opens(make_window, qtbot, wait_for_result, colour_model, images):
    window = make_window(colour_model)
    failures = []
    window.image_failed.connect(lambda path, problem: failures.append((path, problem)))
    window.open_paths([str(images["bad"]), str(images["lesion"]), str(images["text"])])
    qtbot.waitUntil(lambda: len(failures) == 2, timeout=5000)
    wait_for_result(window, images["lesion"])
    text = window.error_text.text()
    assert window.error_bar.isVisible()
    assert "broken.jpg" in text and "notes.png" in text
    assert "corrupt" in text or "not an image" in text
    assert window.image_list.count() == 1
    # still usable: another image opens and classifies; the bar can be dismissed
    window.open_paths([str(images["noise"])])
    wait_for_result(window, images["noise"])
    window.clear_errors()
    assert not window.error_bar.isVisible()
    assert QApplication.activeModalWidget() is None


def test_status_bar_names_model_and_provider(make_window, colour_model):
    window = make_window(colour_model)
    text = window.model_label.text()
    assert text == f"{window.classifier.card.title} · {window.classifier.provider}"
    assert window.classifier.provider in ("CPU", "CUDA")
    assert "Running on" in window.model_label.toolTip()
    assert window.disclaimer.isVisible() and "not a diagnosis" in window.disclaimer.text()


def test_missing_model_says_so_and_images_still_view(make_window, qtbot, wait_for_result, tmp_path, images):
    window = make_window(tmp_path / "nothing-here.onnx")
    assert window.classifier is None
    assert window.model_label.text() == "No model installed"
    notice = window.result_panel.model_notice
    assert notice.isVisible() and "No model installed" in window.result_panel.model_notice_text.text()
    assert window.result_panel.open_model_button.isVisible()
    window.open_paths([str(images["lesion"])])
    qtbot.waitUntil(lambda: window.image_view.has_image(), timeout=5000)
    assert "no usable model" in window.result_panel.summary.text()
    assert window.disclaimer.isVisible()


def test_paste_image_from_clipboard(make_window, qtbot, wait_for_result, colour_model):
    window = make_window(colour_model)
    image = QImage(64, 48, QImage.Format.Format_RGB32)
    image.fill(0x884422)
    QGuiApplication.clipboard().setImage(image)
    window.paste()
    qtbot.waitUntil(lambda: window.current_prediction() is not None, timeout=5000)
    assert Path(window._current_entry().path).name == "pasted-1.png"
    assert len(window.result_panel.chart.values()) == 9


def test_zoom_pan_and_fit(make_window, qtbot, wait_for_result, colour_model, images):
    window = make_window(colour_model)
    window.open_paths([str(images["lesion"])])
    wait_for_result(window, images["lesion"])
    view = window.image_view
    fitted = view.zoom()
    assert view.is_fitted()
    window.zoom_in_action.trigger()
    window.zoom_in_action.trigger()
    assert view.zoom() == pytest.approx(fitted * 1.25 * 1.25) and not view.is_fitted()
    window.actual_action.trigger()
    assert view.zoom() == pytest.approx(1.0)
    window.zoom_in_action.trigger()
    window.zoom_in_action.trigger()
    bar = view.horizontalScrollBar()
    assert bar.maximum() > 0  # larger than the view: it can be panned
    bar.setValue(bar.maximum())
    assert bar.value() == bar.maximum()
    window.fit_action.trigger()
    assert view.zoom() == pytest.approx(fitted) and view.is_fitted()
