"""Whether an image was assessed and why not; the image gate's levels and the quality limits in
words. (No Qt, no TensorFlow.)

``Assessment`` is the one status every presenter shows (app, batch table, CLI, CSV/JSON, PDF):
"not assessed" when the image gate judged the image not a dermoscopic image of a skin lesion or
a quality check failed (with the reasons, the gate's first), else "review advised" or "no alert".
``assessment_of`` builds it from the same facts for a ``Prediction`` and for a results row.
``gate_levels`` lists the card's validated strictness levels (lenient first) with their false-flag
rates; ``quality_limit_lines`` says the card's quality limits in plain words.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .formatting import percent
from .quality import REASONS, QualityLimits
from .wording import NOT_ASSESSED, NOT_DERMOSCOPY

__all__ = [
    "REVIEW_ADVISED",
    "NO_ALERT",
    "Assessment",
    "assessment_of",
    "reason_text",
    "GateLevel",
    "gate_levels",
    "default_gate_level",
    "gate_score_text",
    "quality_limit_lines",
]

REVIEW_ADVISED = "review advised"
NO_ALERT = "no alert"


def reason_text(code: str) -> str:
    """The sentence of a quality code ('too_dark' → 'The image is too dark to assess'); an
    unknown code (a file from a newer SkinDesk) as written."""
    return REASONS.get(code, code)


@dataclass(frozen=True)
class Assessment:
    """The status of one result and, when not assessed, why (the banner's sentence first)."""

    status: str  # NOT_ASSESSED, REVIEW_ADVISED, NO_ALERT, or "" for a file not classified
    reasons: tuple[str, ...] = ()

    @property
    def assessed(self) -> bool:
        return self.status in (REVIEW_ADVISED, NO_ALERT)

    @property
    def reason(self) -> str:
        """The first reason (the banner's sentence), '' when assessed."""
        return self.reasons[0] if self.reasons else ""

    @property
    def text(self) -> str:
        """'not assessed: the image is too dark to assess', 'review advised', 'no alert' or ''."""
        if self.status == NOT_ASSESSED and self.reasons:
            return f"{NOT_ASSESSED}: " + "; ".join(r[:1].lower() + r[1:] for r in self.reasons)
        return self.status


def assessment_of(out_of_distribution: bool | None, quality_codes: Iterable[str],
                  review_advised: bool | None, classified: bool = True) -> Assessment:
    """The assessment of a classified image (``classified`` False: a file with no result)."""
    if not classified:
        return Assessment("")
    reasons = ([NOT_DERMOSCOPY] if out_of_distribution else []) + [
        reason_text(code) for code in quality_codes]
    if reasons:
        return Assessment(NOT_ASSESSED, tuple(dict.fromkeys(reasons)))
    return Assessment(REVIEW_ADVISED if review_advised else NO_ALERT)


# -- the image gate's levels ----------------------------------------------------------------
@dataclass(frozen=True)
class GateLevel:
    """One validated strictness level of the image gate."""

    name: str
    threshold: float
    false_flag_rate: float | None  # share of validation dermoscopy it flags (the chosen rate)
    test_false_flag_rate: float | None  # the same on the held-out test split
    default: bool

    @property
    def label(self) -> str:
        """'standard (default): flags 0.5 % of real dermoscopic images (validation)…'."""
        text = self.name + (" (default)" if self.default else "")
        if self.false_flag_rate is None:
            return text + ": false-flag rate not recorded"
        text += (f": flags {percent(self.false_flag_rate, 1)} of real dermoscopic images "
                 "(validation")
        if self.test_false_flag_rate is not None:
            text += f"; {percent(self.test_false_flag_rate, 1)} on the test split"
        return text + ")"


def _rate(table: Any, name: str) -> float | None:
    try:
        return float(table[name])
    except (KeyError, TypeError, ValueError):
        return None


def gate_levels(card: Any) -> list[GateLevel]:
    """The card's validated levels, most lenient (highest threshold) first; [] when it has none."""
    ood = card.raw.get("ood") or {}
    rates = ood.get("level_false_flag_rates") or {}
    test = (ood.get("figures") or {}).get("levels_test_false_flags") or {}
    default = default_gate_level(card)
    return [GateLevel(name, float(threshold), _rate(rates, name), _rate(test, name),
                      name == default)
            for name, threshold in sorted(card.ood_levels.items(), key=lambda kv: -kv[1])]


def default_gate_level(card: Any) -> str | None:
    """The level whose threshold is the card's default threshold (None when none is)."""
    if card.ood_threshold is None:
        return None
    for name, threshold in card.ood_levels.items():
        if abs(threshold - card.ood_threshold) <= 1e-9 * max(1.0, abs(threshold)):
            return name
    return None


def gate_score_text(card: Any) -> str:
    """What the gate's score is, from the card ('' when the model has no gate)."""
    ood = card.raw.get("ood") or {}
    if card.ood_threshold is None:
        return ""
    return str(ood.get("score") or "out-of-distribution score")


# -- quality limits ---------------------------------------------------------------------------
def quality_limit_lines(limits: QualityLimits | None) -> list[tuple[str, str]]:
    """(reason, when it applies) for each quality check; [] for a model without limits."""
    if limits is None:
        return []
    return [
        ("too small", f"the shorter side is under {limits.min_side} pixels"),
        ("too dark", f"mean brightness under {limits.min_brightness:.0f} of 255, or more than "
                     f"{percent(limits.max_dark_fraction)} of the pixels near black"),
        ("overexposed", f"mean brightness over {limits.max_brightness:.0f} of 255, or more than "
                        f"{percent(limits.max_bright_fraction)} of the pixels near white"),
        ("no colour", f"mean colourfulness (chroma) under {limits.min_colourfulness:.1f} of 255"),
        ("low contrast", f"brightness spread (standard deviation) under "
                         f"{limits.min_contrast:.1f} of 255"),
        ("blurred", f"sharpness (mean Laplacian) under {limits.min_sharpness:.2f}"),
    ]
