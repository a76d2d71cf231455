"""The model card in readable rows, for ``skindesk info`` and the app's About dialog alike.

``flatten`` turns nested card fields into (dotted key, text) rows: numbers rounded to four
significant digits, long lists summarised, short lists joined; ``card_sections`` groups the whole
card by its top-level fields in the order a reader wants them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["flatten", "card_sections", "SECTION_ORDER"]

SECTION_ORDER = ("name", "version", "architecture", "created", "created_by", "licence",
                 "intended_use", "disclaimer", "classes", "input", "outputs", "preprocessing",
                 "training_data", "training", "metrics", "calibration", "uncertainty", "ood",
                 "operating_points")
_MAX_LIST = 8


def _text(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        if len(value) > _MAX_LIST:
            return f"{len(value)} items"
        return ", ".join(_text(v) for v in value) or "none"
    return str(value)


def flatten(data: Any, prefix: str = "") -> list[tuple[str, str]]:
    """(dotted key, readable text) rows for ``data`` (a mapping is walked, anything else is one
    row)."""
    if isinstance(data, Mapping):
        rows: list[tuple[str, str]] = []
        for key, value in data.items():
            rows += flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return rows
    nested = isinstance(data, (list, tuple)) and any(isinstance(v, (Mapping, list, tuple))
                                                     for v in data)
    if nested and len(data) <= _MAX_LIST:
        rows = []
        for number, value in enumerate(data, start=1):
            rows += flatten(value, f"{prefix} {number}" if prefix else str(number))
        return rows
    return [(prefix, _text(data))]


def card_sections(card: Mapping[str, Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    """(section, rows) for every top-level card field, known fields first."""
    keys = [k for k in SECTION_ORDER if k in card] + sorted(k for k in card if k not in SECTION_ORDER)
    sections = []
    for key in keys:
        value = card[key]
        if key == "classes" and isinstance(value, list):
            rows = [(str(c.get("display_name") or c.get("name")),
                     "malignant" if c.get("malignant") else
                     "pre-malignant" if c.get("premalignant") else "benign")
                    for c in value if isinstance(c, Mapping)]
        elif isinstance(value, Mapping):
            rows = flatten(value)
        else:
            rows = [("", _text(value))]
        sections.append((key.replace("_", " "), rows))
    return sections
