"""The batch engine behind the GUI's batch view and ``skindesk classify``: files in, rows out.

``find_images`` turns paths and folders into ``FileItem``s, one per file, in a deterministic
order. Files are taken by extension or by content (a JPEG called ``IMG_0001`` is classified);
hidden files, non-images, unreadable files and folders that cannot be listed become items with
an ``error`` instead of disappearing. ``classify_files`` decodes and preprocesses on a small
thread pool while the calling thread runs batched inference, keeps at most a few batches of
tensors in memory whatever the folder's size, yields one ``ResultRow`` per item in input order,
reports ``Progress`` (done, total, rate, ETA) and stops within a fraction of a second once its
``cancel`` event is set. No Qt here: the GUI runs it in a worker thread.
"""

from __future__ import annotations

import os
import queue
import stat
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
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

DEFAULT_BATCH_SIZE = 16
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


# -- decoding pool --------------------------------------------------------------------
class _DecodePool:
    """Daemon threads running one function; cancellable, joinable with a time limit."""

    def __init__(self, function: Callable[..., Any], workers: int) -> None:
        self._function = function
        self._tasks: queue.SimpleQueue[tuple[Future, tuple] | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._loop, name=f"skindesk-decode-{i}", daemon=True)
            for i in range(max(1, workers))
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, *args: Any) -> Future:
        future: Future = Future()
        self._tasks.put((future, args))
        return future

    def _loop(self) -> None:
        while True:
            task = self._tasks.get()
            if task is None:
                return
            future, args = task
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(self._function(*args))
            except BaseException as error:  # noqa: BLE001 - handed to the consumer
                future.set_exception(error)

    def close(self, timeout: float = 1.0) -> bool:
        """Cancel queued work, stop the threads; True when all stopped within ``timeout``."""
        while True:
            try:
                task = self._tasks.get_nowait()
            except queue.Empty:
                break
            if task is not None:
                task[0].cancel()
        for _ in self._threads:
            self._tasks.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)


def _decode(classifier: Any, path: str, draft: tuple[int, int] | None) -> np.ndarray:
    return classifier.preprocess(load_image(path, draft_size=draft))


# -- the engine -----------------------------------------------------------------------
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
        batch_size: images per inference call.
        workers: decoding threads (default: one per core).
        cancel: set it (from any thread) to stop; the generator then returns within about
            ``0.05`` s plus the inference call in progress. Rows already yielded stay valid.
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
    workers = workers or default_workers()
    ahead = 2 * batch_size + 2 * workers  # decoded tensors waiting: bounded memory
    pool = _DecodePool(_decode, workers)
    draft = classifier.draft_size
    waiting: deque[tuple[FileItem, Future | None]] = deque()
    pending: list[tuple[FileItem, np.ndarray | None, str]] = []
    started = time.monotonic()
    done = 0
    next_index = 0

    def refill() -> None:
        nonlocal next_index
        while next_index < total and len(waiting) < ahead:
            item = todo[next_index]
            next_index += 1
            waiting.append((item, None if item.error else pool.submit(classifier, item.path, draft)))

    def flush() -> Iterator[ResultRow]:
        nonlocal done
        arrays = [array for _, array, _ in pending if array is not None]
        names = [item.path for item, array, _ in pending if array is not None]
        predictions = iter(classifier.predict_arrays(np.stack(arrays), names) if arrays else [])
        batch = list(pending)
        pending.clear()
        for item, array, problem in batch:
            if array is None:
                row = error_row(item.path, problem, model)
            else:
                row = row_from_prediction(item.path, next(predictions), model)
            done += 1
            if on_progress is not None:
                on_progress(Progress(done, total, time.monotonic() - started))
            yield row

    try:
        if on_progress is not None:
            on_progress(Progress(0, total, 0.0))
        refill()
        in_batch = 0
        while waiting:
            if cancel.is_set():
                return
            item, future = waiting[0]
            array: np.ndarray | None = None
            problem = item.error
            if future is not None:
                try:
                    array = future.result(timeout=_POLL_SECONDS)
                except TimeoutError:
                    continue
                except ImageLoadError as error:
                    problem = error.problem
                except MemoryError:
                    problem = "not enough memory to decode this image"
                except Exception as error:  # noqa: BLE001 - a bad file must not end the run
                    problem = f"could not be processed ({type(error).__name__}: {error})"
            waiting.popleft()
            refill()
            pending.append((item, array, problem))
            in_batch += array is not None
            if in_batch >= batch_size or len(pending) >= 4 * batch_size:
                if cancel.is_set():
                    return
                yield from flush()
                in_batch = 0
        if pending and not cancel.is_set():
            yield from flush()
    finally:
        pool.close(timeout=1.0)
