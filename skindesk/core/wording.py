"""Sentences every output shares, so the app, the CLI, the files and the PDF say the same thing.

``alert_phrase`` is how a raised alert reads everywhere ("melanoma 24 % ≥ alert threshold 9 %");
``LIMITATION`` is the statement about whom the model's data under-represent, shown in About,
``skindesk info`` and every report; ``PRIVACY`` is the privacy statement of About and the README.
An image the image gate or a quality check rejects is "not assessed": ``NOT_DERMOSCOPY`` is the
gate's reason, ``NOT_ASSESSED_ADVICE`` what to do, ``SHOWN_ANYWAY`` the note over probabilities
shown on request (``FOR_THE_RECORD`` on a report), ``withheld_phrase`` the alerts it would have
raised.
"""

from __future__ import annotations

from .formatting import percent_pair

__all__ = ["ALERT_SEPARATOR", "LIMITATION", "PRIVACY", "NOT_ASSESSED", "NOT_DERMOSCOPY",
           "NOT_ASSESSED_ADVICE", "SHOWN_ANYWAY", "FOR_THE_RECORD", "alert_phrase",
           "withheld_phrase"]

ALERT_SEPARATOR = "; "
LIMITATION = (  # true of any model SkinDesk ships; its card names the archives it learned from
    "Limitation: the model learned from public dermoscopy archives that under-represent darker "
    "skin types, some body sites and some lesion types, and images from other dermatoscopes; "
    "accuracy on other populations and devices can be lower than the figures in the model card."
)

NOT_ASSESSED = "not assessed"
NOT_DERMOSCOPY = "This does not look like a dermoscopic image of a skin lesion"
NOT_ASSESSED_ADVICE = "No alert is raised from it; take a new dermoscopic image."
SHOWN_ANYWAY = (
    "Shown on request: this image was not assessed, so these probabilities and the heat map "
    "may be meaningless."
)
FOR_THE_RECORD = (
    "For the record only: this image was not assessed, so these probabilities may be "
    "meaningless."
)

PRIVACY = (
    "SkinDesk runs entirely on this computer and sends nothing anywhere. It switches off "
    "onnxruntime's own telemetry before the runtime loads (ORT_DISABLE_TELEMETRY=1), so "
    "onnxruntime writes no device identifier (~/.cache/Microsoft/DeveloperTools) and queues "
    "nothing for upload. The one exception is one you choose: a case store on your practice's "
    "own PostgreSQL server (Patients > Case store…) keeps patients' records there."
)


def alert_phrase(class_label: str, probability: float, threshold: float) -> str:
    """'melanoma 24 % ≥ alert threshold 9 %' (decimals only when whole percentages would look
    equal); ``class_label`` is written in lower case."""
    shown, limit = percent_pair(probability, threshold)
    return f"{class_label.lower()} {shown} ≥ alert threshold {limit}"


def withheld_phrase(alert_texts: list[str]) -> str:
    """'Alerts withheld: melanoma 60 % ≥ alert threshold 12 %.' ('' when none was withheld)."""
    if not alert_texts:
        return ""
    return "Alerts withheld: " + ALERT_SEPARATOR.join(alert_texts) + "."
