"""#15 in the CLI: 'not assessed' in ``classify`` output and counts, ``--gate-strictness``, and the
gate and quality limits in ``info``."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from skindesk import cli

MELANOMA_ALERT = [0.02, 0.02, 0.02, 0.6, 0.3, 0.01, 0.01, 0.01, 0.01]


def run_cli(capsys, *argv: str | Path) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def photos(tmp_path: Path, dermoscopy_images, dark_photo) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(dermoscopy_images[0], folder / "lesion.jpg")
    shutil.copy(dark_photo, folder / "dark.jpg")
    return folder


@pytest.fixture
def gate_model(fixed_probabilities_model, gate_card) -> Path:
    return fixed_probabilities_model(MELANOMA_ALERT, gate_card(), name="gate.onnx")


def _lines(out: str) -> dict[str, str]:
    return {Path(line.split()[0]).name: line for line in out.splitlines()[1:] if line.strip()}


def test_table_says_not_assessed_and_why_and_counts_it(capsys, photos, gate_model) -> None:
    code, out, err = run_cli(capsys, "classify", photos, "--model", gate_model, "--provider", "cpu")
    assert code == 0, err
    assert "STATUS / ALERTS / ERROR" in out.splitlines()[0]
    lines = _lines(out)
    assert lines["dark.jpg"].endswith("not assessed: the image is too dark to assess")
    assert "%" not in lines["dark.jpg"]  # no probability, no alert from a not-assessed image
    assert "review advised: melanoma 60 %" in lines["lesion.jpg"]
    assert "review advised 1" in err and "not assessed 1" in err

    code, out, err = run_cli(capsys, "classify", photos, "--model", gate_model, "--provider", "cpu",
                             "--gate-strictness", "strict")
    assert code == 0, err
    lines = _lines(out)
    assert lines["lesion.jpg"].endswith(
        "not assessed: this does not look like a dermoscopic image of a skin lesion")
    assert "review advised 0" in err and "not assessed 2" in err


def test_csv_and_json_hold_the_gate_quality_and_status(capsys, tmp_path, photos,
                                                       gate_model) -> None:
    out_csv = tmp_path / "r.csv"
    code, _, err = run_cli(capsys, "classify", photos, "--model", gate_model, "--provider", "cpu",
                           "-o", out_csv)
    assert code == 0, err
    with open(out_csv, encoding="utf-8-sig", newline="") as handle:
        rows = {Path(r["file"]).name: r for r in csv.DictReader(handle)}
    assert [rows["dark.jpg"][k] for k in ("out_of_distribution", "quality", "status", "alerts")] == [
        "false", "too_dark", "not assessed", ""]
    assert [rows["lesion.jpg"][k] for k in ("out_of_distribution", "quality", "status")] == [
        "false", "", "review advised"]
    code, out, _ = run_cli(capsys, "classify", photos, "--model", gate_model, "--provider", "cpu",
                           "--format", "json", "--gate-strictness", "strict")
    results = {Path(r["file"]).name: r for r in json.loads(out)["results"]}
    assert results["lesion.jpg"]["out_of_distribution"] is True
    assert results["lesion.jpg"]["status"] == "not assessed" and results["lesion.jpg"]["alerts"] == []
    assert results["dark.jpg"]["quality"] == ["too_dark"]


def test_gate_strictness_errors_are_one_line(capsys, photos, gate_card, fixed_probabilities_model,
                                            test_model_path) -> None:
    no_levels = fixed_probabilities_model(MELANOMA_ALERT, gate_card(levels=None), name="n.onnx")
    code, out, err = run_cli(capsys, "classify", photos, "--model", no_levels, "--provider", "cpu",
                             "--gate-strictness", "lenient")
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        "skindesk classify: error: image-gate strictness 'lenient': this model has no validated "
        "image-gate levels; leave the strictness at the model's default"]
    levels = {"standard": 0.0, "strict": -6.0}
    two = fixed_probabilities_model(MELANOMA_ALERT, gate_card(levels=levels), name="two.onnx")
    code, _, err = run_cli(capsys, "classify", photos, "--model", two, "--provider", "cpu",
                           "--gate-strictness", "lenient")
    assert code == 2 and "'lenient' is not validated for this model (offered: standard, strict)" in err
    assert "Traceback" not in err
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["classify", str(photos), "--gate-strictness", "paranoid"])
    assert exit_info.value.code == 2 and "invalid choice: 'paranoid'" in capsys.readouterr().err


def test_info_shows_the_gate_levels_and_quality_limits(capsys, gate_model, test_model_path) -> None:
    code, out, err = run_cli(capsys, "info", "--model", gate_model, "--provider", "cpu")
    assert code == 0, err
    section = out[out.index("Image gate"):out.index("Alert operating points")]
    assert "test energy score (higher: less like dermoscopy); not assessed at or above 0" in section
    levels = [line for line in section.splitlines() if "threshold" in line and "/" in line]
    assert [line.split()[0:2] for line in levels] == [
        ["lenient", "threshold"], ["*", "standard"], ["strict", "threshold"]]
    assert levels[1].endswith("0.5 % / 0.6 %")
    assert "too dark        mean brightness under 77 of 255" in section
    info = json.loads(run_cli(capsys, "info", "--model", gate_model, "--json")[1])
    assert [(lv["name"], lv["default"]) for lv in info["gate"]["levels"]] == [
        ("lenient", False), ("standard", True), ("strict", False)]
    assert info["quality_limits"][0] == {"reason": "too small",
                                         "when": "the shorter side is under 64 pixels"}
    _, plain, _ = run_cli(capsys, "info", "--model", test_model_path, "--provider", "cpu")
    assert "no validated strictness levels" in plain and "image quality is not checked" in plain
