"""``skindesk classify`` end to end, in subprocesses: outputs, exit codes, kill + --resume."""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from skindesk.commands import classify
from skindesk.core.classes import NINE_CLASSES
from skindesk.core.results import read_results_csv
from skindesk.core.testmodels import build_test_model, test_card

REPO = Path(__file__).resolve().parents[1]
CLASSES = [row[0] for row in NINE_CLASSES]


def cli(*args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "skindesk", "classify", *map(str, args)],
        capture_output=True, text=True, timeout=timeout, cwd=REPO,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )


def _fill(folder: Path, count: int, size=(64, 48), seed=0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for index in range(count):
        pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"img_{index:04d}.jpg")


@pytest.fixture(scope="module")
def model_224(tmp_path_factory) -> Path:
    return build_test_model(tmp_path_factory.mktemp("m") / "m224.onnx", test_card(size=224))


@pytest.fixture
def review_model(fixed_probabilities_model) -> Path:
    """Benign top class (nevus 0.70) with melanoma 0.16: above the 90 % threshold 0.12 only."""
    probabilities = np.full(9, 0.02)
    probabilities[CLASSES.index("nevus")] = 0.70
    probabilities[CLASSES.index("melanoma")] = 0.16
    return fixed_probabilities_model(probabilities / probabilities.sum())


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_killed_run_keeps_its_rows_and_resume_completes_it_exactly(tmp_path, model_224):
    folder = tmp_path / "photos"
    _fill(folder, 160, size=(320, 240))
    _fill(folder / "sub ü", 20, seed=1)
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "readme.jpg").write_text("not a photo")
    common = [folder, "--recursive", "--model", model_224, "--batch-size", "4", "--workers", "1"]

    whole = tmp_path / "whole.csv"
    done = cli(*common, "--output", whole)
    assert done.returncode == 1, done.stderr  # two files are not images
    expected = _csv_rows(whole)
    assert len(expected) == 182

    killed = tmp_path / "killed.csv"
    process = subprocess.Popen(
        [sys.executable, "-m", "skindesk", "classify", *map(str, common), "--output", str(killed)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if killed.exists() and killed.read_bytes().count(b"\n") > 20:
            break
        time.sleep(0.002)
    still_running = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert still_running, "the run ended before it could be killed; make the folder larger"
    kept = read_results_csv(killed)
    assert 20 <= len(kept.rows) < 182
    assert kept.dropped_lines <= 1
    assert [r.file for r in kept.rows] == [row["file"] for row in expected[: len(kept.rows)]]

    resumed = cli(*common, "--output", killed, "--resume")
    assert resumed.returncode == 1, resumed.stderr
    assert f"{len(kept.rows)} file(s) already done" in resumed.stderr
    final = _csv_rows(killed)
    assert [r["file"] for r in final] == [r["file"] for r in expected]  # each file once, in order
    for got, want in zip(final, expected):
        assert got.keys() == want.keys()
        for key in want:
            if key in CLASSES and want[key]:
                assert float(got[key]) == pytest.approx(float(want[key]), abs=2e-6)
            else:
                assert got[key] == want[key], key


def test_review_advised_in_csv_and_json_and_operating_point_changes_it(tmp_path, review_model):
    image = tmp_path / "lesion.png"
    Image.fromarray(np.full((40, 40, 3), 120, np.uint8)).save(image)

    out = cli(image, "--model", review_model, "--format", "csv")
    assert out.returncode == 0, out.stderr
    row = next(csv.DictReader(out.stdout.splitlines()))
    assert row["top_class"] == "nevus" and row["malignant"] == "false"
    assert row["review_advised"] == "true"
    assert row["alerts"] == "melanoma 16 % ≥ alert threshold 12 %"
    assert "melanoma 90 %" in row["operating_point"]

    out = cli(image, "--model", review_model, "--format", "json", "--top-k", "2")
    document = json.loads(out.stdout)
    result = document["results"][0]
    assert result["review_advised"] is True
    assert result["alerts"][0]["class"] == "melanoma"
    assert [k["class"] for k in result["top_k"]] == ["nevus", "melanoma"]

    out = cli(image, "--model", review_model, "--format", "csv", "--sensitivity", "0.8")
    row = next(csv.DictReader(out.stdout.splitlines()))
    assert row["review_advised"] == "false" and row["alerts"] == ""

    out = cli(image, "--model", review_model, "--sensitivity", "0.7")
    assert out.returncode == 2
    assert "0.7 is not a validated operating point" in out.stderr and "Traceback" not in out.stderr

    table = cli(image, "--model", review_model)
    assert "YES" in table.stdout and "melanoma 16 % ≥ alert threshold 12 %" in table.stdout


def test_table_output_progress_and_exit_codes(tmp_path, test_model_path):
    folder = tmp_path / "few"
    _fill(folder, 3)
    out = cli(folder, "--model", test_model_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("FILE") and len(lines) == 4
    assert "3/3" in out.stderr and "images/s" in out.stderr and "ETA" in out.stderr

    single = cli(folder / "img_0000.jpg", "--model", test_model_path)
    assert single.returncode == 0 and "images/s" not in single.stderr

    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    out = cli(folder, "--model", test_model_path, "--format", "csv")
    assert out.returncode == 1
    rows = list(csv.DictReader(out.stdout.splitlines()))
    assert len(rows) == 4 and sum(bool(r["error"]) for r in rows) == 1


def test_output_files_are_never_silently_replaced(tmp_path, test_model_path):
    folder = tmp_path / "few"
    _fill(folder, 2)
    for name in ("results.csv", "results.json"):
        target = tmp_path / name
        target.write_text("precious\n")
        out = cli(folder, "--model", test_model_path, "--output", target)
        assert out.returncode == 2 and "already exists" in out.stderr
        assert target.read_text() == "precious\n"
        out = cli(folder, "--model", test_model_path, "--output", target, "--overwrite")
        assert out.returncode == 0, out.stderr
        assert target.read_text() != "precious\n"
    assert len(json.loads((tmp_path / "results.json").read_text())["results"]) == 2


def test_usage_and_model_errors_exit_2_without_traceback(tmp_path, test_model_path):
    image = tmp_path / "x.jpg"
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(image)
    bad_model = tmp_path / "bad.onnx"
    bad_model.write_bytes(Path(test_model_path).read_bytes()[:-100])
    cases = [
        ([image, "--model", tmp_path / "missing.onnx"], "file not found"),
        ([image, "--model", bad_model], "model"),
        ([image, "--model", test_model_path, "--resume"], "--resume needs a CSV --output"),
        ([image, "--model", test_model_path, "-o", tmp_path / "r.csv", "--resume", "--overwrite"],
         "cannot be used together"),
        ([image, "--model", test_model_path, "--batch-size", "0"], "at least 1"),
        ([image, "--model", test_model_path, "-f", "table", "-o", tmp_path / "t.txt"],
         "--format table is for the terminal"),
    ]
    for args, message in cases:
        out = cli(*args)
        assert out.returncode == 2, (args, out.stderr)
        assert message in out.stderr and "Traceback" not in out.stderr


def test_every_help_string_says_its_default():
    parser = argparse.ArgumentParser()
    sub = classify.add_parser(parser.add_subparsers())
    for action in sub._actions:
        if action.help is argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
            continue
        assert "default" in action.help, action.option_strings or action.dest



def test_output_to_a_device_or_fifo_keeps_it_what_it_is(tmp_path, test_model_path, device_node):
    """Run as root, ``--output /dev/null --overwrite`` once replaced the device with a file."""
    image = tmp_path / "a.jpg"
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(image)
    for fmt in ("json", "csv"):
        result = cli(image, "--model", test_model_path, "--format", fmt, "--output", device_node,
                     "--overwrite")
        assert result.returncode == 0, result.stderr
        assert stat.S_ISCHR(device_node.stat().st_mode)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE, text=True)
    result = cli(image, "--model", test_model_path, "--format", "json", "--output", fifo,
                 "--overwrite")
    out, _ = reader.communicate(timeout=30)
    assert result.returncode == 0, result.stderr
    assert json.loads(out)["results"][0]["file"] == str(image)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg", "null", "pipe"]
