"""The one results schema: every column of a results file, defined once.

A ``Column`` names its CSV header, the ``ResultRow`` attribute it holds, how a value becomes a
cell (``format``) and back (``parse``), how people read it (``show``; the app's batch table and
the CLI), its label in the app's batch table (None: not shown there), its JSON form and the other
header spellings readers accept (``aliases``). ``SCHEMA`` (head columns, one probability column
per class, tail columns) drives the CSV writer, both CSV readers (the exact one that resumes a
run and the tolerant one behind the batch report), the JSON output and the app's batch table, so
a new column is one ``Column`` in ``SCHEMA`` (beside the ``ResultRow`` field that holds it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .assessment import Assessment, assessment_of, reason_text
from .formatting import percent
from .wording import ALERT_SEPARATOR, alert_phrase

__all__ = [
    "AlertMark",
    "ResultRow",
    "Column",
    "ResultSchema",
    "SCHEMA",
    "current_schema",
    "parse_alerts",
]


@dataclass(frozen=True)
class AlertMark:
    """A raised alert as a results file records it; ``text`` is how it reads everywhere."""

    class_name: str
    probability: float | None = None
    threshold: float | None = None
    text: str = ""

    @classmethod
    def of(cls, class_name: str, display_name: str, probability: float,
           threshold: float) -> AlertMark:
        return cls(class_name, probability, threshold,
                   alert_phrase(display_name, probability, threshold))

    def to_json(self) -> dict[str, Any]:
        return {"class": self.class_name, "probability": self.probability,
                "threshold": self.threshold, "text": self.text}


_PHRASE = re.compile(r"^(?P<name>.+?) (?P<p><?[\d.]+) % ≥ alert threshold (?P<t>[\d.]+) %$")
_MACHINE = re.compile(r"^(?P<name>.+):(?P<p>[\d.]+)>=(?P<t>[\d.]+)$")  # files before 0.2


def _alert(text: str) -> AlertMark:
    text = text.strip()
    phrase = _PHRASE.match(text)
    if phrase:
        p = phrase["p"].lstrip("<")
        return AlertMark(phrase["name"], float(p) / 100, float(phrase["t"]) / 100, text)
    machine = _MACHINE.match(text)
    if machine:
        p, t = float(machine["p"]), float(machine["t"])
        return AlertMark(machine["name"], p, t, alert_phrase(machine["name"], p, t))
    return AlertMark(text, text=text)


def parse_alerts(cell: str) -> tuple[AlertMark, ...]:
    """Alerts from a CSV cell: 'melanoma 24 % ≥ alert threshold 9 %; …' (or an older file's
    'melanoma:0.24>=0.09', rewritten in words)."""
    return tuple(_alert(part) for part in cell.split(ALERT_SEPARATOR.strip()) if part.strip())


@dataclass(frozen=True)
class ResultRow:
    """The outcome for one file: a classification, or an ``error`` saying why there is none."""

    file: str
    top_class: str = ""
    top_probability: float | None = None
    probabilities: Mapping[str, float] = field(default_factory=dict)
    malignant: bool | None = None
    review_advised: bool | None = None
    alerts: tuple[AlertMark, ...] = ()
    uncertain: bool | None = None
    out_of_distribution: bool | None = None
    ood_score: float | None = None
    quality: tuple[str, ...] = ()  # quality codes (``skindesk.core.quality.REASONS``)
    operating_point: str = ""
    gate_level: str = ""  # the image gate's strictness level the row was judged at
    model: str = ""
    model_version: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def assessment(self) -> Assessment:
        """'not assessed' (and why), 'review advised' or 'no alert'; empty for an error row."""
        return assessment_of(self.out_of_distribution, self.quality, self.review_advised,
                             classified=self.ok and bool(self.top_class))

    @property
    def alert_text(self) -> str:
        """The alerts as they read everywhere, joined by '; '."""
        return ALERT_SEPARATOR.join(a.text for a in self.alerts)

    def top_k(self, k: int | None = None) -> list[tuple[str, float]]:
        """(class, probability), highest first; ties keep the model's class order."""
        ranked = sorted(self.probabilities.items(), key=lambda kv: -kv[1])
        return ranked if k is None else ranked[:k]


# -- cells --------------------------------------------------------------------------------
_TRUE, _FALSE = {"true", "1", "yes", "y", "t"}, {"false", "0", "no", "n", "f"}


