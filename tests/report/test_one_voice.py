"""One voice: every output says an alert the same way, in one percent style, with the limitation.

The CLI table, CSV, JSON, ``skindesk info`` and the single and batch PDF reports are produced for
real (a benign top class with melanoma 23 % above its 12 % alert threshold) and read back.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from skindesk import cli
from skindesk.core.wording import LIMITATION

PHRASE = "melanoma 23 % ≥ alert threshold 12 %"
MACHINE = re.compile(r"[a-z]:\d?\.\d+\s*>=|>=")  # e.g. melanoma:0.23>=0.12
GLUED_PERCENT = re.compile(r"\d%")  # "68%" where every output writes "68 %"


@pytest.fixture
def alert_model(fixed_probabilities_model, pdf):  # noqa: ANN001
    return fixed_probabilities_model(pdf.probabilities(nevus=0.6, melanoma=0.23), name="alert.onnx")


def _cli(capsys, *argv: str | Path) -> str:  # noqa: ANN001
    assert cli.main([str(a) for a in argv]) in (0, 1)
    captured = capsys.readouterr()
    return captured.out + captured.err


def _pdf_text(path: Path) -> str:
    """The PDF's text in content order (``pdftotext -raw``: the reading-order mode may glue a
    short number to the '%' after it, which is not what the page shows)."""
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.skip("pdftotext not installed (Debian/Ubuntu: apt-get install poppler-utils)")
    return subprocess.run([tool, "-raw", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def _check(text: str, where: str) -> None:
    assert not MACHINE.search(text), f"{where}: machine-style alert in {text!r}"
    assert not GLUED_PERCENT.search(text), f"{where}: '%' glued to a number in {text!r}"


def test_every_output_says_the_alert_the_same_way(alert_model, lesion_image, tmp_path, pdf,  # noqa: ANN001
                                                   capsys) -> None:  # noqa: ANN001
    model = ["--model", alert_model]
    outputs = {}
    outputs["table"] = _cli(capsys, "classify", lesion_image, *model)
    csv_path, json_path = tmp_path / "results.csv", tmp_path / "results.json"
    _cli(capsys, "classify", lesion_image, *model, "--format", "csv", "--output", csv_path)
    outputs["csv"] = csv_path.read_text(encoding="utf-8-sig")
    _cli(capsys, "classify", lesion_image, *model, "--format", "json", "--output", json_path)
    outputs["json"] = json_path.read_text(encoding="utf-8")
    single, batch = tmp_path / "single.pdf", tmp_path / "batch.pdf"
    _cli(capsys, "report", lesion_image, *model, "--patient-id", "P-1", "--output", single)
    outputs["single report"] = _pdf_text(single)
    _cli(capsys, "report", "--batch", csv_path, "--output", batch)
    outputs["batch report"] = _pdf_text(batch)
    for where, text in outputs.items():
        _check(text, where)
        assert PHRASE in " ".join(text.split()), f"{where} lacks '{PHRASE}'"
    limitation = " ".join(LIMITATION.split())
    for where in ("single report", "batch report"):
        assert limitation in " ".join(outputs[where].split()), f"{where} lacks the limitation"
        assert "Clinic not set" not in outputs[where]
    info = _cli(capsys, "info", *model)
    _check(info, "info")
    assert LIMITATION.removeprefix("Limitation: ")[:60] in " ".join(info.split())
