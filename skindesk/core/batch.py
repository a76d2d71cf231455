"""The batch engine behind the GUI's batch view and ``skindesk classify``: files in, rows out.

``find_images`` turns paths and folders into ``FileItem``s, one per file, in a deterministic
order. Files are taken by extension or by content (a JPEG called ``IMG_0001`` is classified);
hidden files, non-images, unreadable files and folders that cannot be listed become items with
an ``error`` instead of disappearing. ``classify_files`` runs one lane per core: each lane takes
the next small chunk of files, decodes and preprocesses it (JPEG draft mode) and runs it through
the model, so one lane's decoding overlaps another's inference; at most a few chunks of tensors
are in memory whatever the folder's size, and it yields one ``ResultRow`` per item in input order,
reports ``Progress`` (done, total, rate, ETA) and stops within a fraction of a second once its
``cancel`` event is set. No Qt here: the GUI runs it in a worker thread.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .classifier import default_threads
from .errors import ImageLoadError
from .imaging import IMAGE_EXTENSIONS, load_image, looks_like_image
from .results import ModelInfo, ResultRow, error_row, row_from_prediction

__all__ = [
    "FileItem",
    "Discovery",
    "Progress",
    "find_images",
    "classify_files",
    "DEFAULT_BATCH_SIZE",
    "default_workers",
]

DEFAULT_BATCH_SIZE = 4  # fastest engine here; smaller batches are faster on CPU (bench_batch --sweep)
_POLL_SECONDS = 0.05
_NOT_IMAGE = (
    "not an image file: neither its name nor its content is JPEG, PNG, TIFF, BMP or WebP"
)


def default_workers() -> int:
    """Decoding threads: one per core this process may use."""
    return default_threads()


@dataclass(frozen=True)
class FileItem:
    """One file to report on; ``error`` is set when it is known up front not to be classifiable."""

    path: str
    error: str = ""


@dataclass
class Discovery:
    """What ``find_images`` found."""

    items: list[FileItem] = field(default_factory=list)
    skipped_folders: int = 0  # subfolders not searched because recursion was off

    @property
    def paths(self) -> list[str]:
        return [item.path for item in self.items]


@dataclass(frozen=True)
class Progress:
    """Where a run stands; ``rate`` in files per second, ``eta`` in seconds (None: unknown)."""

    done: int
    total: int
    elapsed: float

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        if self.done == 0 or self.rate <= 0:
            return None
        return (self.total - self.done) / self.rate

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


# -- finding files --------------------------------------------------------------------
def _is_hidden(path: str, info: os.stat_result | None) -> bool:
    if os.path.basename(path).startswith("."):
        return True
    attributes = getattr(info, "st_file_attributes", 0) if info is not None else 0
    return bool(attributes & 0x2)  # FILE_ATTRIBUTE_HIDDEN on Windows


def _file_item(path: str, *, explicit: bool) -> FileItem:
    """Decide up front whether ``path`` (known not to be a folder) can be classified."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return FileItem(path, "broken link: the file it points to does not exist")
        return FileItem(path, "file not found")
    except OSError as error:
        return FileItem(path, f"cannot be read ({error.strerror})")
    if not stat.S_ISREG(info.st_mode):
        return FileItem(path, "not a regular file (device, pipe or socket); not classified")
    if not explicit and _is_hidden(path, info):
        return FileItem(path, "hidden file (name starts with '.'); not classified")
    if os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS:
        return FileItem(path)  # load_image gives the specific error if it is not one
    if not os.access(path, os.R_OK):
        return FileItem(path, "permission denied: the file cannot be read")
    if info.st_size == 0:
        return FileItem(path, "empty file (0 bytes)")
    if looks_like_image(path):
        return FileItem(path)
    return FileItem(path, _NOT_IMAGE)


def _sort_key(name: str) -> tuple[str, str]:
    return (name.casefold(), name)


