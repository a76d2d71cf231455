"""Batch result rows: a crash-safe CSV writer, resume reading, JSON and table text.

One ``ResultRow`` per input file, whether it was classified or not (``error`` says why not). The
columns are defined once, in ``skindesk.core.result_schema``: ``file``, ``top_class``,
``top_probability``, ``malignant`` (true when the top class is malignant or pre-malignant),
``review_advised`` (true when any malignant or pre-malignant class reached its validated alert
threshold, even under a benign top class), ``alerts`` (e.g. ``melanoma 24 % ≥ alert threshold
9 %``, several joined by ``"; "``), ``uncertain``, ``out_of_distribution`` (the image gate's
verdict: not a dermoscopic image of a skin lesion), ``ood_score``, ``quality`` (the quality
codes, e.g. ``too_dark``, joined by ``"; "``; empty when fine), ``status`` (``not assessed``,
``review advised`` or ``no alert``), one column per class with its probability (the class name
is the header), ``operating_point``, ``gate_level`` (the image gate's strictness: ``lenient``,
``standard`` or ``strict``), ``model``, ``model_version``, ``error``. Booleans are
``true``/``false``;
empty cells mean "not applicable" (a file that could not be read). The CSV writer flushes every
row and fsyncs periodically, so a kill at file N leaves N-1 complete rows; ``open_results_csv``
never replaces an existing file unless asked to, and on resume repairs a partially written tail.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .errors import SkinDeskError
from .formatting import percent
from .prediction import Prediction
from .result_schema import SCHEMA, AlertMark, ResultRow, current_schema

__all__ = [
    "AlertMark",
    "HEAD_COLUMNS",
    "TAIL_COLUMNS",
    "ModelInfo",
    "ResultRow",
    "ResultCounts",
    "ResultsFileError",
    "ResumeState",
    "CsvResultWriter",
    "columns_for",
    "row_from_prediction",
    "error_row",
    "row_to_csv_fields",
    "row_from_csv_fields",
    "csv_line",
    "read_results_csv",
    "open_results_csv",
    "count_rows",
    "row_to_json",
    "rows_to_json",
    "TableRenderer",
]

HEAD_COLUMNS = tuple(c.name for c in SCHEMA.head)
TAIL_COLUMNS = tuple(c.name for c in SCHEMA.tail)


class ResultsFileError(SkinDeskError):
    """A results file cannot be written or continued; the message says why and what to do."""


@dataclass(frozen=True)
class ModelInfo:
    """What every row records about the model that produced it."""

    class_names: tuple[str, ...]
    name: str
    version: str
    operating_point: str
    gate_level: str = ""  # the image gate's strictness level ('' when the model has none)

    @classmethod
    def from_classifier(cls, classifier: Any) -> ModelInfo:
        from .assessment import default_gate_level
        from .prediction import operating_point_label

        card = classifier.card
        return cls(
            class_names=tuple(card.class_names),
            name=card.name,
            version=card.version,
            operating_point=operating_point_label(card, classifier.sensitivity),
            gate_level=getattr(classifier, "gate_strictness", None) or default_gate_level(card) or "",
        )


def columns_for(class_names: Sequence[str]) -> list[str]:
    """The CSV header for a model with these classes."""
    return current_schema().columns(class_names)


def row_from_prediction(path: str, prediction: Prediction, model: ModelInfo) -> ResultRow:
    """The row for a classified file."""
    top = prediction.top_class
    return ResultRow(
        file=path,
        top_class=top.name,
        top_probability=prediction.top_probability,
        probabilities=prediction.as_dict(),
        malignant=bool(top.malignant or top.premalignant),
        review_advised=prediction.review_advised,
        alerts=tuple(AlertMark.of(a.class_name, a.display_name, a.probability, a.threshold)
                     for a in prediction.alerts),
        uncertain=prediction.uncertain,
        out_of_distribution=prediction.out_of_distribution,
        ood_score=prediction.ood_score,
        quality=tuple(q.code for q in prediction.quality),
        operating_point=prediction.operating_point or model.operating_point,
        gate_level=model.gate_level,
        model=model.name,
        model_version=model.version,
    )


def error_row(path: str, problem: str, model: ModelInfo) -> ResultRow:
    """The row for a file that could not be classified."""
    return ResultRow(
        file=path,
        operating_point=model.operating_point,
        gate_level=model.gate_level,
        model=model.name,
        model_version=model.version,
        error=problem or "unknown error",
    )


# -- CSV cells ------------------------------------------------------------------------
def row_to_csv_fields(row: ResultRow, class_names: Sequence[str]) -> list[str]:
    """The row's cells in ``columns_for(class_names)`` order."""
    return current_schema().cells(row, class_names)


