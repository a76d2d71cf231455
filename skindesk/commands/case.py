"""``skindesk case``: the case store from the command line (scripting, migration, backups).

Sub-commands: ``add`` (file images, classified by the model, under a patient and lesion),
``edit`` (a patient's details), ``decide`` (a visit's decision), ``histology`` (a lesion's
histopathology), ``list``, ``show``, ``export`` (one patient to a zip), ``import`` (an export or a backup),
``delete`` (erase a patient; needs ``--yes``), ``backup`` (every patient to one zip) and
``report`` (a lesion's history as a PDF), ``audit`` (who did what, when) and ``check`` (database integrity and every image
against its sha256). Each takes
``--database URL`` (default: ``$SKINDESK_DATABASE``, else the per-user SQLite store).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..cases.location import ENV_VARIABLE, default_store_dir
from ..cases.vocab import DECISIONS, SEXES, SITES, parse_date
from ..core.errors import ImageLoadError
from .options import add_model_options, open_classifier

__all__ = ["add_parser", "run"]


def _date(text: str) -> Any:
    try:
        return parse_date(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``case`` and its sub-commands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database", metavar="URL", default=None,
        help=f"case store: a SQLite file or a URL such as postgresql://user@host/db "
        f"(default: ${ENV_VARIABLE}, else {default_store_dir() / 'cases.sqlite'})",
    )
    parser = subparsers.add_parser(
        "case", help="patients, lesions and visits in the case store",
        description="The case store: patients, their lesions and every visit's image and result.",
    )
    verbs = parser.add_subparsers(dest="case_command", metavar="SUBCOMMAND")

    add = verbs.add_parser("add", parents=[common], help="classify images and file them under a patient",
                           description="Classify IMAGE files and file each (with its result) under "
                           "PATIENT_ID, created when new. An image the patient already has is skipped.")
    add.add_argument("patient_id", metavar="PATIENT_ID", help="the clinic's patient ID")
    add.add_argument("images", metavar="IMAGE", nargs="+", type=Path, help="image files")
    add.add_argument("--lesion", metavar="LABEL", default=None,
                     help="lesion label, e.g. 'left shoulder' (default: a new lesion per image)")
    add.add_argument("--site", choices=SITES, default=None, metavar="SITE",
                     help=f"anatomical site, one of: {', '.join(SITES)} (default: none)")
    add.add_argument("--date", type=_date, default=None, metavar="YYYY-MM-DD",
                     help="date taken (default: from the image's EXIF, else today)")
    add.add_argument("--dermatoscope", default="", metavar="TEXT",
                     help="dermatoscope used (default: empty)")
    add_model_options(add)

    edit = verbs.add_parser("edit", parents=[common], help="create a patient or change their details",
                            description="Create PATIENT_ID or change the details given; others stay.")
    edit.add_argument("patient_id", metavar="PATIENT_ID")
    edit.add_argument("--name", default=None, help="full name (default: unchanged)")
    edit.add_argument("--birth-year", default=None, metavar="YYYY", help="birth year (default: unchanged)")
    edit.add_argument("--sex", default=None, metavar="SEX",
                      help=f"one of: {', '.join(SEXES)} (default: unchanged)")
    edit.add_argument("--fitzpatrick", default=None, metavar="TYPE",
                      help="Fitzpatrick skin type 1-6 or I-VI (default: unchanged)")
    edit.add_argument("--notes", default=None, help="free-text notes (default: unchanged)")

    decide = verbs.add_parser("decide", parents=[common], help="record the decision for a visit")
    decide.add_argument("visit_id", metavar="VISIT_ID", type=int, help="as 'case show' lists it")
    decide.add_argument("decision", choices=DECISIONS, help=f"one of: {', '.join(DECISIONS)}")
    decide.add_argument("--months", type=int, default=None, metavar="N",
                        help="follow-up interval in months (required for follow-up; default: none)")

    histology = verbs.add_parser("histology", parents=[common],
                                 help="record a lesion's histopathology diagnosis")
    histology.add_argument("lesion_id", metavar="LESION_ID", type=int, help="as 'case show' lists it")
    histology.add_argument("diagnosis", metavar="DIAGNOSIS", help="e.g. 'melanoma in situ'")
    histology.add_argument("--date", type=_date, default=None, metavar="YYYY-MM-DD",
                           help="date of the report (default: none)")

    listing = verbs.add_parser("list", parents=[common], help="list patients")
    listing.add_argument("--search", default="", metavar="TEXT",
                         help="only patients whose ID or name contains TEXT (default: all)")
    listing.add_argument("--json", action="store_true", help="print JSON (default: a table)")

    show = verbs.add_parser("show", parents=[common], help="show one patient's lesions and visits")
    show.add_argument("patient_id", metavar="PATIENT_ID")
    show.add_argument("--json", action="store_true", help="print JSON (default: text)")

    export = verbs.add_parser("export", parents=[common], help="export one patient to a zip")
    export.add_argument("patient_id", metavar="PATIENT_ID")
    export.add_argument("--output", "-o", type=Path, required=True, metavar="FILE.zip",
                        help="the zip to write (required)")
    export.add_argument("--overwrite", action="store_true",
                        help="replace an existing file (default: refuse)")

    imports = verbs.add_parser("import", parents=[common], help="import an export or a backup zip")
    imports.add_argument("file", metavar="FILE.zip", type=Path)

    delete = verbs.add_parser("delete", parents=[common],
                              help="erase a patient: rows, results and images")
    delete.add_argument("patient_id", metavar="PATIENT_ID")
    delete.add_argument("--yes", action="store_true",
                        help="really erase (required; default: refuse)")

    backup = verbs.add_parser("backup", parents=[common], help="back up every patient to one zip")
    backup.add_argument("--output", "-o", type=Path, required=True, metavar="FILE.zip",
                        help="the zip to write (required); restore with 'case import'")
    backup.add_argument("--overwrite", action="store_true",
                        help="replace an existing file (default: refuse)")

    report = verbs.add_parser("report", parents=[common],
                              help="PDF report of one lesion's history (thumbnails, dates, scores)")
    report.add_argument("patient_id", metavar="PATIENT_ID")
    report.add_argument("--lesion", required=True, metavar="LABEL",
                        help="the lesion's label (required; 'case show' lists them)")
    report.add_argument("--output", "-o", type=Path, required=True, metavar="FILE.pdf",
                        help="the PDF to write (required)")
    report.add_argument("--clinic", default="", metavar="NAME",
                        help="clinic name for the title (default: none)")
    report.add_argument("--overwrite", action="store_true",
                        help="replace an existing file (default: refuse)")

    audit = verbs.add_parser("audit", parents=[common],
                             help="the audit trail: who did what when (no personal data)")
    audit.add_argument("--limit", type=int, default=200, metavar="N",
                       help="the newest N entries (default: 200)")
    audit.add_argument("--json", action="store_true", help="print JSON (default: a table)")

    verbs.add_parser("check", parents=[common],
                     help="check the database and every image against its sha256")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the chosen ``case`` sub-command; returns the exit status."""
    command = getattr(args, "case_command", None)
    if command is None:
        print("skindesk case: choose a sub-command: add, edit, decide, histology, list, show, "
              "export, import, delete, backup, report, audit, check (see 'skindesk case --help')",
              file=sys.stderr)
        return 2
    if command == "delete" and not args.yes:
        print(f"skindesk case delete: erasing patient {args.patient_id!r} cannot be undone; "
              "add --yes to do it", file=sys.stderr)
        return 2
    from ..cases.store import CaseStore

    with CaseStore.open(args.database, create=command in ("add", "import", "edit")) as store:
        return int(_HANDLERS[command](store, args))


