"""One way to write percentages and durations."""

from __future__ import annotations

import pytest

from skindesk.core.formatting import duration, percent, percent_pair, percent_range
from skindesk.core.wording import alert_phrase


@pytest.mark.parametrize("value, digits, text", [
    (0.68, 0, "68 %"), (0.004, 0, "<1 %"), (0.0, 0, "0 %"), (1.0, 0, "100 %"),
    (0.913, 1, "91.3 %"), (None, 0, "–"), ("x", 0, "–"), (float("nan"), 0, "–"),
])
def test_percent(value, digits, text) -> None:  # noqa: ANN001
    assert percent(value, digits) == text


def test_pairs_and_ranges_never_look_equal_when_they_differ() -> None:
    assert percent_pair(0.24, 0.093) == ("24 %", "9 %")
    assert percent_pair(0.124, 0.12) == ("12.4 %", "12.0 %")
    assert percent_range(0.85, 0.93) == "85–93 %"


def test_alert_phrase() -> None:
    assert alert_phrase("Melanoma", 0.244, 0.093) == "melanoma 24 % ≥ alert threshold 9 %"


@pytest.mark.parametrize("seconds, text", [
    (None, "--:--"), (-1, "--:--"), (42.4, "00:42"), (725, "12:05"), (3725, "1:02:05"),
])
def test_duration(seconds, text) -> None:  # noqa: ANN001
    assert duration(seconds) == text