def _walk(folder: str, recursive: bool, seen_dirs: set[str], found: Discovery,
          add: Callable[[FileItem], None]) -> None:
    real = os.path.realpath(folder)
    if real in seen_dirs:
        return  # a link back into a folder already searched
    seen_dirs.add(real)
    try:
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda e: _sort_key(e.name))
    except PermissionError:
        add(FileItem(folder, "folder cannot be read (permission denied); its files were not searched"))
        return
    except OSError as error:
        add(FileItem(folder, f"folder cannot be read ({error.strerror}); its files were not searched"))
        return
    subfolders = []
    for entry in entries:
        path = os.path.join(folder, entry.name)
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if is_dir:
            subfolders.append(path)
        else:
            add(_file_item(path, explicit=False))
    for path in subfolders:
        if not recursive:
            found.skipped_folders += 1
        elif _is_hidden(path, None):
            add(FileItem(path, "hidden folder (name starts with '.'); not searched"))
        else:
            _walk(path, recursive, seen_dirs, found, add)


def find_images(paths: Iterable[str | os.PathLike[str]], recursive: bool = False) -> Discovery:
    """One ``FileItem`` per file under ``paths`` (files and folders), each file once.

    Order: the arguments' order; inside a folder, its files by name (case-insensitive), then its
    subfolders (when ``recursive``). A file named explicitly is classified even when hidden.
    """
    found = Discovery()
    seen_files: set[str] = set()
    seen_dirs: set[str] = set()

    def add(item: FileItem) -> None:
        key = os.path.normcase(os.path.abspath(item.path))
        if key not in seen_files:
            seen_files.add(key)
            found.items.append(item)

    for raw in paths:
        path = os.fspath(raw)
        if os.path.isdir(path):
            _walk(path, recursive, seen_dirs, found, add)
        else:
            add(_file_item(path, explicit=True))
    return found


# -- the engine -----------------------------------------------------------------------
def _decode(classifier: Any, item: FileItem, draft: tuple[int, int] | None,
            out: np.ndarray, quality: list) -> str:
    """Decode and preprocess ``item`` into ``out`` (its quality issues appended to ``quality``):
    "" when done, else the plain-words problem."""
    if item.error:
        return item.error
    try:
        quality.append(classifier.prepare(load_image(item.path, draft_size=draft), out)[1])
        return ""
    except ImageLoadError as error:
        return error.problem
    except MemoryError:
        return "not enough memory to decode this image"
    except Exception as error:  # noqa: BLE001 - a bad file must not end the run
        return f"could not be processed ({type(error).__name__}: {error})"


class _Lanes:
    """Worker threads, each taking the next chunk of files and doing all of its work.

    A lane decodes and preprocesses its chunk, runs it through the model in one call and builds
    its rows, so while one lane runs inference another decodes: no thread waits on a hand-off,
    and with one inference thread per lane (see ``Classifier.for_parallel_batches``) no
    onnxruntime thread waits on a descheduled sibling. Lanes work at most ``ahead`` chunks past
    the oldest chunk not yet consumed, so memory stays flat however large the folder.
    """

    def __init__(self, work: Callable[[int], list[ResultRow]], chunks: int, lanes: int,
                 ahead: int, stop: threading.Event) -> None:
        self._work = work
        self._chunks = chunks
        self._ahead = ahead
        self._lock = threading.Condition()
        self._next_chunk = 0  # next chunk a lane will take
        self._consumed = 0  # chunks the consumer has finished with
        self._results: dict[int, tuple[list[ResultRow] | None, BaseException | None]] = {}
        self.stop = stop
        self._threads = [
            threading.Thread(target=self._loop, name=f"skindesk-decode-{i}", daemon=True)
            for i in range(max(1, min(lanes, chunks)))
        ]
        for thread in self._threads:
            thread.start()

    def _loop(self) -> None:
        while True:
            with self._lock:
                while (not self.stop.is_set() and self._next_chunk < self._chunks
                       and self._next_chunk >= self._consumed + self._ahead):
                    self._lock.wait(_POLL_SECONDS)
                if self.stop.is_set() or self._next_chunk >= self._chunks:
                    return
                index = self._next_chunk
                self._next_chunk += 1
            try:
                result: tuple[list[ResultRow] | None, BaseException | None] = (self._work(index), None)
            except BaseException as error:  # noqa: BLE001 - raised in the consumer's thread
                result = (None, error)
            with self._lock:
                self._results[index] = result
                self._lock.notify_all()

    def take(self, index: int, timeout: float) -> list[ResultRow] | None:
        """Chunk ``index``'s rows, or None if not ready within ``timeout``; re-raises its error."""
        with self._lock:
            if index not in self._results:
                self._lock.wait(timeout)
                if index not in self._results:
                    return None
            rows, error = self._results.pop(index)
            self._consumed = index + 1
            self._lock.notify_all()
        if error is not None:
            raise error
        return rows

    def close(self, timeout: float = 1.0) -> bool:
        """Stop taking chunks and wait for the lanes; True when all stopped within ``timeout``."""
        self.stop.set()
        with self._lock:
            self._lock.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)


