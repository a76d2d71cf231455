"""PDF reports for the patient record: single-image and batch reports.

``content`` assembles what goes on the page (no Qt); ``pdf`` draws it with Qt's ``QPdfWriter``.
The heat map comes from ``skindesk.core.heatmap``, the renderer the app uses too.
"""

from .content import (
    BatchContent,
    PatientFields,
    ReportContent,
    ReportError,
    build_report,
    proposed_file_name,
    read_batch_csv,
)

__all__ = [
    "BatchContent",
    "PatientFields",
    "ReportContent",
    "ReportError",
    "build_report",
    "proposed_file_name",
    "read_batch_csv",
]
