"""Fixtures for the case-store tests: real SQLite files and a real PostgreSQL server.

- ``pg_cluster``: a throwaway PostgreSQL cluster started once per session
  (``skindesk.cases.pgcluster``); tests that need it are skipped, with the reason, only where
  the server binaries are not installed (``scripts/setup.sh --dev`` installs them).
- ``store_url``: parametrised over ``sqlite`` and ``postgresql``: a fresh, empty store's URL.
- ``store``: a ``CaseStore`` opened on ``store_url`` (closed after the test).
- ``make_image(name, colour=..., size=..., exif_date=None)``: a real image file in ``tmp_path``.
- ``result(melanoma=0.12, alerts=(), version="1.0")``: a ``StoredResult`` with those figures.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy.engine import URL

from skindesk.cases import CaseStore, StoredResult
from skindesk.cases.pgcluster import ClusterUnavailable, PostgresCluster

_counter = itertools.count()
OTHER_CLASSES = ("nevus", "seborrheic keratosis")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster()
    try:
        cluster.start()
    except ClusterUnavailable as error:
        pytest.skip(f"no PostgreSQL server for the case-store tests: {error}")
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> URL:
    if request.param == "sqlite":
        return URL.create("sqlite", database=str(tmp_path / "store" / "cases.sqlite"))
    cluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database(f"test_{next(_counter)}")


@pytest.fixture
def store(store_url: URL) -> Iterator[CaseStore]:
    opened = CaseStore(store_url)
    yield opened
    opened.close()


@pytest.fixture
def make_image(tmp_path: Path) -> Callable[..., Path]:
    def make(name: str = "lesion.jpg", colour: tuple[int, int, int] = (120, 70, 50),
             size: tuple[int, int] = (64, 48), exif_date: datetime | None = None) -> Path:
        path = tmp_path / "images" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        image = Image.new("RGB", size, colour)
        serial = next(_counter)  # every file distinct, even after JPEG compression
        image.paste((serial * 37 % 256, serial * 91 % 256, serial // 256 % 256), (0, 0, 16, 16))
        if exif_date is not None:
            exif = Image.Exif()
            exif.get_ifd(0x8769)[0x9003] = exif_date.strftime("%Y:%m:%d %H:%M:%S")
            image.save(path, exif=exif)
        else:
            image.save(path)
        return path

    return make


def make_result(melanoma: float = 0.12, alerts: tuple[str, ...] = (), version: str = "1.0",
                model_sha256: str = "a" * 64) -> StoredResult:
    rest = (1.0 - melanoma) / len(OTHER_CLASSES)
    probabilities = {"melanoma": melanoma, **{name: rest for name in OTHER_CLASSES}}
    top = max(probabilities, key=probabilities.__getitem__)
    return StoredResult(
        model_name="SkinDesk", model_version=version, model_sha256=model_sha256, top_class=top,
        probabilities=probabilities,
        alerts=[{"class": name, "probability": probabilities[name], "threshold": 0.2}
                for name in alerts],
        operating_point="melanoma 90 %", flags={"uncertain": False},
    )


@pytest.fixture
def result() -> Callable[..., StoredResult]:
    return make_result
