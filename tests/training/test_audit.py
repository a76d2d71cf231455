"""The audit finds exactly the planted defects, in both layouts, and the CLI reports them."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training import audit as audit_module
from training.audit import (CANDIDATE_DISTANCE, NEAR_CORRELATION, audit, compute_infos, flagged_images,
                            image_info)
from training.cli import main
from training.data import load_dataset


def _groups(report) -> dict[tuple[str, ...], str]:  # noqa: ANN001
    return {tuple(g.files): g.kind for g in report.groups}


def test_tree_audit_finds_exactly_the_planted_defects(tiny_tree: Path, planted) -> None:
    report = audit(load_dataset(tiny_tree), cache_path=None, progress=False)
    assert _groups(report) == planted.groups
    assert [tuple(g.files) for g in report.conflicts] == [planted.conflict]
    assert [tuple(g.files) for g in report.image_leaks] == [planted.leak]
    assert report.lesion_leaks == []
    assert [u["file"] for u in report.unreadable] == [planted.unreadable]
    assert [(t["file"], t["width"], t["height"]) for t in report.tiny] == [(planted.tiny, 12, 10)]
    assert report.failed
    counts = report.counts()
    assert counts["train"]["nevus"] == 6 and counts["test"]["nevus"] == 3


def test_clean_data_has_no_findings(clean_tree: Path) -> None:
    report = audit(load_dataset(clean_tree), cache_path=None, progress=False)
    assert report.groups == [] and report.unreadable == [] and report.tiny == []
    assert not report.failed


def test_csv_audit_with_split_file_finds_lesion_and_image_leaks(tiny_csv: dict) -> None:
    records = load_dataset(tiny_csv["csv"])
    plain = audit(records, cache_path=None, progress=False)
    assert _groups(plain) == tiny_csv["groups"]
    assert [tuple(g.files) for g in plain.conflicts] == [("img/conflict.jpg", "img/nev1.jpg")]
    assert plain.split_source is None and plain.lesion_leaks == [] and plain.image_leaks == []
    split = audit(records, split_file=tiny_csv["split"], cache_path=None, progress=False)
    assert [leak["lesion_id"] for leak in split.lesion_leaks] == [tiny_csv["lesion_leak"]]
    assert [tuple(g.files) for g in split.image_leaks] == [tiny_csv["image_leak"]]


def test_flagged_images_keeps_one_copy_and_drops_conflicts(tiny_tree: Path, planted) -> None:
    flags = flagged_images(load_dataset(tiny_tree), cache_path=None, progress=False)
    expected = {"Train/nevus/zz_copy.jpg", "Train/melanoma/m0_small.jpg", "Train/nevus/n2.jpg",
                *planted.conflict, planted.unreadable, planted.tiny}
    assert set(flags) == expected
    assert flags["Train/nevus/zz_copy.jpg"] == "duplicate of Train/nevus/n0.jpg"
    assert flags["Train/nevus/n2.jpg"] == "duplicate of Test/nevus/leak.jpg"
    assert flags["Train/melanoma/m0_small.jpg"].startswith("duplicate of Train/melanoma/m0.png")
    assert flags["Train/melanoma/m1.jpg"] == "label conflict with Train/dermatofibroma/d_conflict.jpg (dermatofibroma)"
    assert flags["Train/dermatofibroma/d_conflict.jpg"] == "label conflict with Train/melanoma/m1.jpg (melanoma)"
    assert flags[planted.unreadable].startswith("unreadable: ")


def test_near_duplicate_rule_survives_reencoding_but_separates_images(tmp_path: Path, planted) -> None:
    original = planted.lesion_image(7, (200, 150))
    original.save(tmp_path / "a.png")
    original.resize((180, 180), Image.Resampling.BILINEAR).save(tmp_path / "b.jpg", quality=75)
    planted.lesion_image(8, (200, 150)).save(tmp_path / "c.png")
    a, b, c = (image_info(tmp_path / n) for n in ("a.png", "b.jpg", "c.png"))

    def corr(x, y) -> float:  # noqa: ANN001
        x, y = (v.astype(float) - v.mean() for v in (x.thumb, y.thumb))
        return float(x @ y / np.linalg.norm(x) / np.linalg.norm(y))

    assert bin(a.phash ^ b.phash).count("1") <= CANDIDATE_DISTANCE and corr(a, b) >= NEAR_CORRELATION
    assert bin(a.phash ^ c.phash).count("1") > CANDIDATE_DISTANCE or corr(a, c) < NEAR_CORRELATION


def test_hashes_are_cached_and_reused(tiny_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    records = load_dataset(tiny_tree)
    cache = tmp_path / "hashes.json"
    first = compute_infos(records, cache_path=cache, progress=False)
    assert cache.is_file()

    def refuse(path):  # noqa: ANN001, ANN202
        raise AssertionError(f"{path} hashed again despite the cache")

    monkeypatch.setattr(audit_module, "image_info", refuse)
    second = compute_infos(records, cache_path=cache, progress=False)
    assert [i.sha256 for i in second] == [i.sha256 for i in first]
    assert [i.phash for i in second] == [i.phash for i in first]


def test_cli_summary_json_and_strict_exit_codes(tiny_tree: Path, planted, clean_tree: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "audit.json"
    assert main(["audit", str(tiny_tree), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Label conflicts (same picture, different classes): 1" in text
    assert "Leakage across splits: 1 pictures, lesions not checked" in text
    data = json.loads(out.read_text())
    assert {"duplicate_groups", "label_conflicts", "leaks", "unreadable", "tiny", "counts"} <= set(data)
    groups = {tuple(g["files"]): g for g in data["duplicate_groups"]}
    assert {k: g["kind"] for k, g in groups.items()} == planted.groups
    assert groups[planted.conflict]["labels"] == ["dermatofibroma", "melanoma"]
    assert all(len(g["labels"]) == len(g["files"]) for g in groups.values())
    assert [leak["files"] for leak in data["leaks"]] == [list(planted.leak)]
    assert main(["audit", str(tiny_tree), "--strict"]) == 1
    assert main(["audit", str(clean_tree), "--strict"]) == 0


def test_cli_bad_input_is_a_message_not_a_traceback(tmp_path: Path, tiny_csv: dict,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "missing: no such file or folder" in err and "Traceback" not in err
    bad_split = tmp_path / "split.json"
    bad_split.write_text(json.dumps({"train": ["img/nope.jpg"]}))
    assert main(["audit", str(tiny_csv["csv"]), "--split", str(bad_split)]) == 2
    assert "not in the data" in capsys.readouterr().err


def test_progress_is_printed_while_hashing(tiny_tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    compute_infos(load_dataset(tiny_tree), cache_path=None, progress=True)
    assert "hashing" in stream.getvalue() and "100%" in stream.getvalue()
