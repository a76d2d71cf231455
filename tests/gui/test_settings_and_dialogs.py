"""Settings survive a restart; the About dialog shows the whole model card."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

from skindesk.core.modelcard import file_sha256
from skindesk.core.wording import LIMITATION
from skindesk.gui.dialogs import AboutDialog
from skindesk.gui.settings import AppSettings
from skindesk.gui.workers import DISPLAY_SIDE, load_for_display


def test_settings_persist_across_a_restart(make_window, qtbot, wait_for_result, colour_model, images, tmp_path):
    from skindesk.gui.main_window import MainWindow

    window = make_window(colour_model)
    window.open_paths([str(images["lesion"])])
    wait_for_result(window, images["lesion"])
    window.resize(760, 600)  # inside the offscreen screen (800x800)
    window.result_panel.opacity_slider.setValue(73)
    window.apply_settings(0.95, "cpu")
    qtbot.waitUntil(lambda: window.classifier is not None, timeout=8000)  # reloaded on CPU
    window.close()

    again = MainWindow(model_path=colour_model)
    qtbot.addWidget(again)
    again.show()
    qtbot.waitUntil(lambda: again.classifier is not None, timeout=8000)
    assert (again.width(), again.height()) == (760, 600)
    assert again.result_panel.opacity_slider.value() == 73
    assert again.settings.provider() == "cpu" and again.classifier.requested_provider == "cpu"
    assert again.sensitivity == pytest.approx(0.95) and again.classifier.sensitivity == pytest.approx(0.95)
    assert again.settings.recent_files()[0] == str(images["lesion"].absolute())
    assert Path(again.settings.last_folder()) == images["lesion"].parent
    again.recent_menu.aboutToShow.emit()
    labels = [a.text() for a in again.recent_menu.actions()]
    assert any("lesion.png" in label for label in labels)
    ini = list(Path(AppSettings().store.fileName()).parent.rglob("*.ini"))
    assert ini, "settings were not written to the redirected folder"


def test_about_dialog_shows_card_intended_use_and_licence(make_window, colour_model):
    window = make_window(colour_model)
    dialog = AboutDialog(window.classifier, None, window)
    text = dialog.overview.toPlainText()
    card = window.classifier.card
    assert card.title in text
    assert card.intended_use in text and card.licence in text
    assert "not a diagnosis" in text
    assert "Melanoma — malignant" in text
    # the limitation, the privacy statement and both digests, each named for what it is
    assert LIMITATION.partition(": ")[2] in " ".join(text.split())
    assert "ORT_DISABLE_TELEMETRY" in text and "DeveloperTools" in text
    assert f"File sha256 (of the whole file, as sha256sum prints): {file_sha256(colour_model)}" in text
    assert f"recorded inside the model; verified): {window.classifier.sha256}" in text
    # the whole card as readable tables, not raw JSON; numbers rounded
    card_view = dialog.card_text.toPlainText()
    assert "{" not in card_view and '"' not in card_view
    assert card.name in card_view and "Training data" in card_view
    assert not re.search(r"\d\.\d{5,}", card_view)


def test_big_jpeg_is_decoded_small_and_the_model_sees_what_predict_file_sees(tmp_path, colour_model):
    from skindesk.core.classifier import Classifier
    from skindesk.core.imaging import load_image

    path = tmp_path / "big.jpg"
    Image.new("RGB", (6000, 4000), (150, 90, 70)).save(path, quality=80)
    classifier = Classifier(colour_model)
    loaded = load_for_display(path, classifier.draft_size)
    assert max(loaded.display.width(), loaded.display.height()) <= DISPLAY_SIDE
    assert loaded.original_size == (6000, 4000)
    assert max(loaded.thumbnail.width(), loaded.thumbnail.height()) <= 96
    reference = load_image(path, draft_size=classifier.draft_size)
    assert loaded.model_image.size == reference.size
    assert loaded.image_for_model(classifier.draft_size).tobytes() == reference.tobytes()
    got = classifier.predict_image(loaded.image_for_model(classifier.draft_size), str(path))
    assert got.as_dict() == classifier.predict_file(path).as_dict()