def _add(store: Any, args: argparse.Namespace) -> int:
    from ..cases.attach import result_from_prediction
    from ..cases.images import read_incoming

    classifier = open_classifier(args)
    failed = 0
    for path in args.images:
        try:
            incoming = read_incoming(path)
            prediction = classifier.predict_file(path)
        except ImageLoadError as error:
            print(f"{error}", file=sys.stderr)
            failed += 1
            continue
        result = result_from_prediction(prediction, classifier, str(path))
        outcome = store.add_image(args.patient_id, incoming, lesion=args.lesion, site=args.site,
                                  taken_on=args.date, dermatoscope=args.dermatoscope,
                                  result=result)
        status = "added" if outcome.added else "already in the store"
        print(f"{path}: {status} (lesion {outcome.lesion_id}, visit {outcome.visit_id}); "
              f"{prediction.summary()}", flush=True)
    return 1 if failed else 0


def _edit(store: Any, args: argparse.Namespace) -> int:
    from ..cases.store import UNSET

    given = {key: getattr(args, key) for key in ("name", "birth_year", "sex", "fitzpatrick", "notes")}
    created = store.save_patient(args.patient_id, **{k: (UNSET if v is None else v)
                                                     for k, v in given.items()})
    print(f"{'created' if created else 'updated'} patient {args.patient_id}")
    return 0


def _decide(store: Any, args: argparse.Namespace) -> int:
    store.set_decision(args.visit_id, args.decision, args.months)
    print(f"visit {args.visit_id}: decision {args.decision}"
          + (f" in {args.months} months" if args.months else ""))
    return 0


def _histology(store: Any, args: argparse.Namespace) -> int:
    store.set_histopathology(args.lesion_id, args.diagnosis, args.date)
    print(f"lesion {args.lesion_id}: histopathology recorded")
    return 0