def classify_files(
    classifier: Any,
    items: Sequence[FileItem | str],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    workers: int | None = None,
    cancel: threading.Event | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> Iterator[ResultRow]:
    """Classify ``items``, yielding one ``ResultRow`` per item, in the items' order.

    Args:
        classifier: a ``skindesk.core.classifier.Classifier``.
        items: ``FileItem``s (from ``find_images``) or plain paths.
        batch_size: files per chunk (one inference call per chunk).
        workers: lanes, each decoding a chunk and running it through the model (default: one
            per core).
        cancel: set it (from any thread) to stop; the generator then returns within about
            ``0.05`` s plus the chunk in progress. Rows already yielded stay valid.
        on_progress: called after each row with a ``Progress``.

    A file that cannot be read or decoded gives a row with ``error``; the run goes on. An
    exception from the model itself (onnxruntime failing) is raised: rows yielded so far stay.
    """
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1 (got {batch_size})")
    todo = [item if isinstance(item, FileItem) else FileItem(str(item)) for item in items]
    total = len(todo)
    cancel = cancel or threading.Event()
    model = ModelInfo.from_classifier(classifier)
    workers = max(1, workers or default_workers())
    runner = classifier.for_parallel_batches(workers) if hasattr(
        classifier, "for_parallel_batches") else classifier
    draft = classifier.draft_size
    shape = classifier.input_shape
    chunks = (total + batch_size - 1) // batch_size

    buffers = threading.local()  # one batch buffer per lane, reused chunk after chunk

    def work(index: int) -> list[ResultRow]:
        chunk = todo[index * batch_size:(index + 1) * batch_size]
        batch = getattr(buffers, "batch", None)
        if batch is None:
            batch = buffers.batch = np.empty((batch_size, *shape), dtype=np.float32)
        problems, filled, quality = [], 0, []
        for item in chunk:
            if cancel.is_set() or stop.is_set():
                return []
            problem = _decode(classifier, item, draft, batch[filled], quality)
            problems.append(problem)
            filled += not problem
        names = [item.path for item, problem in zip(chunk, problems) if not problem]
        predictions = iter(runner.predict_arrays(batch[:filled], names, quality) if filled else [])
        return [error_row(item.path, problem, model) if problem
                else row_from_prediction(item.path, next(predictions), model)
                for item, problem in zip(chunk, problems)]

    started = time.monotonic()
    if on_progress is not None:
        on_progress(Progress(0, total, 0.0))
    stop = threading.Event()
    lanes = _Lanes(work, chunks, workers, ahead=2 * workers, stop=stop)
    done = 0
    try:
        for index in range(chunks):
            rows = None
            while rows is None:
                if cancel.is_set():
                    return
                rows = lanes.take(index, _POLL_SECONDS)
            for row in rows:  # a chunk already classified is handed over whole, even on cancel
                done += 1
                if on_progress is not None:
                    on_progress(Progress(done, total, time.monotonic() - started))
                yield row
    finally:
        lanes.close(timeout=1.0)
