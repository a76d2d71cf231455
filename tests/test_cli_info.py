"""``skindesk info``: the model card, integrity, provider and operating points, and its errors."""

from __future__ import annotations

import hashlib
import json

import pytest

from skindesk import cli
from skindesk.core.modelcard import read_model
from skindesk.core.testmodels import test_card as make_card


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_text_report_shows_the_whole_card(test_model_path, capsys):
    code, out, err = run_cli(capsys, "info", "--model", str(test_model_path))
    assert code == 0, err
    card = make_card()
    assert out.startswith(f"{card['name']} {card['version']}\n")
    for entry in card["classes"]:
        assert entry["display_name"] in out
    assert "Melanoma" in out and "malignant" in out and "pre-malignant" in out
    assert hashlib.sha256(test_model_path.read_bytes()).hexdigest() in out
    assert read_model(test_model_path)[2] in out
    assert "verified" in out
    for text in ("test-linear", card["licence"], card["intended_use"], "NHWC 32x32x3",
                 "bilinear resize (squash)", "shrink to about 30000 pixels",
                 card["training_data"]["fingerprint"], "not a diagnosis", "below 50.0 %"):
        assert text in out, text


def test_operating_point_table(test_model_path, capsys):
    code, out, _ = run_cli(capsys, "info", "--model", str(test_model_path), "--provider", "cpu")
    assert code == 0
    rows = [line for line in out.splitlines() if "melanoma" in line and "%" in line]
    assert len(rows) == 4
    default = [line for line in rows if line.startswith("*")]
    assert len(default) == 1 and "90 %" in default[0] and "12.0 %" in default[0]
    assert "91.0 % [85.0 %–95.0 %]" in default[0] and "70.0 % [65.0 %–75.0 %]" in default[0]
    assert "Sensitivities a clinic can choose (--sensitivity): 80 %, 85 %, 90 %, 95 %" in out


def test_json_report(test_model_path, capsys):
    code, out, _ = run_cli(capsys, "info", "--model", str(test_model_path), "--json")
    assert code == 0
    info = json.loads(out)
    assert info["file_sha256"] == hashlib.sha256(test_model_path.read_bytes()).hexdigest()
    assert info["content_sha256"] == read_model(test_model_path)[2]
    assert info["card"]["name"] == make_card()["name"]
    assert info["provider"] in ("CPU", "CUDA") and info["providers"]
    melanoma = info["operating_points"]["melanoma"]
    assert [row["default"] for row in melanoma] == [False, False, True, False]
    assert info["available_sensitivities"] == [0.8, 0.85, 0.9, 0.95]
    assert info["flagged_without_operating_points"] == []


def test_cpu_provider_has_no_cuda_note(test_model_path, capsys):
    code, out, _ = run_cli(capsys, "info", "--model", str(test_model_path), "--provider", "cpu",
                           "--json")
    info = json.loads(out)
    assert code == 0 and info["provider"] == "CPU" and info["provider_note"] == ""
    assert info["requested_provider"] == "cpu"


def test_cuda_asked_and_not_obtained_says_why(test_model_path, capsys):
    code, out, err = run_cli(capsys, "info", "--model", str(test_model_path), "--provider", "cuda")
    assert code == 0
    provider_line = next(line for line in out.splitlines() if line.strip().startswith("provider"))
    if "CUDAExecutionProvider" in provider_line.split("(")[1]:  # pragma: no cover - GPU machine
        assert "not obtained" not in out
    else:
        assert "CPU (CPUExecutionProvider)" in provider_line
        assert "CUDA was asked for and not obtained:" in out
        assert "running on CPU" in out
    assert "onnxruntime" not in err.lower()  # the noisy CUDA loader lines stay hidden


def test_model_without_operating_points_says_so(make_test_model, capsys):
    path = make_test_model(make_card(operating_points=None))
    code, out, _ = run_cli(capsys, "info", "--model", str(path))
    assert code == 0
    assert "This model has no validated alert thresholds" in out
    assert "probabilities only" in out
    assert "* melanoma" not in out


def test_flagged_class_without_operating_points_is_named(make_test_model, capsys):
    card = make_card()
    del card["operating_points"]["classes"]["squamous cell carcinoma"]
    del card["operating_points"]["default_sensitivity"]["squamous cell carcinoma"]
    code, out, _ = run_cli(capsys, "info", "--model", str(make_test_model(card)))
    assert code == 0
    assert "squamous cell carcinoma: no validated operating point; this class never raises" in out


def test_per_source_figures_are_shown(make_test_model, capsys):
    card = make_card()
    row = card["operating_points"]["classes"]["melanoma"][2]
    row["per_source"] = {
        "ham10000": {"validation": {"sensitivity": 0.93, "specificity": 0.72}},
        "isic2017": {"sensitivity": 0.81, "specificity": 0.55, "sensitivity_ci": [0.7, 0.9]},
    }
    code, out, _ = run_cli(capsys, "info", "--model", str(make_test_model(card)))
    assert code == 0
    assert "ham10000: validation sens 93.0 % spec 72.0 %" in out
    assert "isic2017: sens 81.0 % [70.0 %–90.0 %] spec 55.0 %" in out


def test_missing_default_model_is_explained(tmp_path, monkeypatch, capsys):
    missing = tmp_path / "models" / "skindesk.onnx"
    monkeypatch.setenv("SKINDESK_MODEL", str(missing))
    code, out, err = run_cli(capsys, "info")
    assert code == 2 and out == ""
    assert err == f"skindesk: error: no model installed at {missing}; pass --model FILE\n"


@pytest.mark.parametrize("damage, message", [
    ("tamper", "integrity check failed"),
    ("truncate", "not a valid ONNX file"),
    ("missing", "file not found"),
])
def test_bad_models_give_one_line_and_exit_2(test_model_path, tmp_path, capsys, damage, message):
    path = tmp_path / "bad.onnx"
    data = test_model_path.read_bytes()
    if damage == "tamper":
        path.write_bytes(data[:1000] + bytes([data[1000] ^ 0xFF]) + data[1001:])
    elif damage == "truncate":
        path.write_bytes(data[:500])
    code, out, err = run_cli(capsys, "info", "--model", str(path))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"skindesk: error: model {path}:") and message in err


def test_help_says_every_default(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["info", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--model", "--provider", "--json"):
        assert option in out
    assert out.count("(default:") == 3
    assert "skindesk.onnx" in out


def test_bad_provider_is_a_usage_error(test_model_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["info", "--model", str(test_model_path), "--provider", "tpu"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'tpu'" in capsys.readouterr().err


def test_a_long_model_path_and_digests_are_printed_whole(test_model_path, tmp_path, capsys):
    """From a clone in a deep folder, info once wrapped the model path (a user copies it)."""
    import shutil

    folder = tmp_path / ("a-rather-deep-clinic-folder-" * 4) / "with spaces in it" / "models"
    folder.mkdir(parents=True)
    model = shutil.copy(test_model_path, folder / "skindesk.onnx")
    assert len(str(model)) > 150
    code, out, _ = run_cli(capsys, "info", "--model", str(model))
    assert code == 0
    lines = out.splitlines()
    assert any(line.endswith(str(model)) for line in lines)
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    assert any(digest in line and "sha256sum" in line for line in lines)
    assert any("content sha256" in line and "model card" in line for line in lines)
