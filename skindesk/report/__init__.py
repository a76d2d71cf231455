"""PDF reports for the patient record: single-image and batch reports.

``content`` assembles what goes on the page (no Qt); ``pdf`` draws it with Qt's ``QPdfWriter``;
``heatmap`` overlays the model's class activation map for reports made without the app.
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
