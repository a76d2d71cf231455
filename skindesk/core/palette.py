"""SkinDesk's colours, as hex strings, for every presenter (the app's widgets and the PDF).

Malignant classes are red, pre-malignant amber, benign slate blue; alerts use a deeper red so the
banner links to the bars that raised it; warnings (uncertain, not assessed, unreadable file)
are amber on a pale yellow. Neutral greys for text, rules and boxes complete the set.
"""

from __future__ import annotations

__all__ = [
    "MALIGNANT", "PREMALIGNANT", "BENIGN", "ALERT", "ALERT_FILL", "WARNING", "WARNING_TEXT",
    "WARNING_FILL", "WARNING_BORDER", "NOTICE", "NOTICE_TEXT", "NOTICE_FILL", "TOP_FILL",
    "TEXT", "TEXT_MUTED", "TEXT_FAINT", "RULE", "RULE_LIGHT", "TRACK", "HEADER_FILL",
    "MARKER", "GROUP_COLOURS", "group_colour",
]

MALIGNANT = "#c62828"
PREMALIGNANT = "#ef8f00"
BENIGN = "#4f6d8f"
ALERT = "#b71c1c"
ALERT_FILL = "#fdecea"
WARNING = "#e6a100"
WARNING_TEXT = "#7a5200"
WARNING_FILL = "#fff7e0"
WARNING_BORDER = "#d9a400"
NOTICE = "#6d7f8f"
NOTICE_TEXT = "#33475b"
NOTICE_FILL = "#f1f4f7"
TOP_FILL = "#fff3c4"
TEXT = "#000000"
TEXT_MUTED = "#333333"
TEXT_FAINT = "#555555"
RULE = "#999999"
RULE_LIGHT = "#cccccc"
TRACK = "#eeeeee"
HEADER_FILL = "#e3e7ec"
MARKER = "#111111"

GROUP_COLOURS = {"malignant": MALIGNANT, "pre-malignant": PREMALIGNANT, "benign": BENIGN}


def group_colour(group: str) -> str:
    """The colour of a class group ('malignant', 'pre-malignant' or 'benign')."""
    return GROUP_COLOURS.get(group, BENIGN)