def _bool_cell(value: bool | None) -> str:
    return "" if value is None else ("true" if value else "false")


def _parse_bool(text: str) -> bool | None:
    text = text.strip().lower()
    if text == "":
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"not true or false: {text!r}")


def _float_cell(digits: int) -> Callable[[float | None], str]:
    return lambda value: "" if value is None else f"{value:.{digits}f}"


def _parse_float(text: str) -> float | None:
    text = text.strip()
    if text == "":
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"not a number: {text!r}") from None


def _parse_probability(text: str) -> float | None:
    """A probability 0-1 (a value over 1 was written as a percentage, e.g. by a spreadsheet)."""
    value = _parse_float(text.rstrip().removesuffix("%"))
    return value / 100.0 if value is not None and value > 1.0 else value


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _flag(value: bool | None) -> str:
    return "yes" if value else ""


def _same(value: Any) -> Any:
    return value


def _parse_codes(text: str) -> tuple[str, ...]:
    """Quality codes from a cell: 'too_dark; blurred' → ('too_dark', 'blurred')."""
    return tuple(part.strip() for part in text.split(ALERT_SEPARATOR.strip()) if part.strip())


@dataclass(frozen=True)
class Column:
    """One results column (see the module docstring)."""

    name: str
    attribute: str
    format: Callable[[Any], str] = _text
    parse: Callable[[str], Any] = str.strip
    label: str | None = None
    show: Callable[[Any], str] = _text
    json: Callable[[Any], Any] = _same
    aliases: tuple[str, ...] = ()


def _bool_column(name: str, label: str | None, aliases: tuple[str, ...] = ()) -> Column:
    return Column(name, name, _bool_cell, _parse_bool, label, _flag, aliases=aliases)


HEAD = (
    Column("file", "file", label="File", show=lambda v: Path(v).name if v else "",
           aliases=("path", "image", "file_name", "filename")),
    Column("top_class", "top_class", label="Top class", json=lambda v: v or None,
           aliases=("top", "prediction", "predicted_class", "class")),
    Column("top_probability", "top_probability", _float_cell(6), _parse_probability,
           "Probability", lambda v: "" if v is None else percent(v),
           aliases=("probability", "top_prob", "confidence")),
    _bool_column("malignant", "Malignant", ("malignant_flag", "top_malignant", "is_malignant")),
    # No table label: the Status column already says "review advised" (CSV and JSON keep it).
    _bool_column("review_advised", None, ("review",)),
    Column("alerts", "alerts", lambda v: ALERT_SEPARATOR.join(a.text for a in v),
           parse_alerts, "Alerts", lambda v: ALERT_SEPARATOR.join(a.text for a in v),
           lambda v: [a.to_json() for a in v], ("alert",)),
    _bool_column("uncertain", "Uncertain"),
    _bool_column("out_of_distribution", None, ("ood", "out_of_dist", "not_dermoscopy")),
    Column("ood_score", "ood_score", _float_cell(4), _parse_float),
    # Quality codes ('too_dark; blurred'; '' when fine); people read their sentences.
    Column("quality", "quality", ALERT_SEPARATOR.join, _parse_codes, None,
           lambda v: ALERT_SEPARATOR.join(reason_text(c) for c in v), list,
           ("quality_issues", "image_quality")),
    # Derived from the columns before it (read back, it is recomputed, never trusted).
    Column("status", "assessment", lambda a: a.status, str.strip, "Status", lambda a: a.text,
           lambda a: a.status or None, ("assessment",)),
)
TAIL = (
    Column("operating_point", "operating_point"),
    Column("gate_level", "gate_level", json=lambda v: v or None, aliases=("gate_strictness",)),
    Column("model", "model", aliases=("model_name",)),
    Column("model_version", "model_version", aliases=("version",)),
    Column("error", "error", label="Error", json=lambda v: v or None,
           aliases=("errors", "problem")),
)


def _key(header: str) -> str:
    """A header as readers compare it: lower case, spaces, dashes and dots as '_'."""
    return "_".join(header.strip().lower().replace("-", " ").replace(".", " ").split())


