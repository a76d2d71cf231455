"""The app's heat map and the PDF report's are the same pixels (one renderer in the core)."""

from __future__ import annotations

import numpy as np
from pypdf import PdfReader
from PySide6.QtGui import QImage

from skindesk import cli
from skindesk.core.heatmap import LEGEND_TEXT


def _array(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : 3 * image.width()].reshape(image.height(), image.width(), 3).copy()


def test_app_and_pdf_heat_maps_are_pixel_identical(make_window, wait_for_result, colour_model,  # noqa: ANN001
                                                   images, tmp_path, qtbot) -> None:  # noqa: ANN001
    window = make_window(colour_model)
    window.open_paths([str(images["lesion"])])
    prediction = wait_for_result(window, images["lesion"])
    window.result_panel.heatmap_check.setChecked(True)
    shown = _array(window.image_view._overlay_item.pixmap().toImage())
    photo = _array(window.image_view._image_item.pixmap().toImage())
    assert shown.shape == photo.shape and (shown != photo).any()  # a real overlay, full size
    assert window.result_panel.heatmap_scale.isVisible()
    assert LEGEND_TEXT in window.result_panel.heatmap_scale.toolTip()
    # what the app hands to its report dialog is what it shows
    assert (np.asarray(window.heatmap_image()) == shown).all()

    out = tmp_path / "report.pdf"
    assert cli.main(["report", str(images["lesion"]), "--model", str(colour_model),
                     "--patient-id", "P-1", "--output", str(out)]) == 0
    embedded = [np.asarray(picture.image.convert("RGB")) for picture in PdfReader(out).pages[0].images]
    same_size = [e for e in embedded if e.shape == shown.shape]
    assert any((e == shown).all() for e in same_size), "no embedded image equals the app's heat map"

    # another class, picked in the chart, changes both alike
    rows = window.result_panel.chart.rows()
    other = next(r.name for r in rows if r.name != window.result_panel.shown_heatmap_class())
    window.result_panel.chart.select_class(other)
    assert (_array(window.image_view._overlay_item.pixmap().toImage()) != shown).any()
    assert prediction is window.current_prediction()


def test_dragging_the_opacity_redraws_at_a_steady_pace(make_window, wait_for_result, colour_model,  # noqa: ANN001
                                                       images, qtbot) -> None:  # noqa: ANN001
    window = make_window(colour_model)
    window.open_paths([str(images["lesion"])])
    wait_for_result(window, images["lesion"])
    window.result_panel.heatmap_check.setChecked(True)
    slider = window.result_panel.opacity_slider
    before = _array(window.image_view._overlay_item.pixmap().toImage())
    slider.setSliderDown(True)
    slider.setValue(90)  # while dragging: drawn by a timer, not for every step
    assert (_array(window.image_view._overlay_item.pixmap().toImage()) == before).all()
    qtbot.waitUntil(lambda: (_array(window.image_view._overlay_item.pixmap().toImage())
                             != before).any(), timeout=2000)
    slider.setSliderDown(False)
    assert window.settings.heatmap_opacity() == 90
