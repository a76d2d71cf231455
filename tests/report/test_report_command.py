"""The ``skindesk report`` verb through ``run(args)``, and once as a headless subprocess."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from skindesk.commands import report as report_command


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="skindesk")
    report_command.add_parser(parser.add_subparsers(dest="command"))
    return report_command.run(parser.parse_args(["report", *argv]))


@pytest.fixture
def alert_model(fixed_probabilities_model, pdf):  # noqa: ANN001
    return fixed_probabilities_model(pdf.probabilities(nevus=0.6, melanoma=0.23), name="alert.onnx")


def test_single_report(alert_model, lesion_image, tmp_path, pdf, capsys) -> None:  # noqa: ANN001
    out = tmp_path / "r.pdf"
    code = _run([str(lesion_image), "--output", str(out), "--patient-id", "Ø-17",
                 "--patient-name", "Åsa Øberg 王小明", "--clinic", "Clinique Genève",
                 "--model", str(alert_model), "--provider", "cpu", "--paper", "letter"])
    assert code == 0
    text = pdf.text(out)
    assert "Ø-17" in text and "Åsa Øberg 王小明" in text and "Clinique Genève" in text
    assert "REVIEW ADVISED" in text and "Melanoma 23 %" in text
    assert pdf.info(out)["Page size"].startswith("612 x 792")
    assert "Review advised" in capsys.readouterr().out


def test_sensitivity_option_changes_the_outcome(alert_model, lesion_image, tmp_path, pdf) -> None:  # noqa: ANN001
    out = tmp_path / "r.pdf"
    assert _run([str(lesion_image), "-o", str(out), "--patient-id", "X", "--model",
                 str(alert_model), "--sensitivity", "0.8", "--no-heatmap"]) == 0
    assert "REVIEW ADVISED" not in pdf.text(out)
    bad = _run([str(lesion_image), "-o", str(tmp_path / "b.pdf"), "--patient-id", "X",
                "--model", str(alert_model), "--sensitivity", "0.77"])
    assert bad == 2 and not (tmp_path / "b.pdf").exists()


def test_never_overwrites_without_permission(alert_model, lesion_image, tmp_path, capsys) -> None:  # noqa: ANN001
    out = tmp_path / "r.pdf"
    out.write_bytes(b"old")
    argv = [str(lesion_image), "-o", str(out), "--patient-id", "X", "--model", str(alert_model)]
    assert _run(argv) == 2
    assert "already exists" in capsys.readouterr().err and out.read_bytes() == b"old"
    assert _run([*argv, "--overwrite"]) == 0 and out.read_bytes().startswith(b"%PDF-")


@pytest.mark.parametrize("argv, problem", [
    (["-o", "{tmp}/r.pdf", "--patient-id", "X"], "no IMAGE"),
    (["{image}", "-o", "{tmp}/r.pdf"], "--patient-id is required"),
    (["{image}", "-o", "{tmp}/r.txt", "--patient-id", "X"], "must end in .pdf"),
    (["{tmp}/missing.jpg", "-o", "{tmp}/r.pdf", "--patient-id", "X", "--model", "{model}"],
     "missing.jpg"),
    (["{image}", "-o", "{tmp}/r.pdf", "--patient-id", "X", "--model", "{tmp}/none.onnx"],
     "file not found"),
])
def test_bad_input_gives_one_clear_line(argv, problem, alert_model, lesion_image, tmp_path,  # noqa: ANN001
                                        capsys) -> None:
    values = {"tmp": tmp_path, "image": lesion_image, "model": alert_model}
    assert _run([a.format(**values) for a in argv]) == 2
    err = capsys.readouterr().err
    assert problem in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r.pdf").exists()


def test_heatmap_caption_names_the_alert_class_under_a_benign_top_class(
    alert_model, lesion_image, tmp_path, pdf  # noqa: ANN001
) -> None:
    alerted, plain = tmp_path / "alert.pdf", tmp_path / "plain.pdf"
    common = ["--patient-id", "X", "--model", str(alert_model)]
    assert _run([str(lesion_image), "-o", str(alerted), *common]) == 0
    assert _run([str(lesion_image), "-o", str(plain), *common, "--sensitivity", "0.8"]) == 0
    assert "Heat map: where the model looked for melanoma" in pdf.text(alerted)  # nevus is top
    assert "Heat map: where the model looked for nevus" in pdf.text(plain)  # no alert at 80 %


@pytest.fixture
def batch_csv(tmp_path: Path) -> Path:
    path = tmp_path / "results.csv"
    path.write_text(
        "file,top_class,top_probability,malignant,review_advised,alerts,uncertain,"
        "out_of_distribution,error\n"
        "b.jpg,nevus,0.9,false,false,,false,false,\n"
        "a.jpg,nevus,0.6,false,true,melanoma:0.23>=0.12,false,false,\n"
        "c.jpg,,,,,,,,cannot identify image file\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("given, named", [
    (["--patient-id", "P-1"], "--patient-id"),
    (["--patient-name", "Ann", "--birth-date", "1961-04-03"], "--patient-name, --birth-date"),
    (["--body-site", "back"], "--body-site"),
    (["--clinician", "Dr. Ø"], "--clinician"),
    (["--notes", "x"], "--notes"),
    (["--patient-id", ""], "--patient-id"),
])
def test_batch_report_refuses_patient_fields(given, named, batch_csv, tmp_path, capsys) -> None:  # noqa: ANN001
    out = tmp_path / "batch.pdf"
    assert _run(["--batch", str(batch_csv), "-o", str(out), *given]) == 2
    err = capsys.readouterr().err
    assert f"error: {named}: patient fields are refused with --batch" in err
    assert "several patients" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("given, named", [
    (["--sensitivity", "0.9"], "--sensitivity"), (["--model", "other.onnx"], "--model")])
def test_batch_report_refuses_a_model_or_operating_point_it_would_not_use(
    given, named, batch_csv, tmp_path, capsys  # noqa: ANN001
) -> None:
    out = tmp_path / "batch.pdf"
    assert _run(["--batch", str(batch_csv), "-o", str(out), *given]) == 2
    err = capsys.readouterr().err
    assert f"error: {named}: refused with --batch" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_batch_report_takes_the_clinic_and_counts_unreadable_files_apart(
    batch_csv, tmp_path, pdf, capsys  # noqa: ANN001
) -> None:
    out = tmp_path / "batch.pdf"
    assert _run(["--batch", str(batch_csv), "-o", str(out), "--clinic", "Praxis Süd"]) == 0
    assert "3 files: 2 classified, 1 not analysed; 1 review advised" in capsys.readouterr().out
    text = pdf.text(out)
    assert "Praxis Süd" in text and "Nevus 2 100 %" in text and "c.jpg" in text


def test_batch_report_headless_subprocess(tmp_path: Path, pdf) -> None:  # noqa: ANN001
    csv_path = tmp_path / "results.csv"
    csv_path.write_text(
        "file,top_class,top_probability,malignant,review_advised,alerts,uncertain,"
        "out_of_distribution,error\n"
        "b.jpg,nevus,0.9,false,false,,false,false,\n"
        "a.jpg,nevus,0.6,false,true,melanoma:0.23>=0.12,false,false,\n",
        encoding="utf-8",
    )
    out = tmp_path / "batch.pdf"
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    root = Path(__file__).resolve().parents[2]
    env["PYTHONPATH"] = str(root) + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from skindesk.cli import main; sys.exit(main())",
         "report", "--batch", str(csv_path), "--output", str(out)],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    text = pdf.text(out)
    assert text.index("a.jpg") < text.index("b.jpg")


def test_a_report_into_a_device_keeps_the_device(alert_model, lesion_image, device_node) -> None:  # noqa: ANN001
    import stat

    assert _run([str(lesion_image), "--output", str(device_node), "--patient-id", "X",
                 "--model", str(alert_model), "--overwrite"]) == 0
    assert stat.S_ISCHR(device_node.stat().st_mode)