def row_from_csv_fields(fields: Sequence[str], class_names: Sequence[str]) -> ResultRow:
    """Parse cells written by ``row_to_csv_fields`` (raises ``ValueError`` when malformed)."""
    return current_schema().parse(fields, class_names)


def csv_line(fields: Sequence[str]) -> str:
    """One CSV record, newline-terminated (the dialect of every SkinDesk results file)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(fields)
    return buffer.getvalue()


# -- writing --------------------------------------------------------------------------
class CsvResultWriter:
    """Appends rows to a CSV file, each flushed at once and fsynced every few rows/seconds.

    Use ``open_results_csv`` to create one; it decides whether the file may be written.
    """

    def __init__(
        self,
        handle: TextIO,
        class_names: Sequence[str],
        *,
        fsync_every: int = 50,
        fsync_seconds: float = 2.0,
    ) -> None:
        self.path = Path(handle.name)
        self.class_names = tuple(class_names)
        self._handle = handle
        self._fsync_every = fsync_every
        self._fsync_seconds = fsync_seconds
        self._unsynced = 0
        self._last_sync = time.monotonic()
        self.rows_written = 0

    def write_header(self) -> None:
        self._handle.write(csv_line(columns_for(self.class_names)))
        self._handle.flush()
        self.sync()

    def write(self, row: ResultRow) -> None:
        """Write and flush one row (one write call, so a kill never leaves half a row behind
        in the common case; ``read_results_csv`` repairs the rare partial line)."""
        self._handle.write(csv_line(row_to_csv_fields(row, self.class_names)))
        self._handle.flush()
        self.rows_written += 1
        self._unsynced += 1
        if (
            self._unsynced >= self._fsync_every
            or time.monotonic() - self._last_sync >= self._fsync_seconds
        ):
            self.sync()

    def sync(self) -> None:
        """Ask the operating system to put the rows on disk (survives a power cut)."""
        try:
            os.fsync(self._handle.fileno())
        except OSError:  # pragma: no cover - e.g. a pipe or a file system without fsync
            pass
        self._unsynced = 0
        self._last_sync = time.monotonic()

    def close(self) -> None:
        if self._handle.closed:
            return
        self._handle.flush()
        self.sync()
        self._handle.close()

    def __enter__(self) -> CsvResultWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- reading and resuming -------------------------------------------------------------
@dataclass
class ResumeState:
    """What an existing results CSV holds: its valid rows and what had to be repaired."""

    rows: list[ResultRow]
    header_ok: bool
    valid_bytes: int
    dropped_lines: int = 0

    @property
    def done_files(self) -> set[str]:
        """Every file named by a row, as written and as an absolute path."""
        names: set[str] = set()
        for row in self.rows:
            names.add(row.file)
            names.add(os.path.abspath(row.file))
        return names


def read_results_csv(path: str | Path, class_names: Sequence[str] | None = None) -> ResumeState:
    """Read a results CSV written by ``CsvResultWriter``, stopping at the first damaged row.

    Everything from a damaged row on (a half-written last line after a kill, garbage after a
    power cut) is counted in ``dropped_lines`` and excluded from ``valid_bytes``.

    Raises:
        ResultsFileError: unreadable file, or a header for other classes than ``class_names``.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ResultsFileError(f"{path}: cannot be read ({error.strerror})") from error
    offset = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    lines: list[bytes] = data[offset:].split(b"\n")
    # Every element but the last ended with a newline; the last is a partial line (or empty).
    complete, partial = lines[:-1], lines[-1]
    consumed = offset

    def line_source() -> Iterable[str]:
        nonlocal consumed
        for raw in complete:
            consumed += len(raw) + 1
            yield raw.decode("utf-8") + "\n"

    source = iter(line_source())
    reader = csv.reader(source)
    rows: list[ResultRow] = []
    header_ok = False
    valid = offset
    try:
        header = next(reader)
        schema = current_schema()
        head = [c.name for c in schema.head]
        if class_names is None:
            class_names = schema.class_names_in(header)
        expected = columns_for(class_names)
        if header != expected:
            missing = [name for name in expected if name not in header]
            if missing and header and all(name in expected for name in header):
                raise ResultsFileError(
                    f"{path}: was written by an earlier SkinDesk (no {', '.join(missing)} "
                    "column); continuing it would mix two formats. Choose another output file "
                    "or --overwrite it"
                )
            if list(header[: len(head)]) == head and len(header) > len(head):
                raise ResultsFileError(
                    f"{path}: was written for a model with other classes "
                    f"({', '.join(schema.class_names_in(header))}); "
                    "choose another output file or --overwrite it"
                )
            raise ResultsFileError(
                f"{path}: is not a SkinDesk results file (unexpected header); choose another "
                "output file"
            )
        header_ok = True
        valid = consumed
        for fields in reader:
            rows.append(row_from_csv_fields(fields, class_names))
            valid = consumed
    except StopIteration:
        pass
    except ResultsFileError:
        raise
    except (csv.Error, ValueError, UnicodeDecodeError):
        pass  # damaged from here on
    total_lines = len(complete) + (1 if partial else 0)
    kept_lines = data[offset:valid].count(b"\n")
    return ResumeState(
        rows=rows, header_ok=header_ok, valid_bytes=valid, dropped_lines=total_lines - kept_lines
    )