def _list(store: Any, args: argparse.Namespace) -> int:
    patients = store.search(args.search, limit=100_000)
    if args.json:
        print(json.dumps([{"clinic_id": p.clinic_id, "name": p.name, "birth_year": p.birth_year,
                           "lesions": p.lesion_count, "visits": p.visit_count,
                           "last_visit": p.last_visit.isoformat() if p.last_visit else None}
                          for p in patients], indent=2, ensure_ascii=False))
        return 0
    print(f"{'patient ID':<20} {'name':<28} {'born':>4} {'lesions':>7} {'visits':>6}  last visit")
    for p in patients:
        print(f"{p.clinic_id:<20} {(p.name or ''):<28.28} {p.birth_year or '':>4} "
              f"{p.lesion_count:>7} {p.visit_count:>6}  {p.last_visit or ''}")
    print(f"{len(patients)} patient(s) in {store.label}")
    return 0


def _show(store: Any, args: argparse.Namespace) -> int:
    from ..cases.compare import compare_visits, model_label, score_text
    from ..cases.transfer import patient_to_json

    record = store.patient(args.patient_id)
    if args.json:
        print(json.dumps(patient_to_json(record), indent=2, ensure_ascii=False))
        return 0
    print(f"Patient {record.heading()}")
    if record.notes:
        print(f"  notes: {record.notes}")
    for lesion in record.lesions:
        site = f" ({lesion.site})" if lesion.site else ""
        print(f"\nLesion {lesion.id}: {lesion.label}{site}")
        if lesion.histopathology:
            print(f"  histopathology: {lesion.histopathology}")
        for visit in lesion.visits:
            latest = visit.latest
            score = score_text(latest) + (f" [{model_label(latest)}]" if latest else "")
            decision = f"; decision: {visit.decision_text()}" if visit.decision else ""
            print(f"  {visit.taken_on} ({visit.date_source}) visit {visit.id}: {score}{decision}")
        if len(lesion.visits) >= 2:
            print(f"  change since first visit: {compare_visits(lesion.visits[0], lesion.visits[-1])}")
    return 0


def _export(store: Any, args: argparse.Namespace) -> int:
    from ..cases.transfer import export_patients

    store.patient(args.patient_id)  # a clear "no patient" before any file is made
    export_patients(store, args.output, [args.patient_id], overwrite=args.overwrite)
    print(f"exported patient {args.patient_id} to {args.output}")
    return 0


def _import(store: Any, args: argparse.Namespace) -> int:
    from ..cases.transfer import import_file

    def progress(done: int, total: int) -> None:
        print(f"importing: {done}/{total} images", file=sys.stderr, flush=True)

    imported = import_file(store, args.file, progress)
    print(f"imported {len(imported)} patient(s) from {args.file} into {store.label}")
    return 0


def _delete(store: Any, args: argparse.Namespace) -> int:
    erased = store.delete_patient(args.patient_id)
    print(f"erased patient {args.patient_id} and {erased} image(s) from {store.label}")
    return 0


def _backup(store: Any, args: argparse.Namespace) -> int:
    from ..cases.transfer import export_patients

    count = export_patients(store, args.output, None, overwrite=args.overwrite)
    print(f"backed up {count} patient(s) from {store.label} to {args.output}")
    return 0


def _report(store: Any, args: argparse.Namespace) -> int:
    from ..report.history import build_lesion_history
    from ..report.history_pdf import write_lesion_report_pdf

    history = build_lesion_history(store, args.patient_id, args.lesion, clinic=args.clinic)
    write_lesion_report_pdf(history, args.output, overwrite=args.overwrite)
    print(f"wrote the history of lesion {history.lesion!r} ({len(history.rows)} visits) to "
          f"{args.output}")
    return 0


def _audit(store: Any, args: argparse.Namespace) -> int:
    entries = store.audit_entries(limit=args.limit)
    if args.json:
        print(json.dumps([{"at": e.at.isoformat(timespec="seconds") + "Z", "os_user": e.os_user,
                           "action": e.action, "entity": e.entity, "ref": e.ref,
                           "detail": e.detail} for e in entries], indent=2))
        return 0
    for e in entries:
        print(f"{e.at:%Y-%m-%d %H:%M:%S}Z  {e.os_user:<12} {e.action:<7} {e.entity:<8} "
              f"{e.ref}  {e.detail}")
    return 0


def _check(store: Any, args: argparse.Namespace) -> int:  # noqa: ARG001
    problems = store.check()
    for problem in problems:
        print(problem)
    print(f"{store.label}: " + (f"{len(problems)} problem(s)" if problems else "no problems found"))
    return 1 if problems else 0


_HANDLERS = {"add": _add, "edit": _edit, "decide": _decide, "histology": _histology, "list": _list, "show": _show, "export": _export, "import": _import,
             "delete": _delete, "backup": _backup, "report": _report, "audit": _audit,
             "check": _check}
