"""The fixed vocabularies of the case store: anatomical sites, sexes, skin types, decisions.

Sites are the eight general anatomical sites ISIC uses. Every value a user types is checked
here, so the CLI, the app and an import refuse the same things with the same message.
"""

from __future__ import annotations

from datetime import date

__all__ = [
    "SITES",
    "SEXES",
    "DECISIONS",
    "FITZPATRICK_TYPES",
    "check_site",
    "check_sex",
    "check_fitzpatrick",
    "check_birth_year",
    "check_decision",
    "parse_date",
]

SITES: tuple[str, ...] = (
    "head/neck",
    "upper extremity",
    "lower extremity",
    "anterior torso",
    "posterior torso",
    "lateral torso",
    "palms/soles",
    "oral/genital",
)
SEXES: tuple[str, ...] = ("female", "male", "other")
FITZPATRICK_TYPES: tuple[int, ...] = (1, 2, 3, 4, 5, 6)
DECISIONS: tuple[str, ...] = ("excise", "follow-up", "discharge")
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6}


def check_site(value: str | None) -> str | None:
    """An ISIC anatomical site (case-insensitive), or None; ValueError names the choices."""
    if value is None or not value.strip():
        return None
    cleaned = value.strip().lower()
    if cleaned not in SITES:
        raise ValueError(f"unknown anatomical site {value!r}; use one of: {', '.join(SITES)}")
    return cleaned


def check_sex(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    cleaned = value.strip().lower()
    cleaned = {s[0]: s for s in SEXES}.get(cleaned, cleaned)  # f, m, o
    if cleaned not in SEXES:
        raise ValueError(f"unknown sex {value!r}; use one of: {', '.join(SEXES)}")
    return cleaned


def check_fitzpatrick(value: int | str | None) -> int | None:
    """Fitzpatrick skin type 1-6 (also written I-VI), or None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip().lower()
    number = _ROMAN.get(text)
    if number is None:
        try:
            number = int(text)
        except ValueError:
            number = 0
    if number not in FITZPATRICK_TYPES:
        raise ValueError(f"Fitzpatrick skin type {value!r} is not one of 1-6 (I-VI)")
    return number


def check_birth_year(value: int | str | None) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        year = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"birth year {value!r} is not a year such as 1968") from None
    if not 1900 <= year <= date.today().year:
        raise ValueError(f"birth year {year} is not between 1900 and {date.today().year}")
    return year


def check_decision(decision: str, months: int | None = None) -> tuple[str, int | None]:
    """A clinician's decision; ``follow-up`` needs ``months`` (1-60), the others take none."""
    cleaned = decision.strip().lower().replace("_", "-").replace(" ", "-")
    if cleaned == "followup":
        cleaned = "follow-up"
    if cleaned not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r}; use one of: {', '.join(DECISIONS)}")
    if cleaned == "follow-up":
        if months is None or not 1 <= int(months) <= 60:
            raise ValueError("a follow-up decision needs the interval in months (1-60)")
        return cleaned, int(months)
    return cleaned, None


def parse_date(text: str) -> date:
    """``YYYY-MM-DD`` → date; ValueError says what was expected."""
    try:
        value = date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date in the form YYYY-MM-DD") from None
    if value > date.today():
        raise ValueError(f"{text} is in the future")
    return value