def open_results_csv(
    path: str | Path,
    model: ModelInfo,
    *,
    resume: bool = False,
    overwrite: bool = False,
) -> tuple[CsvResultWriter, ResumeState | None]:
    """Open ``path`` for writing results, never silently replacing what is there.

    - a new (or empty) file: created with a header;
    - an existing file, ``resume``: its valid rows are returned, a damaged tail is cut off,
      and new rows are appended (the model, version, operating point and gate level must match);
    - an existing file, ``overwrite``: replaced;
    - an existing file otherwise: ``ResultsFileError`` telling the user the choices.
    """
    path = Path(path)
    if resume and overwrite:
        raise ResultsFileError("--resume and --overwrite cannot be used together")
    if path.is_dir():
        raise ResultsFileError(f"{path}: is a folder; give a file name for the results")
    exists = path.exists() and path.stat().st_size > 0
    if exists and not (resume or overwrite):
        raise ResultsFileError(
            f"{path}: already exists; use --resume to continue it, --overwrite to replace it, "
            "or choose another output file"
        )
    state: ResumeState | None = None
    try:
        if exists and resume:
            state = read_results_csv(path, model.class_names)
            if state.header_ok:
                _check_same_model(path, state.rows, model)
                with open(path, "r+b") as raw:
                    raw.truncate(state.valid_bytes)
                handle = open(path, "a", encoding="utf-8", newline="")
                writer = CsvResultWriter(handle, model.class_names)
                writer.sync()
                return writer, state
            # Not even a complete header: a run killed at its very start, or someone else's file.
            header = csv_line(columns_for(model.class_names)).encode("utf-8")
            if not header.startswith(path.read_bytes().removeprefix(b"\xef\xbb\xbf")):
                raise ResultsFileError(
                    f"{path}: is not a SkinDesk results file; choose another output file"
                )
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = "w" if exists or path.exists() else "x"
        handle = open(path, mode, encoding="utf-8-sig", newline="")
    except OSError as error:
        raise ResultsFileError(
            f"{path}: cannot be written ({error.strerror or error})"
        ) from error
    writer = CsvResultWriter(handle, model.class_names)
    writer.write_header()
    return writer, state


def _check_same_model(path: Path, rows: Sequence[ResultRow], model: ModelInfo) -> None:
    for row in rows:
        if (row.model, row.model_version) != (model.name, model.version):
            raise ResultsFileError(
                f"{path}: its rows came from model {row.model} {row.model_version}, not "
                f"{model.name} {model.version}; continuing it would mix two models. Choose "
                "another output file or --overwrite it"
            )
        if row.gate_level != model.gate_level:
            raise ResultsFileError(
                f"{path}: its rows used image-gate strictness '{row.gate_level}', not "
                f"'{model.gate_level or 'none'}'; choose the same strictness (Settings, or "
                "--gate-strictness) to continue it, or choose another output file"
            )
        if row.operating_point != model.operating_point:
            raise ResultsFileError(
                f"{path}: its rows used operating point '{row.operating_point}', not "
                f"'{model.operating_point}'; use the same --sensitivity to continue it, or "
                "choose another output file"
            )