@dataclass(frozen=True)
class ResultSchema:
    """Head columns, one probability column per class, tail columns; and the row type."""

    head: tuple[Column, ...] = HEAD
    tail: tuple[Column, ...] = TAIL
    row_type: type = ResultRow

    def with_column(self, column: Column, row_type: type | None = None,
                    after: str = "ood_score") -> ResultSchema:
        """This schema with ``column`` after the head column ``after`` (tests, extensions)."""
        names = [c.name for c in self.head]
        at = names.index(after) + 1 if after in names else len(names)
        return replace(self, head=(*self.head[:at], column, *self.head[at:]),
                       row_type=row_type or self.row_type)

    @property
    def fixed(self) -> tuple[Column, ...]:
        return (*self.head, *self.tail)

    def table_columns(self) -> list[Column]:
        """The columns the app's batch table shows, in order."""
        return [c for c in self.fixed if c.label is not None and c not in self.tail] + [
            c for c in self.tail if c.label is not None]

    def columns(self, class_names: Sequence[str]) -> list[str]:
        """The CSV header for a model with these classes."""
        clash = set(class_names) & {c.name for c in self.fixed}
        if clash:
            raise ValueError(f"class names {sorted(clash)} clash with result column names")
        return [*(c.name for c in self.head), *class_names, *(c.name for c in self.tail)]

    def class_names_in(self, header: Sequence[str]) -> tuple[str, ...]:
        """The class columns of an exact header (between the head and the tail)."""
        return tuple(header[len(self.head): len(header) - len(self.tail)])

    def cells(self, row: Any, class_names: Sequence[str]) -> list[str]:
        """The row's cells in ``columns(class_names)`` order."""
        probabilities = row.probabilities
        return (
            [c.format(getattr(row, c.attribute)) for c in self.head]
            + [_float_cell(6)(probabilities.get(n)) if probabilities else "" for n in class_names]
            + [c.format(getattr(row, c.attribute)) for c in self.tail]
        )

    def parse(self, cells: Sequence[str], class_names: Sequence[str]) -> Any:
        """A row from cells in ``columns(class_names)`` order (``ValueError`` when malformed)."""
        expected = len(self.head) + len(class_names) + len(self.tail)
        if len(cells) != expected:
            raise ValueError(f"{len(cells)} cells where {expected} were expected")
        names = self.columns(class_names)
        return self.parse_record(dict(zip(names, cells)), class_names)

    def parse_record(self, record: Mapping[str, str], class_names: Sequence[str]) -> Any:
        """A row from ``{header: cell}`` (any order; missing columns stay empty).

        Raises:
            ValueError: a cell that is not what its column holds, naming the column.
        """
        values: dict[str, Any] = {}
        for column in self.fixed:
            cell = record.get(column.name)
            if cell is None:
                continue
            try:
                values[column.attribute] = column.parse(cell)
            except ValueError as error:
                raise ValueError(f"column '{column.name}': {error}") from None
        if not values.get("file"):
            raise ValueError("empty file name")
        cells = [(n, (record.get(n) or "").strip()) for n in class_names]
        if any(cell for _, cell in cells):
            try:
                values["probabilities"] = {n: float(cell or 0) for n, cell in cells}
            except ValueError as error:
                raise ValueError(f"a class probability is not a number ({error})") from None
        allowed = {f.name for f in fields(self.row_type)}
        return self.row_type(**{k: v for k, v in values.items() if k in allowed})

    def to_json(self, row: Any, top_k: int | None = None) -> dict[str, Any]:
        """A JSON-ready mapping with typed values; class probabilities under 'probabilities'."""
        document: dict[str, Any] = {}
        for column in self.fixed:
            document[column.name] = column.json(getattr(row, column.attribute))
            if column.name == "top_probability":
                document["top_k"] = [{"class": c, "probability": p} for c, p in row.top_k(top_k)]
                document["probabilities"] = dict(row.probabilities)
        return document

    def match_header(self, header: Sequence[str]) -> tuple[dict[str, str], tuple[str, ...]]:
        """For a header in any order and spelling: {column name: header as written}, and the
        remaining headers (the class columns)."""
        keyed = {_key(h): h for h in header if h}
        found: dict[str, str] = {}
        for column in self.fixed:
            for spelling in (column.name, *column.aliases):
                if spelling in keyed:
                    found[column.name] = keyed[spelling]
                    break
        used = set(found.values())
        return found, tuple(h for h in header if h and h not in used)


SCHEMA = ResultSchema()


def current_schema() -> ResultSchema:
    """The schema in use (``SCHEMA``, looked up at call time so an extension replaces it)."""
    import sys

    return sys.modules[__name__].SCHEMA
