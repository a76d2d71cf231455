"""``skindesk-train gate-check``: the share the app declines to assess, per kind of input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from skindesk.core import testmodels
from training.cli import main

DATA = Path(__file__).parents[1] / "data"


@pytest.fixture
def model(tmp_path: Path) -> Path:
    card = testmodels.test_card()
    card["quality"] = json.loads((DATA / "pool_quality_limits.json").read_text())
    card["ood"] = {"threshold": 0.0, "levels": {"lenient": 1.0, "standard": 0.0, "strict": -9.0}}
    bias = (np.log(np.full(9, 1 / 9)) + 5.0).astype(np.float32)  # gate score -5: lets images in
    return testmodels.build_test_model(tmp_path / "m.onnx", card, weights=np.zeros((3, 9), np.float32),
                                       bias=bias)


def test_kinds_from_sub_folders_and_generated_images(model: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    inputs = tmp_path / "inputs"
    shutil.copytree(DATA / "dermoscopy", inputs / "dermoscopy", ignore=shutil.ignore_patterns("*.csv"))
    (inputs / "dark").mkdir()
    for file in sorted((DATA / "dermoscopy").glob("*.jpg"))[:3]:
        dark = ImageEnhance.Brightness(Image.open(file).convert("RGB").resize((600, 450))).enhance(0.1)
        dark.save(inputs / "dark" / file.name)
    out = tmp_path / "report.json"
    assert main(["gate-check", str(model), str(inputs), "--generated", "2", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["inputs/dermoscopy"]["not_assessed"] == 0.0 and report["inputs/dermoscopy"]["images"] == 6
    assert report["inputs/dark"] == {"images": 3, "unreadable": 0, "not_assessed": 1.0, "gate": 0.0,
                                     "quality": 1.0, "reasons": {"too_dark": 3}}
    assert report["generated solid colour"]["not_assessed"] == 1.0  # no contrast at all
    assert "inputs/dark" in capsys.readouterr().out
    # The strict level's threshold (-9) is below the images' gate score: everything is gated.
    assert main(["gate-check", str(model), str(inputs / "dermoscopy"), "--generated", "0",
                 "--strictness", "strict", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["dermoscopy"]["gate"] == 1.0


def test_bad_arguments_are_one_line_errors(model: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gate-check", str(model), str(tmp_path / "missing")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert main(["gate-check", str(model), "--generated", "0"]) == 2
    assert "nothing to check" in capsys.readouterr().err
    assert main(["gate-check", str(model), "--strictness", "paranoid"]) == 2
    assert "not validated" in capsys.readouterr().err
