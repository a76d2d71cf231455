"""``skindesk report``: a PDF report for the patient record, without a window.

``skindesk report IMAGE --output FILE.pdf --patient-id ID ...`` classifies one image and writes the
single-image report (patient fields, image and heat map, the probability chart, the malignancy
alert at the operating point with its validated figures, warnings, model trace, intended use and
disclaimer). ``skindesk report --batch results.csv --output FILE.pdf`` turns the CSV of a
``skindesk classify`` run into a batch report; patient fields are refused there, since a folder
may hold several patients' images and a batch report must not be filed as one patient's. An
existing output file is never replaced unless ``--overwrite`` is given; the PDF is written
atomically. Works on machines without a display.
Exit status: 0 written, 2 bad input (one line on stderr naming the file and the problem).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .options import add_model_options, open_classifier

__all__ = ["add_parser", "run"]

EXIT_OK = 0
EXIT_ERROR = 2


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``report`` on the CLI's subparsers."""
    parser = subparsers.add_parser(
        "report",
        help="write a PDF report of one image, or of a batch-results CSV (--batch)",
        description=(
            "Write a PDF report for the patient record: of one IMAGE (classified now), or of a "
            "batch run's results CSV with --batch. Decision support, not a diagnosis."
        ),
    )
    parser.add_argument("image", nargs="?", metavar="IMAGE",
                        help="the image to classify and report (default: none; required unless "
                             "--batch is given)")
    parser.add_argument("--batch", metavar="CSV", type=Path,
                        help="write a batch report from this 'skindesk classify' results CSV "
                             "instead (default: off)")
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="FILE.pdf",
                        help="the PDF file to write (required; no default)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing output file (default: off; an existing file "
                             "is refused)")
    parser.add_argument("--paper", choices=("a4", "letter"), default=None,
                        help="paper size (default: from the system locale: letter in the US and "
                             "Canada, a4 elsewhere)")
    parser.add_argument("--clinic", default="", metavar="NAME",
                        help="clinic name at the top of the page (default: none)")
    patient = parser.add_argument_group(
        "patient (single-image report only; refused with --batch: a folder may hold several "
        "patients' images)")
    patient.add_argument("--patient-id", metavar="ID",
                         help="patient identifier (required for a single-image report; no "
                              "default)")
    patient.add_argument("--patient-name", metavar="NAME",
                         help="patient name (default: none)")
    patient.add_argument("--birth-date", metavar="DATE",
                         help="birth date as you want it printed, e.g. 1961-04-03 (default: none)")
    patient.add_argument("--body-site", metavar="SITE",
                         help="where the lesion is, e.g. 'left shoulder' (default: none)")
    patient.add_argument("--clinician", metavar="NAME",
                         help="the clinician responsible (default: none)")
    patient.add_argument("--notes", metavar="TEXT",
                         help="free-text notes printed on the report (default: none)")
    model = parser.add_argument_group("model (single-image report)")
    model.add_argument("--heatmap", action=argparse.BooleanOptionalAction, default=True,
                       help="show the heat map beside the image when the model gives one "
                            "(default: on)")
    add_model_options(model)
    parser.set_defaults(func=run)
    return parser


def _fail(message: str) -> int:
    print(f"skindesk report: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def run(args: argparse.Namespace) -> int:
    """Write the report; 0 on success, 2 with one line on stderr otherwise."""
    from ..core.errors import SkinDeskError

    from ..core.atomic import is_special_file

    output = Path(args.output)
    if output.suffix.lower() != ".pdf" and not is_special_file(output):  # /dev/null, a FIFO
        return _fail(f"{output}: the output file name must end in .pdf")
    if output.exists() and not args.overwrite:
        return _fail(f"{output}: already exists; use --overwrite to replace it")
    if args.batch is not None and args.image:
        return _fail("give either IMAGE or --batch CSV, not both")
    try:
        if args.batch is not None:
            return _batch(args, output)
        if not args.image:
            return _fail("no IMAGE given (or use --batch results.csv)")
        return _single(args, output)
    except SkinDeskError as error:
        return _fail(str(error))
    except ValueError as error:  # e.g. a sensitivity the card does not offer
        return _fail(str(error))


_PATIENT_OPTIONS = {"patient_id": "--patient-id", "patient_name": "--patient-name",
                    "birth_date": "--birth-date", "body_site": "--body-site",
                    "clinician": "--clinician", "notes": "--notes"}


def _batch(args: argparse.Namespace, output: Path) -> int:
    from ..report.content import read_batch_csv
    from ..report.pdf import write_batch_report_pdf

    given = [option for name, option in _PATIENT_OPTIONS.items()
             if getattr(args, name) is not None]
    if given:
        return _fail(f"{', '.join(given)}: patient fields are refused with --batch; a batch "
                     "report covers a folder, which may hold several patients' images "
                     "(make a single-image report for the patient record instead)")
    if getattr(args, "sensitivity", None) is not None or args.model is not None:
        option = "--sensitivity" if getattr(args, "sensitivity", None) is not None else "--model"
        return _fail(f"{option}: refused with --batch; a batch report shows the results and "
                     "alerts exactly as `skindesk classify` wrote them into the CSV (model and "
                     "operating point included); classify again with that option to change them")
    content = read_batch_csv(args.batch, clinic=args.clinic)
    write_batch_report_pdf(content, output, paper=args.paper, overwrite=args.overwrite)
    print(f"Batch report written: {output} ({content.total} files: {content.classified} "
          f"classified, {content.total - content.classified} not analysed; "
          f"{content.count('review_advised')} review advised, "
          f"{content.count('not_assessed')} not assessed)")
    return EXIT_OK


def _single(args: argparse.Namespace, output: Path) -> int:
    from ..core.imaging import load_display_image, load_image
    from ..report.content import PatientFields, ReportError, build_report
    from ..core.heatmap import heatmap_caption, render_prediction_heatmap
    from ..report.pdf import write_report_pdf

    patient = PatientFields(
        patient_id=args.patient_id, name=args.patient_name, birth_date=args.birth_date,
        body_site=args.body_site, clinician=args.clinician, clinic=args.clinic, notes=args.notes,
    ).cleaned()
    if not patient.patient_id:
        raise ReportError("--patient-id is required for a single-image report")
    image_path = Path(args.image)
    classifier = open_classifier(args)
    image = load_image(image_path, draft_size=classifier.draft_size)
    prediction = classifier.predict_image(image, str(image_path))
    picture = load_display_image(image_path)  # the pixels the app shows
    heatmap = caption = None
    if args.heatmap:  # the class default_heatmap_class picks, as in the app
        heatmap = render_prediction_heatmap(picture, prediction, classifier.card.preprocessing)
        caption = heatmap_caption(prediction) if heatmap is not None else None
    content = build_report(
        prediction, classifier.card, patient, sha256=classifier.sha256,
        provider=classifier.provider, sensitivity=classifier.sensitivity, image=picture,
        heatmap=heatmap, heatmap_caption=caption or "",
    )
    write_report_pdf(content, output, paper=args.paper, overwrite=args.overwrite)
    print(f"Report written: {output}")
    print(prediction.summary())
    return EXIT_OK
