"""The one way SkinDesk writes numbers for people: percentages and durations.

Every screen, file and page uses these: a percentage is a number, a space and ``%`` ("68 %",
"<1 %" for a tiny non-zero value, "9.3 %" when a decimal is asked for or needed to tell two
values apart); a duration is a clock ("02:05", "1:02:05").
"""

from __future__ import annotations

__all__ = ["percent", "percent_pair", "percent_range", "duration"]


def percent(value: float | None, digits: int = 0) -> str:
    """``0.68`` → ``"68 %"``; ``digits`` decimals; ``"<1 %"`` for a tiny non-zero value shown
    whole; ``"–"`` for a missing or non-numeric value."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "–"
    if number != number:  # NaN
        return "–"
    if digits == 0 and 0.0 < number < 0.005:
        return "<1 %"
    return f"{number * 100:.{digits}f} %"


def percent_pair(value: float, threshold: float) -> tuple[str, str]:
    """A probability and its threshold as percentages that never look equal when they differ:
    whole percentages, or one or two decimals when whole ones would look the same."""
    for digits in (0, 1, 2):
        a, b = percent(value, digits), percent(threshold, digits)
        if a != b:
            return a, b
    return a, b


def percent_range(low: float, high: float, digits: int = 0) -> str:
    """A confidence interval, e.g. ``"85–93 %"``."""
    return f"{percent(low, digits)[:-2]}–{percent(high, digits)}"


def duration(seconds: float | None) -> str:
    """Elapsed or remaining time as a clock: ``"00:42"``, ``"12:05"``, ``"1:02:05"``
    (``"--:--"`` when unknown)."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "--:--"
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
