"""Comparing visits of one lesion: the change in words and a class's probability over time.

``change_in_words`` says what a clinician asks first — e.g. "melanoma 12% → 41%, alert now
raised" — for melanoma, every class whose alert appeared or went away, and any other class
that moved by ``NOTABLE_CHANGE`` or more. Results from another model (name, version or content
hash) are never compared silently: the sentence says so, and ``probability_series`` marks them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..core.class_rows import ClassRow
from ..core.classes import class_entries
from ..core.formatting import percent, percent_pair
from ..core.modelcard import ClassInfo
from .records import LesionRecord, StoredResult, VisitRecord

__all__ = ["NOTABLE_CHANGE", "FOCUS_CLASS", "SeriesPoint", "change_in_words", "compare_visits",
           "probability_series", "model_label", "result_rows", "score_text"]

NOTABLE_CHANGE = 0.10
FOCUS_CLASS = "melanoma"


@dataclass(frozen=True)
class SeriesPoint:
    """One visit's probability of a class; ``other_model`` when not the newest visit's model."""

    visit_id: int
    taken_on: date
    probability: float
    other_model: bool
    alert: bool


def model_label(result: StoredResult) -> str:
    return f"{result.model_name} {result.model_version}"


def score_text(result: StoredResult | None, focus: str = FOCUS_CLASS) -> str:
    """'melanoma 12 %, most likely nevus 61 %' (and the alerts, when any were raised)."""
    if result is None:
        return "no result"
    top = result.top_class
    text = (f"{focus} {percent(result.probabilities.get(focus))}, most likely {top} "
            f"{percent(result.probabilities.get(top))}")
    if result.alert_classes:
        text += " — ALERT: " + ", ".join(result.alert_classes)
    status = str(result.flags.get("status") or "")
    if status.startswith("not assessed"):
        text += f" — {status.upper()}"
    return text


def _alert_phrase(before: bool, after: bool) -> str:
    if before and after:
        return "alert still raised"
    if after:
        return "alert now raised"
    if before:
        return "alert no longer raised"
    return ""


def change_in_words(earlier: StoredResult, later: StoredResult,
                    focus: str = FOCUS_CLASS) -> str:
    """The change between two results as one line (see the module docstring)."""
    parts: list[str] = []
    names = [focus] if focus in later.probabilities else []
    for name in later.probabilities:
        if name == focus or name not in earlier.probabilities:
            continue
        alert_changed = (name in earlier.alert_classes) != (name in later.alert_classes)
        if alert_changed or abs(later.probabilities[name] - earlier.probabilities[name]) >= NOTABLE_CHANGE:
            names.append(name)
    for name in names:
        before_p = earlier.probabilities.get(name)
        after_p = later.probabilities[name]
        if before_p is None:
            text = f"{name} {percent(after_p)} (not scored before)"
        else:
            a, b = percent_pair(before_p, after_p)
            text = f"{name} {a} → {b}" if a != b else f"{name} unchanged at {b}"
        phrase = _alert_phrase(name in earlier.alert_classes, name in later.alert_classes)
        parts.append(f"{text}, {phrase}" if phrase else text)
    if earlier.top_class != later.top_class:
        parts.append(f"most likely now {later.top_class} (was {earlier.top_class})")
    sentence = "; ".join(parts) if parts else "no notable change"
    for which, result in (("earlier", earlier), ("later", later)):
        status = str(result.flags.get("status") or "")
        if status.startswith("not assessed"):
            sentence += f" — the {which} result was withheld ({status}): do not rely on it"
    if earlier.model_key() != later.model_key():
        sentence += (f" — results from different models ({model_label(earlier)} → "
                     f"{model_label(later)}): compare with care")
    return sentence


def compare_visits(earlier: VisitRecord, later: VisitRecord, focus: str = FOCUS_CLASS) -> str:
    """``change_in_words`` for two visits' newest results, or why there is nothing to compare."""
    if earlier.latest is None or later.latest is None:
        missing = earlier if earlier.latest is None else later
        return f"the visit of {missing.taken_on.isoformat()} has no result to compare"
    return change_in_words(earlier.latest, later.latest, focus)


def probability_series(lesion: LesionRecord, class_name: str = FOCUS_CLASS) -> list[SeriesPoint]:
    """``class_name``'s probability at each visit with a result, oldest first."""
    scored = [v for v in lesion.visits if v.latest is not None and
              class_name in v.latest.probabilities]
    if not scored:
        return []
    newest = scored[-1].latest.model_key()  # type: ignore[union-attr]
    return [SeriesPoint(visit_id=v.id, taken_on=v.taken_on,
                        probability=float(v.latest.probabilities[class_name]),  # type: ignore[union-attr]
                        other_model=v.latest.model_key() != newest,  # type: ignore[union-attr]
                        alert=class_name in v.latest.alert_classes)  # type: ignore[union-attr]
            for v in scored]


def result_rows(result: StoredResult) -> list[ClassRow]:
    """A stored result as the core's per-class rows (highest first), for the same bars the app
    draws for a live result; thresholds are those of the alerts the result recorded."""
    infos = {e["name"]: ClassInfo(**e) for e in class_entries(list(result.probabilities))}
    alerts = {str(a.get("class")): a for a in result.alerts}
    ranked = sorted(result.probabilities.items(), key=lambda kv: -kv[1])
    return [ClassRow(name=name, display_name=infos[name].display_name, probability=float(p),
                     group=infos[name].group,
                     threshold=float(alerts[name]["threshold"]) if "threshold" in alerts.get(name, {}) else None,
                     alerted=name in alerts, top=name == result.top_class)
            for name, p in ranked]
