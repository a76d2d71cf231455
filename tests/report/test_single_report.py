"""Single-image reports, generated for real and read back (pdftotext, pdftoppm, pdffonts)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from skindesk.core.classifier import Classifier
from skindesk.core.formatting import percent
from skindesk.core.wording import LIMITATION
from skindesk.core.imaging import load_image
from skindesk.core.prediction import Alert, default_heatmap_class
from skindesk.report import PatientFields, ReportError, build_report
from skindesk.core.heatmap import render_prediction_heatmap
from skindesk.report.pdf import default_paper, write_report_pdf

NAME = "Zofia Łukasiewicz-Ødegård 李小龙"
CLINICIAN = "Dr. Émile Brontë"


def _report(model: Path, image_path: Path, out: Path, *, sensitivity=None, paper="a4",  # noqa: ANN001
            notes: str = "", heatmap: bool = True, patient_id: str = "P-0042",
            name: str = NAME) -> tuple[Path, object]:
    classifier = Classifier(model, provider="cpu", sensitivity=sensitivity)
    image = load_image(image_path)
    prediction = classifier.predict_image(image, str(image_path))
    content = build_report(
        prediction, classifier.card,
        PatientFields(patient_id=patient_id, name=name, birth_date="1961-04-03",
                      body_site="left shoulder", clinician=CLINICIAN, clinic="Praxis Müller",
                      notes=notes),
        sha256=classifier.sha256, provider=classifier.provider, sensitivity=sensitivity,
        image=image, heatmap=render_prediction_heatmap(image, prediction, classifier.card.preprocessing)
        if heatmap else None,
        heatmap_caption="Heat map",
    )
    return write_report_pdf(content, out, paper=paper), prediction


@pytest.fixture
def alert_model(fixed_probabilities_model, pdf):  # noqa: ANN001
    # Benign top class (nevus 60 %) with melanoma 23 %: above the 12 % threshold (90 % point)
    # and below the 30 % threshold of the 80 % point.
    return fixed_probabilities_model(pdf.probabilities(nevus=0.6, melanoma=0.23), name="alert.onnx")


def test_report_text_has_patient_result_alert_model_and_disclaimer(
    alert_model, lesion_image, tmp_path, pdf  # noqa: ANN001
) -> None:
    path, prediction = _report(alert_model, lesion_image, tmp_path / "report.pdf")
    text = pdf.text(path)
    assert prediction.top_class.name == "nevus"
    assert "P-0042" in text
    assert NAME in text  # Polish, Norwegian and Chinese characters survive
    assert CLINICIAN in text and "Praxis Müller" in text
    assert f"Most likely: Nevus {percent(prediction.top_probability)} (benign)" in text
    assert "Nevus (top) 60 %" in text  # the chart's row for the top class
    assert "REVIEW ADVISED" in text
    # the alert, its threshold and the operating point's validated figures
    assert "melanoma 23 % ≥ alert threshold 12 % (operating point 90 %" in text
    assert "validated sensitivity 91 %, specificity 70 %" in text
    assert "melanoma 90 %" in text  # the operating point label
    assert "0.0-test" in text and "SkinDesk test model" in text
    assert "Decision support, not a diagnosis." in text
    assert "Intended use: Automated tests only." in text
    assert "Data licence: CC0" in text
    assert "Page 1 of" in text
    assert LIMITATION in " ".join(text.split())
    assert "Clinic not set" not in text


def test_changing_the_operating_point_removes_the_alert(
    alert_model, lesion_image, tmp_path, pdf  # noqa: ANN001
) -> None:
    path, prediction = _report(alert_model, lesion_image, tmp_path / "r80.pdf", sensitivity=0.8)
    text = pdf.text(path)
    assert not prediction.alerts
    assert "REVIEW ADVISED" not in text
    assert "No malignancy alert at the chosen operating point" in text
    assert "80 % target sensitivity" in text


def test_uncertain_warning_and_a_gated_image_is_not_assessed(
    fixed_probabilities_model, lesion_image, tmp_path, pdf  # noqa: ANN001
) -> None:
    model = fixed_probabilities_model(pdf.probabilities(nevus=0.3))
    text = pdf.text(_report(model, lesion_image, tmp_path / "u.pdf")[0])
    assert "Uncertain" in text and "do not rely on the top class" in text
    gated = fixed_probabilities_model(pdf.probabilities(nevus=0.3), out_of_distribution=True,
                                      name="gated.onnx")
    text = pdf.text(_report(gated, lesion_image, tmp_path / "g.pdf")[0])
    assert "NOT ASSESSED: This does not look like a dermoscopic image of a skin lesion" in text
    assert "Uncertain" not in text and "Out of distribution" not in text


def test_model_without_operating_points_says_so(
    fixed_probabilities_model, lesion_image, tmp_path, pdf  # noqa: ANN001
) -> None:
    from skindesk.core.testmodels import test_card

    model = fixed_probabilities_model(pdf.probabilities(nevus=0.6, melanoma=0.3),
                                      card=test_card(operating_points=None))
    text = pdf.text(_report(model, lesion_image, tmp_path / "n.pdf")[0])
    assert "No validated alert threshold exists for this model" in text
    assert "REVIEW ADVISED" not in text


def test_page_one_is_not_blank_and_shows_the_image(
    alert_model, lesion_image, tmp_path, pdf  # noqa: ANN001
) -> None:
    path, _ = _report(alert_model, lesion_image, tmp_path / "p.pdf", heatmap=False)
    page = pdf.png(path).astype(int)
    assert (page.sum(axis=2) < 600).mean() > 0.02  # ink on the page
    green = (np.abs(page - np.array(pdf.LESION_BACKGROUND)).sum(axis=2) < 60)
    assert green.mean() > 0.01  # the image's own pixels are on page 1
    rows, cols = np.nonzero(green)
    region = page[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    assert (region.sum(axis=2) > 740).mean() < 0.05  # the image region is not white


def test_fonts_are_embedded_and_paper_sizes(alert_model, lesion_image, tmp_path, pdf) -> None:  # noqa: ANN001
    a4, _ = _report(alert_model, lesion_image, tmp_path / "a4.pdf", paper="a4")
    letter, _ = _report(alert_model, lesion_image, tmp_path / "letter.pdf", paper="letter")
    assert pdf.info(a4)["Page size"].startswith("595 x 842")
    assert pdf.info(letter)["Page size"].startswith("612 x 792")
    fonts = pdf.fonts(a4)
    assert fonts and all(row[-5] == "yes" for row in fonts), fonts  # the 'emb' column


def test_default_paper_follows_the_locale() -> None:
    from PySide6.QtCore import QLocale

    assert default_paper(QLocale("en_US")) == "letter"
    assert default_paper(QLocale("en_CA")) == "letter"
    assert default_paper(QLocale("de_DE")) == "a4"
    assert default_paper(QLocale("zh_CN")) == "a4"


def test_long_notes_flow_onto_a_second_page(alert_model, lesion_image, tmp_path, pdf) -> None:  # noqa: ANN001
    notes = " ".join(f"Observation {i}: border irregular, colour variegated." for i in range(120))
    path, _ = _report(alert_model, lesion_image, tmp_path / "long.pdf", notes=notes)
    assert int(pdf.info(path)["Pages"]) >= 2
    text = pdf.text(path)
    assert "Page 2 of" in text and "Observation 119" in text


def test_a_patient_identifier_is_required(alert_model, lesion_image) -> None:  # noqa: ANN001
    classifier = Classifier(alert_model, provider="cpu")
    prediction = classifier.predict_file(lesion_image)
    with pytest.raises(ReportError, match="patient identifier"):
        build_report(prediction, classifier.card, PatientFields(patient_id="  "))


def test_a_long_patient_id_and_name_wrap_and_are_never_cut(
    alert_model, lesion_image, tmp_path, pdf  # noqa: ANN001
) -> None:
    patient_id = "MRN-" + "".join(f"{i:02d}ABCDEFGH" for i in range(11)) + "-XYZ09"
    name = "Maria-Magdalena " * 5 + "Łukasiewicz-Ødegård von und zu Hohenberg-Schwarzenfeld 李小龙"
    assert len(patient_id) == 120 and " " not in patient_id
    path, _ = _report(alert_model, lesion_image, tmp_path / "long_id.pdf", patient_id=patient_id,
                      name=name)
    # pdftotext breaks wrapped lines (and drops a hyphen at a line end): compare without them
    def squeezed(text: str) -> str:
        return "".join(text.split()).replace("-", "")

    text = squeezed(pdf.text(path))
    assert text.count(squeezed(patient_id)) >= 2  # the fields and the running header
    assert squeezed(name) in text
    width = float(pdf.info(path)["Page size"].split()[0])
    margin = 15 / 25.4 * 72
    words = pdf.words(path)
    assert words and all(x_max <= width - margin + 1 for _, _, x_max, _, _ in words)