# -- summaries and renderers ----------------------------------------------------------
@dataclass
class ResultCounts:
    """Counts per top class and per flag; a not-assessed image counts only as not assessed."""

    total: int = 0
    classified: int = 0
    per_class: Counter = field(default_factory=Counter)
    review_advised: int = 0
    malignant: int = 0
    uncertain: int = 0
    out_of_distribution: int = 0
    not_assessed: int = 0
    errors: int = 0

    def add(self, row: ResultRow) -> None:
        self.total += 1
        if row.error:
            self.errors += 1
            return
        self.classified += 1
        self.out_of_distribution += bool(row.out_of_distribution)
        if not row.assessment.assessed:  # its top class means nothing: counted apart
            self.not_assessed += 1
            return
        self.per_class[row.top_class] += 1
        self.review_advised += bool(row.review_advised)
        self.malignant += bool(row.malignant)
        self.uncertain += bool(row.uncertain)

    def describe(self, class_order: Sequence[str] = ()) -> str:
        """Two plain lines: flags, then top classes."""
        flags = (
            f"{self.total} files: {self.classified} classified, {self.errors} could not be read; "
            f"review advised {self.review_advised}, malignant top class {self.malignant}, "
            f"uncertain {self.uncertain}, not assessed {self.not_assessed}"
        )
        order = [c for c in class_order if self.per_class.get(c)] + sorted(
            c for c in self.per_class if c not in class_order
        )
        classes = ", ".join(f"{c} {self.per_class[c]}" for c in order) or "none"
        return f"{flags}\nTop classes (assessed images): {classes}"


def count_rows(rows: Iterable[ResultRow]) -> ResultCounts:
    counts = ResultCounts()
    for row in rows:
        counts.add(row)
    return counts


def row_to_json(row: ResultRow, top_k: int | None = None) -> dict[str, Any]:
    """A JSON-ready mapping with typed values (booleans, numbers, lists)."""
    return current_schema().to_json(row, top_k)


def rows_to_json(
    rows: Iterable[ResultRow], model: ModelInfo, top_k: int | None = None, disclaimer: str = ""
) -> str:
    """The whole run as one JSON document."""
    document = {
        "model": {"name": model.name, "version": model.version},
        "operating_point": model.operating_point,
        "gate_level": model.gate_level or None,
        "disclaimer": disclaimer,
        "results": [row_to_json(row, top_k) for row in rows],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


class TableRenderer:
    """Fixed-width text lines, one per row, for a terminal (widths chosen up front)."""

    def __init__(self, files: Sequence[str], top_k: int = 3, max_file_width: int = 48) -> None:
        longest = max((len(f) for f in files), default=4)
        self.file_width = max(4, min(longest, max_file_width))
        self.top_k = max(1, top_k)
        self.classes_width = 26 * self.top_k

    def _file(self, name: str) -> str:
        """The name in full (a path is never shortened; a long one pushes its line wider)."""
        return name.ljust(self.file_width)

    def header(self) -> str:
        title = "TOP CLASS" if self.top_k == 1 else f"TOP {self.top_k} CLASSES"
        return (
            f"{'FILE'.ljust(self.file_width)}  {title.ljust(self.classes_width)}  "
            f"{'REVIEW':6}  {'FLAGS':21}  STATUS / ALERTS / ERROR"
        )

    def line(self, row: ResultRow) -> str:
        if row.error:
            return f"{self._file(row.file)}  {'-'.ljust(self.classes_width)}  {'-':6}  {'-':21}  " \
                   f"ERROR: {row.error}"
        assessment = row.assessment
        if not assessment.assessed:  # its probabilities are in CSV and JSON, not on screen
            return (f"{self._file(row.file)}  {'-'.ljust(self.classes_width)}  {'-':6}  "
                    f"{'-':21}  {assessment.text}")
        classes = ", ".join(f"{c} {percent(p)}" for c, p in row.top_k(self.top_k))
        flags = [name for name, on in (("malignant", row.malignant), ("uncertain", row.uncertain))
                 if on]
        review = "YES" if row.review_advised else "no"
        status = f"{assessment.status}: {row.alert_text}" if row.alerts else assessment.status
        return (
            f"{self._file(row.file)}  {classes.ljust(self.classes_width)}  {review:6}  "
            f"{','.join(flags) or '-':21}  {status}"
        )
