"""Screenshots of the Patients pane and the Compare view on a demo case store, under Xvfb.

Usage: ``.venv/bin/python scripts/screenshot_cases.py [--model ONNX] [--out-dir docs]``.
Builds a throwaway store from the shared pool (a HAM10000 lesion photographed several times,
filed as visits months apart and scored by the model), opens the real windows with the xcb
platform plugin and saves ``screenshot-patients.png`` and ``screenshot-compare.png``. The
user's own settings and store are never touched.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
import tempfile
from collections import defaultdict
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from screenshot import DATA, settle, start_xvfb  # noqa: E402


def lesions_seen_often(wanted: dict[str, int]) -> dict[str, list[Path]]:
    """For each diagnosis, the first pool lesion with at least ``wanted[diagnosis]`` images."""
    by_lesion: dict[tuple[str, str], list[Path]] = defaultdict(list)
    with open(DATA / "labels.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["lesion_id"] and (DATA / row["image"]).is_file():
                by_lesion[(row["diagnosis"], row["lesion_id"])].append(DATA / row["image"])
    found = {}
    for (diagnosis, _), paths in by_lesion.items():
        if diagnosis in wanted and diagnosis not in found and len(paths) >= wanted[diagnosis]:
            found[diagnosis] = sorted(paths)[: wanted[diagnosis]]
    return found


def build_store(folder: Path, model: Path):  # noqa: ANN201 - CaseStore
    from skindesk.cases import CaseStore
    from skindesk.cases.attach import result_from_prediction
    from skindesk.core.classifier import Classifier

    classifier = Classifier(model, provider="cpu")
    store = CaseStore.open(str(folder / "cases.sqlite"))
    store.save_patient("MRN-20417", name="Helga Sørensen", birth_year=1958, sex="female",
                       fitzpatrick=2, notes="many atypical naevi; sequential dermoscopy")
    chosen = lesions_seen_often({"melanoma": 3, "nevus": 2})
    plan = (("melanoma", "left shoulder, 3 cm below the acromion", "posterior torso"),
            ("nevus", "right calf", "lower extremity"))
    for diagnosis, label, site in plan:
        for index, path in enumerate(chosen.get(diagnosis, [])):
            prediction = classifier.predict_file(path)
            store.add_image("MRN-20417", path, lesion=label, site=site,
                            taken_on=date(2025, 1 + 3 * index, 10), dermatoscope="DermLite DL4",
                            result=result_from_prediction(prediction, classifier, str(path)))
    for index, name in enumerate(("Jonas Weber", "Mei Tanaka", "Olu Adeyemi")):
        store.save_patient(f"MRN-2{index}88{index}", name=name, birth_year=1970 + 7 * index)
    return store


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "resources" / "models" / "skindesk.onnx",
                        help="model that scores the visits (default: the shipped one)")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "docs",
                        help="folder for the PNGs (default: docs)")
    args = parser.parse_args()
    xvfb = start_xvfb(":96")
    os.environ["DISPLAY"] = ":96"
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    scratch = Path(tempfile.mkdtemp(prefix="skindesk-cases-shot-"))
    try:
        from PySide6.QtCore import QSettings

        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(scratch))
        from skindesk.gui.app import create_application
        from skindesk.gui.compare_view import CompareDialog
        from skindesk.gui.patients_view import PatientsWindow

        app = create_application()
        store = build_store(scratch, args.model)
        window = PatientsWindow(store)
        window.resize(1240, 760)
        window.show()
        window.search.setText("sør")
        settle(app, 30)
        window.patients.setCurrentRow(0)
        window.timeline.item(0).setSelected(True)
        settle(app, 30)
        args.out_dir.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(args.out_dir / "screenshot-patients.png"))
        lesion = window.current_lesion()
        dialog = CompareDialog(store, lesion, lesion.visits[0].id, lesion.visits[-1].id, window)
        dialog.show()
        settle(app, 30)
        dialog.grab().save(str(args.out_dir / "screenshot-compare.png"))
        print(f"wrote {args.out_dir / 'screenshot-patients.png'} and screenshot-compare.png")
        store.close()
        return 0
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=5)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
