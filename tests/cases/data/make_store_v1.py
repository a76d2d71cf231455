"""Write ``store-v1.sqlite``: a case store made with the FIRST migration only (revision 0001).

The file is committed; ``tests/cases/test_migrations.py`` opens a copy with the current code and
checks that it is migrated to the newest schema with every row intact. Rerun this script only
if the first migration itself ever changes (it must not): ``python tests/cases/data/make_store_v1.py``.
"""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

from PIL import Image
from sqlalchemy.engine import URL

from skindesk.cases.database import make_engine, migrate
from skindesk.cases.images import sha256_of

HERE = Path(__file__).resolve().parent
TARGET = HERE / "store-v1.sqlite"


def main() -> None:
    TARGET.unlink(missing_ok=True)
    url = URL.create("sqlite", database=str(TARGET))
    engine = make_engine(url)
    assert migrate(engine, url, target="0001") == "0001"
    engine.dispose()
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (120, 70, 50)).save(buffer, "PNG")
    data = buffer.getvalue()
    thumb = io.BytesIO()
    Image.new("RGB", (40, 30), (120, 70, 50)).save(thumb, "JPEG")
    sha = sha256_of(data)
    now = "2025-03-01 10:00:00.000000"
    probabilities = {"melanoma": 0.12, "nevus": 0.80, "seborrheic keratosis": 0.08}
    db = sqlite3.connect(TARGET)
    with db:
        db.execute("INSERT INTO patients VALUES (1, 'a1b2c3d4e5f60718293a4b5c6d7e8f90', 'V1-0001', "
                   "'Old Store Patient', 1961, 'female', 2, 'from schema 0001', ?, ?)", (now, now))
        db.execute("INSERT INTO lesions VALUES (1, 1, 'left shoulder', 'posterior torso', ?)", (now,))
        db.execute("INSERT INTO images VALUES (?, ?, 40, 30, 'PNG', ?, ?)",
                   (sha, len(data), data, thumb.getvalue()))
        db.execute("INSERT INTO visits VALUES (1, 1, ?, '2025-03-01', 'entered', 'DermLite DL4', "
                   "'shoulder.png', ?)", (sha, now))
        db.execute("INSERT INTO results VALUES (1, 1, 'SkinDesk', '1.0', ?, 'nevus', ?, '[]', "
                   "'melanoma 90 %', ?, ?)",
                   ("0" * 64, json.dumps(probabilities), json.dumps({"uncertain": False}), now))
        db.execute("INSERT INTO audit VALUES (1, ?, 'clinician', 'create', 'patient', "
                   "'a1b2c3d4e5f60718293a4b5c6d7e8f90', '')", (now,))
    db.execute("PRAGMA journal_mode = DELETE")  # one self-contained file to commit
    db.close()
    TARGET.chmod(0o644)
    HERE.chmod(0o755)
    print(f"wrote {TARGET} ({TARGET.stat().st_size} bytes, image {sha[:12]}…)")


if __name__ == "__main__":
    main()
