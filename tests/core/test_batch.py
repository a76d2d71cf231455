"""The batch engine: every file gets exactly one row, in order, fast paths bounded, cancellable."""

from __future__ import annotations

import io
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from skindesk.core.batch import FileItem, Progress, classify_files, find_images
from skindesk.core.classifier import Classifier


def _image(path: Path, seed: int, fmt: str | None = None, size=(64, 48)) -> None:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, format=fmt)


def make_mixed_folder(root: Path) -> dict[str, str | None]:
    """Files of every kind; returns relative path -> expected error fragment (None: classified)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "nested" / "deeper").mkdir(parents=True)
    expected: dict[str, str | None] = {}
    for index, name in enumerate(["a.jpg", "b.png", "c.tif", "läsion_ü.jpg", "病变.png"]):
        _image(root / name, index)
        expected[name] = None
    _image(root / "nested" / "n1.jpg", 10)
    _image(root / "nested" / "deeper" / "Naïve é.webp", 11)
    expected["nested/n1.jpg"] = None
    expected["nested/deeper/Naïve é.webp"] = None
    _image(root / "IMG_0001", 12, fmt="JPEG")  # an image found by content, no extension
    expected["IMG_0001"] = None
    buffer = io.BytesIO()
    Image.fromarray(np.full((200, 200, 3), 90, np.uint8)).save(buffer, "JPEG")
    (root / "truncated.jpg").write_bytes(buffer.getvalue()[:300])
    expected["truncated.jpg"] = "truncated or corrupt"
    (root / "zero.jpg").write_bytes(b"")
    expected["zero.jpg"] = "empty file"
    (root / "notes.jpg").write_text("this is a text file, not a photo\n", encoding="utf-8")
    expected["notes.jpg"] = "not an image"
    (root / "labels.csv").write_text("image,dx\na.jpg,nv\n", encoding="utf-8")
    expected["labels.csv"] = "not an image file"
    _image(root / ".hidden.jpg", 13)
    expected[".hidden.jpg"] = "hidden file"
    (root / "nested" / "garbage.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    expected["nested/garbage.png"] = "not an image SkinDesk can read"
    return expected


@pytest.fixture
def classifier(test_model_path: Path) -> Classifier:
    return Classifier(test_model_path, provider="cpu", threads=1)


def _rel(root: Path, path: str) -> str:
    return Path(path).relative_to(root).as_posix()


def test_every_file_gets_exactly_one_row_with_a_specific_error(tmp_path, classifier):
    root = tmp_path / "mixed"
    expected = make_mixed_folder(root)
    found = find_images([root], recursive=True)
    assert sorted(_rel(root, p) for p in found.paths) == sorted(expected)

    rows = list(classify_files(classifier, found.items, batch_size=3, workers=2))
    by_file = {_rel(root, row.file): row for row in rows}
    assert len(rows) == len(expected) == len(by_file)
    for name, problem in expected.items():
        row = by_file[name]
        if problem is None:
            assert row.ok, (name, row.error)
            assert row.top_class in classifier.card.class_names
            assert sum(row.probabilities.values()) == pytest.approx(1.0, abs=1e-4)
        else:
            assert not row.ok and problem in row.error, (name, row.error)
            assert row.top_class == "" and row.probabilities == {}
    # rows come back in discovery order
    assert [row.file for row in rows] == found.paths


def test_without_recursion_subfolders_are_counted_not_searched(tmp_path, classifier):
    root = tmp_path / "mixed"
    make_mixed_folder(root)
    found = find_images([root], recursive=False)
    assert found.skipped_folders == 1
    assert not any("nested" in p for p in found.paths)


def test_explicit_files_missing_paths_and_duplicates(tmp_path, classifier):
    _image(tmp_path / ".shown.png", 1)
    _image(tmp_path / "x.png", 2)
    found = find_images(
        [tmp_path / ".shown.png", tmp_path / "x.png", tmp_path / "x.png", tmp_path / "gone.jpg"]
    )
    assert [Path(p).name for p in found.paths] == [".shown.png", "x.png", "gone.jpg"]
    rows = list(classify_files(classifier, found.items))
    assert rows[0].ok and rows[1].ok  # a hidden file named explicitly is classified
    assert rows[2].error == "file not found"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_unreadable_file_and_folder_become_rows(tmp_path, classifier):
    _image(tmp_path / "locked.jpg", 1)
    (tmp_path / "locked.jpg").chmod(0)
    (tmp_path / "closed").mkdir()
    _image(tmp_path / "closed" / "inside.jpg", 2)
    (tmp_path / "closed").chmod(0)
    try:
        rows = list(classify_files(classifier, find_images([tmp_path], recursive=True).items))
    finally:
        (tmp_path / "locked.jpg").chmod(0o644)
        (tmp_path / "closed").chmod(0o755)
    errors = {Path(r.file).name: r.error for r in rows}
    assert "permission denied" in errors["locked.jpg"]
    assert "folder cannot be read" in errors["closed"]


def test_results_do_not_depend_on_batch_size_or_workers(tmp_path, classifier):
    root = tmp_path / "mixed"
    make_mixed_folder(root)
    items = find_images([root], recursive=True).items
    one = list(classify_files(classifier, items, batch_size=1, workers=1))
    many = list(classify_files(classifier, items, batch_size=4, workers=3))
    assert [r.file for r in one] == [r.file for r in many]
    for a, b in zip(one, many):
        assert a.error == b.error and a.top_class == b.top_class
        for name, p in a.probabilities.items():
            assert b.probabilities[name] == pytest.approx(p, abs=1e-6)


def test_progress_reports_done_total_rate_and_eta(tmp_path, classifier, image_folder):
    folder = image_folder(count=7)
    seen: list[Progress] = []
    rows = list(
        classify_files(classifier, find_images([folder]).items, batch_size=2, on_progress=seen.append)
    )
    assert len(rows) == 7
    assert [p.done for p in seen] == list(range(0, 8))
    assert all(p.total == 7 for p in seen)
    assert seen[-1].rate > 0 and seen[-1].eta == 0
    assert seen[3].eta is not None and seen[3].eta > 0


def _decode_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("skindesk-decode")]


def test_cancel_stops_within_a_second_and_stops_the_workers(tmp_path, classifier, image_folder):
    folder = image_folder(count=60, size=(320, 240))
    cancel = threading.Event()
    rows = []
    stopped_at = None
    for row in classify_files(classifier, find_images([folder]).items, batch_size=2,
                              workers=2, cancel=cancel):
        rows.append(row)
        if len(rows) == 4:
            cancel.set()
            stopped_at = time.monotonic()
    elapsed = time.monotonic() - stopped_at
    assert 4 <= len(rows) < 60
    assert elapsed < 1.0
    assert len({r.file for r in rows}) == len(rows)
    deadline = time.monotonic() + 1.0
    while _decode_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _decode_threads()


def test_abandoning_the_generator_stops_the_workers(classifier, image_folder):
    folder = image_folder(count=30)
    rows = classify_files(classifier, find_images([folder]).items, batch_size=2)
    next(rows)
    assert _decode_threads()
    rows.close()
    assert not _decode_threads()


class _CountingClassifier:
    """A real classifier whose prepare calls are counted (to see how far decoding runs ahead)."""

    def __init__(self, inner: Classifier) -> None:
        self._inner = inner
        self.calls = 0

    def prepare(self, image, out=None):  # noqa: ANN001, ANN201
        self.calls += 1
        return self._inner.prepare(image, out)

    def __getattr__(self, name):  # noqa: ANN001, ANN204
        return getattr(self._inner, name)


def test_decoding_runs_ahead_only_a_bounded_amount(classifier, image_folder):
    folder = image_folder(count=80)
    counting = _CountingClassifier(classifier)
    rows = classify_files(counting, find_images([folder]).items, batch_size=4, workers=2)
    next(rows)
    time.sleep(0.4)  # a slow consumer: decoding must not run through the whole folder
    bound = (1 + 2 * 2) * 4  # the chunk being consumed + 2 chunks per lane, 4 files each
    assert counting.calls <= bound
    assert len(list(rows)) == 79
    assert counting.calls == 80


def test_plain_paths_and_bad_batch_size(classifier, image_folder):
    folder = image_folder(count=2)
    paths = sorted(str(p) for p in folder.iterdir())
    rows = list(classify_files(classifier, paths))
    assert [r.file for r in rows] == paths and all(r.ok for r in rows)
    assert list(classify_files(classifier, [FileItem("x.jpg", "known problem")]))[0].error == (
        "known problem"
    )
    with pytest.raises(ValueError, match="batch size"):
        list(classify_files(classifier, paths, batch_size=0))


class _FailingRunner:
    """A real classifier whose third inference call fails, as onnxruntime can."""

    def __init__(self, inner: Classifier) -> None:
        self._inner = inner
        self.calls = 0
        self.lock = threading.Lock()

    def predict_arrays(self, batch, names=None, quality=None):  # noqa: ANN001, ANN201
        with self.lock:
            self.calls += 1
            failing = self.calls == 3
        if failing:
            raise RuntimeError("onnxruntime: out of memory")
        return self._inner.predict_arrays(batch, names, quality)


class _ClassifierWithRunner(_CountingClassifier):
    def __init__(self, inner: Classifier, runner: _FailingRunner) -> None:
        super().__init__(inner)
        self.runner = runner

    def for_parallel_batches(self, lanes):  # noqa: ANN001, ANN201
        return self.runner


def test_a_model_failure_is_raised_after_the_rows_before_it(classifier, image_folder):
    folder = image_folder(count=12)
    wrapped = _ClassifierWithRunner(classifier, _FailingRunner(classifier))
    rows = []
    with pytest.raises(RuntimeError, match="out of memory"):
        for row in classify_files(wrapped, find_images([folder]).items, batch_size=2, workers=1):
            rows.append(row)
    assert len(rows) == 4 and all(r.ok for r in rows)  # chunks 1 and 2 kept, chunk 3 failed
    assert not _decode_threads()
