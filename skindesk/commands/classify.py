"""``skindesk classify``: classify image files and folders without a window.

Runs the core batch engine (``skindesk.core.batch``) and writes one row per file as a table, CSV
or JSON, to the terminal or to ``--output``. CSV output is written row by row, so an interrupted
run keeps its rows and ``--resume`` finishes it; an existing output file is never replaced
unless ``--overwrite`` says so. A progress line (done/total, rate, ETA) goes to stderr when there
is more than one file. Exit status: 0 every file classified, 1 some files could not be
classified (their rows say why), 2 usage or model error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from ..core.batch import DEFAULT_BATCH_SIZE, Progress, classify_files, default_workers, find_images
from ..core.atomic import write_text_atomically
from ..core.errors import SkinDeskError
from ..core.formatting import duration, percent
from .options import add_model_options, open_classifier
from ..core.results import (
    CsvResultWriter,
    ModelInfo,
    ResultCounts,
    ResultRow,
    ResultsFileError,
    TableRenderer,
    columns_for,
    csv_line,
    open_results_csv,
    row_to_csv_fields,
    rows_to_json,
)

__all__ = ["add_parser", "run", "main", "ProgressLine"]

FORMATS = ("table", "csv", "json")
DEFAULT_TOP_K = 3


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``classify`` on the CLI's subparsers."""
    parser = subparsers.add_parser(
        "classify",
        help="classify image files and folders without a window (default output: a table)",
        description=(
            "Classify dermoscopic images. Decision support, not a diagnosis: a clinician makes "
            "every diagnostic decision. One row per file; files that cannot be read get a row "
            "with an error. Exit status: 0 all classified, 1 some files had errors, 2 usage or "
            "model error."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files and/or folders to classify (required; no default)")
    parser.add_argument(
        "-r", "--recursive", action="store_true",
        help="also search subfolders of the folders given (default: off)",
    )
    parser.add_argument(
        "-k", "--top-k", type=_positive_int, default=DEFAULT_TOP_K, metavar="K",
        help=f"classes shown per file in table and JSON output (default: {DEFAULT_TOP_K}); "
        "CSV always has every class",
    )
    parser.add_argument(
        "-f", "--format", choices=FORMATS, default=None,
        help="output format (default: from the --output extension, .json -> json, otherwise "
        "csv; table when writing to the terminal)",
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", default=None,
        help="write results to FILE, row by row for CSV (default: standard output)",
    )
    parser.add_argument(
        "--resume", action="store_true",
        help="continue an interrupted CSV --output: skip files already in it and append the "
        "rest (default: off)",
    )
    parser.add_argument(
        "--overwrite", action="store_true",
        help="replace an existing --output file (default: off; an existing file is refused)",
    )
    add_model_options(parser)
    parser.add_argument(
        "--batch-size", type=_positive_int, default=DEFAULT_BATCH_SIZE, metavar="N",
        help=f"images per inference call (default: {DEFAULT_BATCH_SIZE})",
    )
    parser.add_argument(
        "--workers", type=_positive_int, default=None, metavar="N",
        help="parallel lanes, each decoding and classifying a chunk of files (default: one per "
             f"CPU core, here {default_workers()})",
    )
    parser.set_defaults(func=run)
    return parser


# -- progress -------------------------------------------------------------------------
class ProgressLine:
    """One progress line on ``stream``: redrawn in place on a terminal, else printed every few
    seconds. ``clear()`` before printing other text to the same terminal."""

    def __init__(self, stream: TextIO, prefix: str = "") -> None:
        self.stream = stream
        self.prefix = prefix
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self._interval = 0.1 if self.tty else 5.0
        self._last = 0.0
        self._width = 0
        self._progress: Progress | None = None
        self._printed_done: int | None = None

    @staticmethod
    def text(progress: Progress, prefix: str = "") -> str:
        bar_width = 24
        filled = int(bar_width * progress.fraction)
        bar = "#" * filled + "." * (bar_width - filled)
        return (
            f"{prefix}[{bar}] {progress.done}/{progress.total} {percent(progress.fraction):>5}  "
            f"{progress.rate:.1f} images/s  ETA {duration(progress.eta)}"
        )

    def update(self, progress: Progress, force: bool = False) -> None:
        self._progress = progress
        now = time.monotonic()
        if not force and now - self._last < self._interval and progress.done < progress.total:
            return
        self._last = now
        self._draw()

    def _draw(self) -> None:
        if self._progress is None:
            return
        line = self.text(self._progress, self.prefix)
        try:
            if self.tty:
                self.stream.write("\r" + line.ljust(self._width))
                self._width = len(line)
            else:
                self.stream.write(line + "\n")
            self._printed_done = self._progress.done
            self.stream.flush()
        except (OSError, ValueError):
            pass

    def clear(self) -> None:
        if self.tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self._width = 0

    def redraw(self) -> None:
        if self.tty:
            self._draw()

    def finish(self) -> None:
        if self._progress is not None:
            if self.tty:
                self._draw()
                self.stream.write("\n")
            elif self._progress.done != self._printed_done:
                self._draw()
            self.stream.flush()


# -- the command ----------------------------------------------------------------------
def _error(message: str) -> int:
    print(f"skindesk classify: error: {message}", file=sys.stderr)
    return 2


def _choose_format(args: argparse.Namespace) -> str:
    if args.format:
        return args.format
    if args.output:
        return "json" if args.output.lower().endswith(".json") else "csv"
    return "table"


def run(args: argparse.Namespace) -> int:
    """Run ``skindesk classify``; returns the exit status."""
    fmt = _choose_format(args)
    output = Path(args.output) if args.output else None
    if args.resume and args.overwrite:
        return _error("--resume and --overwrite cannot be used together")
    if args.resume and (output is None or fmt != "csv"):
        return _error("--resume needs a CSV --output file to continue (e.g. -o results.csv)")
    if output is not None and fmt == "table":
        return _error("--format table is for the terminal; use --format csv or json with --output")
    if output is not None and output.is_dir():
        return _error(f"--output {output} is a folder; give a file name")
    if output is not None and fmt != "csv" and output.exists() and not args.overwrite:
        return _error(f"{output} already exists; use --overwrite to replace it or choose another file")

    try:
        classifier = open_classifier(args)
    except (SkinDeskError, ValueError) as error:
        return _error(str(error))
    if classifier.provider_note and args.provider == "cuda":
        print(f"skindesk classify: note: {classifier.provider_note}", file=sys.stderr)
    model = ModelInfo.from_classifier(classifier)

    discovery = find_images(args.paths, recursive=args.recursive)
    items = discovery.items
    if discovery.skipped_folders:
        print(
            f"skindesk classify: note: {discovery.skipped_folders} subfolder(s) not searched; "
            "use --recursive to include them",
            file=sys.stderr,
        )
    if not items:
        return _error("no files found in " + ", ".join(args.paths))

    writer: CsvResultWriter | None = None
    previous: list[ResultRow] = []
    if output is not None and fmt == "csv":
        try:
            writer, state = open_results_csv(
                output, model, resume=args.resume, overwrite=args.overwrite
            )
        except ResultsFileError as error:
            return _error(str(error))
        if state is not None:
            previous = state.rows
            done = state.done_files
            items = [i for i in items if i.path not in done and os.path.abspath(i.path) not in done]
            repaired = f"; {state.dropped_lines} damaged line(s) dropped" if state.dropped_lines else ""
            print(
                f"skindesk classify: resuming {output}: {len(state.rows)} file(s) already done, "
                f"{len(items)} to go{repaired}",
                file=sys.stderr,
            )

    print(
        f"skindesk classify: {len(items)} file(s), model {classifier.card_title} on "
        f"{classifier.provider}; alerts at {model.operating_point}. Decision support, not a "
        "diagnosis.",
        file=sys.stderr,
    )
    return _classify(args, classifier, model, items, fmt, output, writer, previous)


def _classify(args, classifier, model, items, fmt, output, writer, previous) -> int:  # noqa: ANN001
    stdout = sys.stdout
    counts = ResultCounts()
    for row in previous:
        counts.add(row)
    progress = ProgressLine(sys.stderr) if len(items) > 1 else None
    table = TableRenderer([i.path for i in items], args.top_k) if fmt == "table" else None
    rows_for_json: list[ResultRow] = list(previous) if fmt == "json" else []
    cancel = threading.Event()
    interrupted = False

    def emit(text: str) -> None:
        if progress is not None and stdout.isatty() and progress.tty:
            progress.clear()
        stdout.write(text + "\n")
        stdout.flush()
        if progress is not None and stdout.isatty() and progress.tty:
            progress.redraw()

    if table is not None:
        emit(table.header())
    elif fmt == "csv" and writer is None:
        emit(_csv_text(columns_for(model.class_names)))
    try:
        rows = classify_files(
            classifier,
            items,
            batch_size=args.batch_size,
            workers=args.workers,
            cancel=cancel,
            on_progress=progress.update if progress is not None else None,
        )
        for row in rows:
            counts.add(row)
            if writer is not None:
                writer.write(row)
            elif fmt == "csv":
                emit(_csv_text(row_to_csv_fields(row, model.class_names)))
            elif table is not None:
                emit(table.line(row))
            else:
                rows_for_json.append(row)
    except KeyboardInterrupt:
        cancel.set()
        interrupted = True
    except SkinDeskError as error:
        if writer is not None:
            writer.close()
        return _error(str(error))
    except Exception as error:  # onnxruntime failing mid-run: rows so far are kept
        if writer is not None:
            writer.close()
        return _error(f"the model failed while classifying ({type(error).__name__}: {error})")
    finally:
        if progress is not None:
            progress.finish()
    if writer is not None:
        writer.close()
    if fmt == "json" and not interrupted:
        text = rows_to_json(rows_for_json, model, args.top_k, classifier.card.disclaimer)
        if output is None:
            stdout.write(text + "\n")
        else:
            try:
                write_text_atomically(output, text + "\n")
            except OSError as error:
                return _error(f"{output}: cannot be written ({error.strerror or error})")
    if interrupted:
        where = f"; {counts.total} row(s) kept in {output}, rerun with --resume to finish" if writer else ""
        print(f"\nskindesk classify: interrupted{where}", file=sys.stderr)
        return 130
    print(counts.describe(model.class_names), file=sys.stderr)
    if output is not None:
        print(f"Results written to {output}", file=sys.stderr)
    return 1 if counts.errors else 0


def _csv_text(fields: list[str]) -> str:
    return csv_line(fields).rstrip("\n")


def main(argv: list[str] | None = None) -> int:
    """Run ``classify`` on its own (``python -m skindesk.commands.classify``)."""
    parser = argparse.ArgumentParser(prog="skindesk")
    add_parser(parser.add_subparsers(dest="verb", required=True))
    return run(parser.parse_args(["classify", *(sys.argv[1:] if argv is None else argv)]))


if __name__ == "__main__":
    sys.exit(main())
