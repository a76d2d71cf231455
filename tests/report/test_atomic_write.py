"""Reports are written atomically: a failure leaves no file, and nothing is overwritten unasked."""

from __future__ import annotations

import pytest

from skindesk.core.classifier import Classifier
from skindesk.report import PatientFields, ReportError, build_report
from skindesk.report import pdf as pdf_module
from skindesk.report.pdf import write_report_pdf


@pytest.fixture
def content(test_model_path, lesion_image):  # noqa: ANN001
    classifier = Classifier(test_model_path, provider="cpu")
    prediction = classifier.predict_file(lesion_image)
    return build_report(prediction, classifier.card, PatientFields(patient_id="A-1"),
                        sha256=classifier.sha256, provider=classifier.provider)


def test_a_failure_while_drawing_leaves_no_file(content, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("simulated failure half way")

    monkeypatch.setattr(pdf_module, "_single_blocks", broken)
    target = tmp_path / "out" / "report.pdf"
    target.parent.mkdir()
    with pytest.raises(ReportError, match="simulated failure"):
        write_report_pdf(content, target)
    assert list(target.parent.iterdir()) == []  # neither the PDF nor a temporary file


def test_a_failed_overwrite_keeps_the_old_file(content, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    target = tmp_path / "out" / "report.pdf"
    target.parent.mkdir()
    target.write_bytes(b"%PDF-old report")

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pdf_module, "_render", broken)
    with pytest.raises(ReportError, match="No space left"):
        write_report_pdf(content, target, overwrite=True)
    assert target.read_bytes() == b"%PDF-old report"
    assert [p.name for p in target.parent.iterdir()] == ["report.pdf"]


def test_an_existing_file_is_not_overwritten_without_permission(content, tmp_path) -> None:  # noqa: ANN001
    target = tmp_path / "report.pdf"
    target.write_bytes(b"keep me")
    with pytest.raises(ReportError, match="already exists"):
        write_report_pdf(content, target)
    assert target.read_bytes() == b"keep me"
    write_report_pdf(content, target, overwrite=True)
    assert target.read_bytes().startswith(b"%PDF-")


@pytest.mark.parametrize("name, problem", [("missing/report.pdf", "does not exist"),
                                           ("report.txt", "must end in .pdf")])
def test_bad_destinations_are_named(content, tmp_path, name, problem) -> None:  # noqa: ANN001
    with pytest.raises(ReportError, match=problem):
        write_report_pdf(content, tmp_path / name)


def test_writing_reports_does_not_drain_none(content, tmp_path) -> None:  # noqa: ANN001
    """Regression: PySide6 6.12.0 on Python 3.11 loses a reference to None per void call; after
    a few dozen reports the interpreter aborted with 'none_dealloc'. pyproject.toml pins
    PySide6 below 6.12; this fails if a release with the bug comes back."""
    import sys

    write_report_pdf(content, tmp_path / "warm-up.pdf")
    before = sys.getrefcount(None)
    for i in range(3):
        write_report_pdf(content, tmp_path / f"r{i}.pdf")
    assert sys.getrefcount(None) >= before - 50


def test_a_report_into_a_device_or_fifo_keeps_it_what_it_is(content, tmp_path, device_node) -> None:  # noqa: ANN001
    import os
    import stat
    import threading

    write_report_pdf(content, device_node, overwrite=True)
    assert stat.S_ISCHR(device_node.stat().st_mode)
    fifo = tmp_path / "report.pdf"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    write_report_pdf(content, fifo, overwrite=True)
    reader.join(30)
    assert received and received[0].startswith(b"%PDF-")
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".skindesk")]
