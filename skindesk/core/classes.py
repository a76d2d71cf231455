"""The nine diagnoses SkinDesk knows, with display names and malignancy flags."""

from __future__ import annotations

__all__ = ["NINE_CLASSES", "class_entries"]

# (name, display name, malignant, pre-malignant), in the model's output order.
NINE_CLASSES: tuple[tuple[str, str, bool, bool], ...] = (
    ("actinic keratosis", "Actinic keratosis", False, True),
    ("basal cell carcinoma", "Basal cell carcinoma", True, False),
    ("dermatofibroma", "Dermatofibroma", False, False),
    ("melanoma", "Melanoma", True, False),
    ("nevus", "Nevus", False, False),
    ("pigmented benign keratosis", "Pigmented benign keratosis", False, False),
    ("seborrheic keratosis", "Seborrheic keratosis", False, False),
    ("squamous cell carcinoma", "Squamous cell carcinoma", True, False),
    ("vascular lesion", "Vascular lesion", False, False),
)


def class_entries(names: list[str] | tuple[str, ...] | None = None) -> list[dict]:
    """Model-card ``classes`` entries for ``names`` (default: all nine, in order)."""
    known = {row[0]: row for row in NINE_CLASSES}
    names = list(names) if names is not None else [row[0] for row in NINE_CLASSES]
    entries = []
    for name in names:
        _, display, malignant, premalignant = known.get(
            name, (name, name.replace("_", " ").capitalize(), False, False)
        )
        entries.append(
            {"name": name, "display_name": display, "malignant": malignant,
             "premalignant": premalignant}
        )
    return entries
