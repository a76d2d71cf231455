"""The lesion report: a real PDF of a lesion's visits, read back with pypdf."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader

from skindesk import cli
from skindesk.cases import CaseStore, StoredResult
from skindesk.report.content import ReportError
from skindesk.report.history import build_lesion_history
from skindesk.report.history_pdf import write_lesion_report_pdf


def _result(melanoma: float, version: str, alert: bool) -> StoredResult:
    rest = (1 - melanoma) / 2
    probabilities = {"melanoma": melanoma, "nevus": rest, "dermatofibroma": rest}
    return StoredResult("SkinDesk", version, version * 8, max(probabilities, key=probabilities.get),
                        probabilities,
                        [{"class": "melanoma", "probability": melanoma, "threshold": 0.3}] if alert else [],
                        "melanoma 90 %", {})


@pytest.fixture
def store(tmp_path: Path) -> CaseStore:
    opened = CaseStore.open(str(tmp_path / "store" / "cases.sqlite"))
    opened.save_patient("P-77", name="Ida Example", birth_year=1949)
    rng = np.random.default_rng(3)
    for index, (melanoma, version, alert, month) in enumerate(
            ((0.12, "1.0", False, 2), (0.18, "1.0", False, 5), (0.41, "2.0", True, 9))):
        path = tmp_path / f"visit{index}.png"
        Image.fromarray(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)).save(path)
        outcome = opened.add_image("P-77", path, lesion="left scapula", site="posterior torso",
                                   taken_on=date(2025, month, 3), result=_result(melanoma, version, alert))
    opened.set_decision(outcome.visit_id, "excise")
    opened.set_histopathology(outcome.lesion_id, "melanoma in situ", date(2025, 10, 1))
    yield opened
    opened.close()


def test_the_report_lists_every_visit_with_thumbnail_date_and_scores(store, tmp_path) -> None:
    output = tmp_path / "lesion.pdf"
    write_lesion_report_pdf(build_lesion_history(store, "P-77", "left scapula"), output)
    reader = PdfReader(output)
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
    for expected in ("Lesion history by SkinDesk", "P-77", "Ida Example", "left scapula",
                     "posterior torso", "melanoma in situ (2025-10-01)",
                     "2025-02-03", "2025-05-03", "2025-09-03",
                     "Melanoma 12 %", "Melanoma 18 %", "Melanoma 41 %",
                     "Alerts: melanoma", "Decision: excise",
                     "melanoma 12 % → 41 %, alert now raised", "Model: SkinDesk 1.0 *",
                     "another model version", "not a diagnosis"):
        assert expected in text, expected
    assert "Model: SkinDesk 2.0 *" not in text  # the newest visit's model is the reference
    images = [image for page in reader.pages for image in page.images]
    assert len(images) == 3  # one thumbnail per visit


def test_an_unknown_lesion_is_named_with_the_ones_there_are(store) -> None:
    with pytest.raises(ReportError, match="no lesion 'right knee' \\(lesions: 'left scapula'\\)"):
        build_lesion_history(store, "P-77", "right knee")


def test_case_report_command(store, tmp_path, capsys) -> None:
    output = tmp_path / "cli.pdf"
    database = str(store.url.database)
    args = ["case", "report", "P-77", "--lesion", "left scapula", "-o", str(output),
            "--database", database]
    assert cli.main(args) == 0
    assert "3 visits" in capsys.readouterr().out and output.read_bytes()[:5] == b"%PDF-"
    assert cli.main(args) == 2
    assert "already exists" in capsys.readouterr().err


def test_the_patients_pane_writes_the_shown_lesions_report(qtbot, store, tmp_path) -> None:
    from skindesk.gui.patients_view import PatientsWindow

    window = PatientsWindow(store)
    qtbot.addWidget(window)
    window.patients.setCurrentRow(0)
    assert window.report_button.isEnabled()
    output = tmp_path / "pane.pdf"
    assert window.lesion_report(str(output))
    assert "left scapula" in " ".join(PdfReader(output).pages[0].extract_text().split())
