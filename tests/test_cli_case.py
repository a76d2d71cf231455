"""``skindesk case``: every sub-command end to end on a real SQLite store and a real model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from skindesk import cli


@pytest.fixture
def case(tmp_path: Path, capsys, monkeypatch):
    """Run ``skindesk case ...`` on a store in tmp_path: (status, stdout, stderr)."""
    monkeypatch.setenv("SKINDESK_DATABASE", str(tmp_path / "store" / "cases.sqlite"))

    def run(*args: str) -> tuple[int, str, str]:
        try:
            status = cli.main(["case", *map(str, args)])
        except SystemExit as exit_:  # argparse's usage errors and --help
            status = int(exit_.code or 0)
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        return status, out, err

    return run


def test_add_list_show_round_trip(case, image_folder, test_model_path) -> None:
    images = sorted(image_folder(count=2).iterdir())
    status, out, _ = case("add", "MRN-7", *images, "--lesion", "left shoulder", "--site",
                          "posterior torso", "--date", "2025-02-03", "--model", test_model_path)
    assert status == 0 and out.count(": added") == 2 and "Most likely" in out
    status, out, _ = case("list", "--json")
    assert json.loads(out) == [{"clinic_id": "MRN-7", "name": None, "birth_year": None,
                                "lesions": 1, "visits": 2, "last_visit": "2025-02-03"}]
    status, out, _ = case("show", "MRN-7")
    assert "Lesion 1: left shoulder (posterior torso)" in out
    assert out.count("2025-02-03 (entered)") == 2 and "change since first visit" in out
    document = json.loads(case("show", "MRN-7", "--json")[1])
    visits = document["lesions"][0]["visits"]
    assert len(visits[0]["results"][0]["probabilities"]) == 9
    assert visits[0]["results"][0]["model"]["sha256"]


def test_unreadable_image_is_reported_and_the_rest_added(case, image_folder, tmp_path,
                                                         test_model_path) -> None:
    good = next(image_folder(count=1).iterdir())
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff not really")
    status, out, err = case("add", "P", good, bad, "--model", test_model_path)
    assert status == 1 and "broken.jpg" in err and out.count(": added") == 1


def test_export_delete_import_backup_check(case, image_folder, test_model_path, tmp_path) -> None:
    case("add", "P-9", *image_folder(count=2).iterdir(), "--model", test_model_path)
    exported = tmp_path / "p9.zip"
    assert case("export", "P-9", "--output", exported)[0] == 0 and exported.is_file()
    status, _, err = case("delete", "P-9")
    assert status == 2 and "--yes" in err
    assert case("list", "--json")[1].count("P-9") == 1  # refused: still there
    status, out, _ = case("delete", "P-9", "--yes")
    assert status == 0 and "erased patient P-9 and 2 image(s)" in out
    assert json.loads(case("list", "--json")[1]) == []
    status, out, err = case("import", exported)
    assert status == 0 and "imported 1 patient(s)" in out and "importing: 2/2" in err
    backup = tmp_path / "all.zip"
    assert case("backup", "--output", backup)[0] == 0
    status, _, err = case("backup", "--output", backup)
    assert status == 2 and "already exists" in err
    status, out, _ = case("check")
    assert status == 0 and "no problems found" in out
    trail = json.loads(case("audit", "--json")[1])
    assert [e["action"] for e in trail].count("delete") == 1
    assert {"export", "import", "backup", "create"} <= {e["action"] for e in trail}
    assert "P-9" not in json.dumps(trail)  # entries name patients by their random uid only


@pytest.mark.parametrize("args, message", [
    (["show", "nobody"], "no patient with ID 'nobody'"),
    (["add", "P", "x.jpg", "--site", "elbow"], "invalid choice"),
    (["add", "P", "x.jpg", "--date", "03/02/2025"], "not a date in the form YYYY-MM-DD"),
    ([], "choose a sub-command"),
])
def test_bad_input_is_one_clear_line(case, args, message, tmp_path) -> None:
    from skindesk.cases import CaseStore

    CaseStore.open(str(tmp_path / "store" / "cases.sqlite")).close()
    status, _, err = case(*args)
    assert status == 2 and message in err.strip().splitlines()[-1]


def test_every_option_help_states_its_default(capsys) -> None:
    with pytest.raises(SystemExit):
        cli.main(["case", "add", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option in ("--database", "--lesion", "--site", "--date", "--dermatoscope"):
        assert option in text
    assert text.count("(default:") >= 6


def test_edit_decide_histology(case, image_folder, test_model_path) -> None:
    assert case("edit", "P-5", "--name", "Ann Example", "--birth-year", "1950", "--sex", "F",
                "--fitzpatrick", "III")[1] == "created patient P-5\n"
    case("add", "P-5", next(image_folder(count=1).iterdir()), "--lesion", "nose", "--model",
         test_model_path)
    assert case("edit", "P-5", "--notes", "prefers mornings")[1] == "updated patient P-5\n"
    status, _, err = case("decide", "1", "follow-up")
    assert status == 2 and "needs the interval in months" in err
    assert case("decide", "1", "follow-up", "--months", "3")[0] == 0
    assert case("histology", "1", "compound naevus", "--date", "2025-06-01")[0] == 0
    status, _, err = case("edit", "P-5", "--fitzpatrick", "9")
    assert status == 2 and "Fitzpatrick skin type '9'" in err
    out = case("show", "P-5")[1]
    assert "Patient P-5 — Ann Example, born 1950, female, Fitzpatrick 3" in out
    assert "notes: prefers mornings" in out and "histopathology: compound naevus" in out
    assert "decision: follow up in 3 months" in out
