"""Case-store speed on a clinic-sized store, on SQLite and on PostgreSQL.

Builds a store of ``--images`` (10,000) visit images over ``--patients`` (1,000) patients, one of
whom has 50 lesions x 10 visits, each image a distinct real JPEG with a nine-class result, then
times, as the app and the CLI call them (``skindesk.cases.CaseStore``):

- open the 50 x 10 patient (``CaseStore.patient``: lesions, visits and results)   goal <= 300 ms
- search patients by ID or name (``CaseStore.search``)                               goal <= 100 ms
- add one image with its result (``CaseStore.add_image``: read, sha256, thumbnail,
  one transaction) and add one result to a visit (``CaseStore.add_result``)          goal <=  50 ms

Each figure is the median of several runs (the slowest is printed too). PostgreSQL is a
throwaway local server (``skindesk.cases.pgcluster``, fsync on), reached over a unix socket.

    python benchmarks/bench_cases.py [--backend sqlite|postgresql|both] [--patients 1000]
        [--images 10000] [--repeat 9]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import insert  # noqa: E402
from sqlalchemy.engine import URL  # noqa: E402

from skindesk.cases import CaseStore  # noqa: E402
from skindesk.cases.audit import utc_now  # noqa: E402
from skindesk.cases.images import sha256_of  # noqa: E402
from skindesk.cases.pgcluster import PostgresCluster  # noqa: E402
from skindesk.cases.records import StoredResult  # noqa: E402
from skindesk.cases.schema import ImageBlob, Lesion, Patient, Result, Visit  # noqa: E402
from skindesk.cases.vocab import SITES  # noqa: E402
from skindesk.core.classes import NINE_CLASSES  # noqa: E402

__all__ = ["main"]

CLASSES = [row[0] for row in NINE_CLASSES]
GOALS_MS = {"open patient 50x10": 300.0, "search": 100.0, "add image + result": 50.0,
            "add result": 50.0}
SURNAMES = ("Smith", "Garcia", "Müller", "Rossi", "Nowak", "Silva", "Kim", "Dubois", "Jensen",
            "Novak", "Costa", "Brown")


def _jpeg(rng: np.random.Generator, size: tuple[int, int]) -> bytes:
    pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def _result(rng: np.random.Generator) -> StoredResult:
    p = rng.dirichlet(np.ones(len(CLASSES)))
    probabilities = {name: float(v) for name, v in zip(CLASSES, p)}
    alerts = ([{"class": "melanoma", "probability": probabilities["melanoma"], "threshold": 0.12}]
              if probabilities["melanoma"] >= 0.12 else [])
    return StoredResult("SkinDesk", "1.0", "b" * 64, max(probabilities, key=probabilities.get),
                        probabilities, alerts, "melanoma 90 %", {"uncertain": False})


def populate(store: CaseStore, patients: int, images: int, seed: int = 0) -> None:
    """Fill an empty store quickly (bulk inserts in a few transactions)."""
    rng = np.random.default_rng(seed)
    now = utc_now()
    plan: list[tuple[int, int]] = [(0, 10)] * 50  # patient 0: 50 lesions x 10 visits
    rest = images - 500
    for index in range(1, patients):
        share = rest // (patients - 1) + (1 if index <= rest % (patients - 1) else 0)
        while share > 0:
            visits = min(share, 3)
            plan.append((index, visits))
            share -= visits
    with store.writing("populating") as session:
        session.execute(insert(Patient), [
            {"id": i + 1, "uid": f"{i:032x}", "clinic_id": "BIG-0000" if i == 0 else f"MRN-{i:05d}",
             "name": f"{SURNAMES[i % len(SURNAMES)]} {i}", "birth_year": 1930 + i % 80,
             "sex": None, "fitzpatrick": None, "notes": "", "created_at": now, "updated_at": now}
            for i in range(patients)])
        session.execute(insert(Lesion), [
            {"id": n + 1, "patient_id": p + 1, "label": f"lesion {n + 1}",
             "site": SITES[n % len(SITES)], "created_at": now} for n, (p, _) in enumerate(plan)])
    visit_id = 0
    batch: list[tuple[int, int]] = []
    for lesion_index, (_, count) in enumerate(plan):
        batch += [(lesion_index + 1, k) for k in range(count)]
    for start in range(0, len(batch), 1000):
        chunk = batch[start:start + 1000]
        blobs, visits, results = [], [], []
        for lesion_id, k in chunk:
            visit_id += 1
            data = _jpeg(rng, (48, 36))
            sha = sha256_of(data)
            blobs.append({"sha256": sha, "size": len(data), "width": 48, "height": 36,
                          "format": "JPEG", "data": data, "thumbnail": data})
            visits.append({"id": visit_id, "lesion_id": lesion_id, "image_sha256": sha,
                           "taken_on": date(2020, 1, 1) + timedelta(days=90 * k),
                           "date_source": "exif", "dermatoscope": "DermLite DL4",
                           "original_name": f"IMG_{visit_id:05d}.jpg", "created_at": now})
            stored = _result(rng)
            results.append({"visit_id": visit_id, "model_name": stored.model_name,
                            "model_version": stored.model_version,
                            "model_sha256": stored.model_sha256, "top_class": stored.top_class,
                            "probabilities": stored.probabilities, "alerts": stored.alerts,
                            "operating_point": stored.operating_point, "flags": stored.flags,
                            "created_at": now})
        with store.writing("populating") as session:
            session.execute(insert(ImageBlob), blobs)
            session.execute(insert(Visit), visits)
            session.execute(insert(Result), results)
    if store.url.get_backend_name() == "postgresql":
        with store.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT")
            for table in ("patients", "lesions", "visits"):  # bulk rows carried explicit ids
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}")
            connection.exec_driver_sql("ANALYZE")


def _time(action: Callable[[], object], repeat: int) -> tuple[float, float]:
    action()  # warm-up (first query plans, caches)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def measure(store: CaseStore, repeat: int, folder: Path) -> dict[str, tuple[float, float]]:
    figures: dict[str, tuple[float, float]] = {}
    record = store.patient("BIG-0000")
    assert len(record.lesions) == 50 and sum(len(l.visits) for l in record.lesions) == 500
    figures["open patient 50x10"] = _time(lambda: store.patient("BIG-0000"), repeat)
    queries = iter(["smith", "MRN-004", "müller 12", "garcia", "nowak 9", "MRN-00999", "kim",
                    "rossi 3", "jensen", "costa", "MRN-0", "brown 7"] * 10)
    figures["search"] = _time(lambda: store.search(next(queries)), repeat)
    rng = np.random.default_rng(99)
    paths = []
    for index in range(repeat + 1):
        path = folder / f"new_{index}.jpg"
        path.write_bytes(_jpeg(rng, (600, 450)))
        paths.append(path)
    files = iter(paths)
    target = f"MRN-{len(store.search('MRN-', limit=10**6)) // 2:05d}"  # an existing patient
    figures["add image + result"] = _time(
        lambda: store.add_image(target, next(files), lesion="new lesion", result=_result(rng)),
        repeat)
    visit_id = record.lesions[0].visits[0].id
    figures["add result"] = _time(lambda: store.add_result(visit_id, _result(rng)), repeat)
    return figures


def run_backend(name: str, url: URL, args: argparse.Namespace, folder: Path) -> bool:
    store = CaseStore(url)
    start = time.perf_counter()
    populate(store, args.patients, args.images)
    built = time.perf_counter() - start
    print(f"\n{name}: {args.images} images over {args.patients} patients "
          f"(built in {built:.1f} s; {store.label})")
    figures = measure(store, args.repeat, folder)
    store.close()
    ok = True
    for key, (median, worst) in figures.items():
        goal = GOALS_MS[key]
        verdict = "ok" if median <= goal else "OVER GOAL"
        ok &= median <= goal
        print(f"  {key:<20} median {median:7.1f} ms  slowest {worst:7.1f} ms  "
              f"(goal <= {goal:.0f} ms) {verdict}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both",
                        help="which database to measure (default: both)")
    parser.add_argument("--patients", type=int, default=1000, help="patients (default: 1000)")
    parser.add_argument("--images", type=int, default=10_000, help="visit images (default: 10000)")
    parser.add_argument("--repeat", type=int, default=9, help="timed runs per figure (default: 9)")
    args = parser.parse_args(argv)
    ok = True
    with tempfile.TemporaryDirectory(prefix="skindesk-bench-") as tmp:
        folder = Path(tmp)
        if args.backend in ("sqlite", "both"):
            ok &= run_backend("SQLite", URL.create("sqlite", database=str(folder / "s" / "c.sqlite")),
                              args, folder)
        if args.backend in ("postgresql", "both"):
            with PostgresCluster(durable=True) as cluster:
                ok &= run_backend("PostgreSQL", cluster.create_database("bench"), args, folder)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
