"""#15 on paper: single and batch PDFs of gated, too-dark and normal images, read back with pypdf."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from pypdf import PdfReader

from skindesk.core.classifier import Classifier
from skindesk.core.heatmap import render_prediction_heatmap
from skindesk.core.imaging import load_image
from skindesk.core.results import (
    ModelInfo,
    columns_for,
    csv_line,
    row_from_prediction,
    row_to_csv_fields,
)
from skindesk.report import PatientFields, build_report, read_batch_csv
from skindesk.report.pdf import write_batch_report_pdf, write_report_pdf

MELANOMA_ALERT = [0.02, 0.02, 0.02, 0.6, 0.3, 0.01, 0.01, 0.01, 0.01]


def _text(path: Path) -> str:
    return " ".join(" ".join(page.extract_text() or "" for page in PdfReader(path).pages).split())


@pytest.fixture
def classifiers(fixed_probabilities_model, gate_card) -> tuple[Classifier, Classifier]:
    """(a gate model that lets real dermoscopy through, one that gates everything)."""
    normal = fixed_probabilities_model(MELANOMA_ALERT, gate_card(), name="normal.onnx")
    gated = fixed_probabilities_model(MELANOMA_ALERT, gate_card(), name="gated.onnx",
                                      out_of_distribution=True)
    return Classifier(normal, provider="cpu"), Classifier(gated, provider="cpu")


def _single(classifier: Classifier, image_path: Path, out: Path) -> str:
    image = load_image(image_path)
    prediction = classifier.predict_image(image, str(image_path))
    content = build_report(
        prediction, classifier.card, PatientFields(patient_id="P-15"), sha256=classifier.sha256,
        image=image, heatmap=render_prediction_heatmap(image, prediction,
                                                       classifier.card.preprocessing),
        heatmap_caption="Heat map of melanoma")
    return _text(write_report_pdf(content, out))


def test_single_reports_of_gated_dark_and_normal_images(classifiers, dermoscopy_images,
                                                        dark_photo, tmp_path: Path) -> None:
    normal, gated = classifiers
    off = _single(gated, dermoscopy_images[0], tmp_path / "off.pdf")
    assert "NOT ASSESSED: This does not look like a dermoscopic image of a skin lesion" in off
    assert "No alert is raised from it; take a new dermoscopic image." in off
    assert "For the record only: this image was not assessed, so these probabilities may be meaningless." in off
    assert "Alerts withheld: melanoma 60 % ≥ alert threshold 12 %." in off
    assert "withheld" in off.split("Flagged class")[1]  # the thresholds table says so too
    for absent in ("REVIEW ADVISED", "No malignancy alert at the chosen operating point",
                   "Most likely", "Heat map of melanoma"):
        assert absent not in off, absent

    dark = _single(normal, dark_photo, tmp_path / "dark.pdf")
    assert "NOT ASSESSED: The image is too dark to assess" in dark and "REVIEW ADVISED" not in dark

    plain = _single(normal, dermoscopy_images[0], tmp_path / "plain.pdf")
    assert "REVIEW ADVISED" in plain and "Most likely: Melanoma 60 %" in plain
    assert "NOT ASSESSED" not in plain and "For the record only" not in plain
    assert "Heat map of melanoma" in plain


def _results_csv(path: Path, classifiers, files: list[Path]) -> Path:
    normal, gated = classifiers
    model = ModelInfo.from_classifier(normal)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(csv_line(columns_for(model.class_names)))
        for classifier, file in zip((normal, normal, gated), files):
            row = row_from_prediction(str(file), classifier.predict_file(file), model)
            handle.write(csv_line(row_to_csv_fields(row, model.class_names)))
    return path


def test_batch_report_counts_not_assessed_images_apart(classifiers, dermoscopy_images, dark_photo,
                                                       tmp_path: Path) -> None:
    gated_copy = tmp_path / "screenshot.jpg"
    gated_copy.write_bytes(dermoscopy_images[1].read_bytes())
    results = _results_csv(tmp_path / "r.csv", classifiers,
                           [dermoscopy_images[0], dark_photo, gated_copy])
    content = read_batch_csv(results)
    assert (content.total, content.classified, content.assessed) == (3, 3, 1)
    assert dict(content.class_counts) == {"Melanoma": 1}  # not-assessed images are not counted
    assert [Path(r.file).name for r in content.rows] == [
        dermoscopy_images[0].name, "dark.jpg", "screenshot.jpg"]
    text = _text(write_batch_report_pdf(content, tmp_path / "batch.pdf"))
    assert "1 review advised" in text and "2 not assessed" in text
    assert "3 (1 assessed, 2 not assessed, 0 not analysed)" in text
    assert "shares of the 1 assessed files" in text
    assert "NOT ASSESSED: the image is too dark to assess" in text
    assert "NOT ASSESSED: this does not look like a dermoscopic image of a skin lesion" in text
    dark_row = text[text.index("dark.jpg"):text.index("screenshot.jpg")]
    assert "Melanoma" not in dark_row and "%" not in dark_row  # no top class, no probability


def test_an_old_results_csv_without_quality_and_status_still_makes_a_report(
        classifiers, dermoscopy_images, dark_photo, tmp_path: Path) -> None:
    new = _results_csv(tmp_path / "new.csv", classifiers,
                       [dermoscopy_images[0], dark_photo, dermoscopy_images[1]])
    with open(new, encoding="utf-8", newline="") as handle:
        records = list(csv.DictReader(handle))
    old_header = [h for h in records[0] if h not in ("quality", "status")]
    old = tmp_path / "old.csv"
    with open(old, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, old_header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(records)
    content = read_batch_csv(old)
    assert content.total == 3 and content.count("not_assessed") == 1  # the gated one, by its flag
    text = _text(write_batch_report_pdf(content, tmp_path / "old.pdf"))
    assert "NOT ASSESSED: this does not look like a dermoscopic image" in text
