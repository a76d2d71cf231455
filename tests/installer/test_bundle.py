"""The packaged app: build the CPU bundle with ``installer/build.sh`` and run the frozen executable.

The bundle is built once per source state (``build.sh --reuse`` keeps a bundle whose sources have
not changed, so a CI run builds it once) with the shipped model, or with an untrained test model
while ``resources/models/skindesk.onnx`` does not exist yet. The frozen ``skindesk`` must classify
sample images exactly as the source tree does, show the model card, start the GUI offscreen and
quit cleanly, and never write inside its own folder. As root, the .deb is also built, installed
with dpkg, run from the PATH and removed again, leaving none of its files behind.
Skipped only where PyInstaller cannot run at all (not Linux, no bash/ldd, no Python with venv).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = [pytest.mark.packaging, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "dist" / "cpu" / "skindesk"
EXE = BUNDLE / "skindesk"
BUNDLED_MODEL = BUNDLE / "_internal" / "resources" / "models" / "skindesk.onnx"
BUILD_TIMEOUT_S = 40 * 60
RUN_TIMEOUT_S = 180


def _base_python() -> str | None:
    """A Python 3.11+ with venv and ensurepip for the build venv (this one's base interpreter)."""
    candidates = [os.environ.get("PYTHON"), getattr(sys, "_base_executable", None), sys.executable]
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))"],
            capture_output=True,
        )
        if probe.returncode == 0:
            return candidate
    return None


def _cannot_build() -> str | None:
    if not sys.platform.startswith("linux"):
        return "the bundle test builds the Linux bundle (Windows/macOS: installer/README.md)"
    for tool in ("bash", "ldd"):
        if shutil.which(tool) is None:
            return f"PyInstaller cannot run here: '{tool}' not found"
    if _base_python() is None:
        return "PyInstaller cannot run here: no Python 3.11+ with venv/ensurepip for the build venv"
    return None


def _build(*extra: str) -> str:
    """Run installer/build.sh cpu --reuse (+ --test-model without the shipped model); output."""
    args = ["bash", str(ROOT / "installer" / "build.sh"), "cpu", "--reuse", *extra]
    if not (ROOT / "resources" / "models" / "skindesk.onnx").is_file():
        args.append("--test-model")
    env = dict(os.environ, PYTHON=_base_python() or "")
    env.pop("SKINDESK_RESOURCES", None)
    env.pop("SKINDESK_MODEL", None)
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=BUILD_TIMEOUT_S)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        pytest.fail(f"{' '.join(args[1:])} failed (exit {result.returncode}):\n{output[-6000:]}")
    return output


@pytest.fixture(scope="module")
def bundle() -> Path:
    reason = _cannot_build()
    if reason:
        pytest.skip(reason)
    output = _build()
    for line in output.splitlines():
        if line.startswith(("bundle size", "build time")):
            print(line)
    assert EXE.is_file() and os.access(EXE, os.X_OK), f"no executable at {EXE}"
    return BUNDLE


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.lstat().st_size, p.lstat().st_mtime_ns)
            for p in folder.rglob("*")}


def _user_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean user: its own HOME and XDG folders; no overrides of the bundled resources."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SKINDESK_", "XDG_", "PYTHON", "VIRTUAL_ENV", "LD_LIBRARY_PATH"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"),
               XDG_STATE_HOME=str(home / "state"), XDG_CACHE_HOME=str(home / "cache"),
               QT_QPA_PLATFORM="offscreen")
    env.update(extra)
    return env


def _run(command: list[str], env: dict[str, str], cwd: Path,
         watch: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``command``; with ``watch``, fail if anything in that folder was created or changed."""
    before = _snapshot(watch) if watch else None
    result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True,
                            timeout=RUN_TIMEOUT_S)
    if watch:
        after = _snapshot(watch)
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        assert not changed, f"{command[0]} wrote inside its install folder: {changed[:10]}"
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.fixture
def images(tmp_path: Path) -> list[Path]:
    """Distinct real images in the formats clinics' cameras and tools write."""
    rng = np.random.default_rng(8)
    folder = tmp_path / "images"
    folder.mkdir()
    paths = []
    for index, ext in enumerate((".jpg", ".png", ".tif", ".bmp", ".webp")):
        pixels = rng.integers(0, 256, size=(120 + 10 * index, 160, 3), dtype=np.uint8)
        pixels[..., index % 3] //= 2  # different colour balance per image
        path = folder / f"lesion-{index}{ext}"
        Image.fromarray(pixels).save(path)
        paths.append(path)
    return paths


def test_bundle_holds_what_the_app_needs_and_nothing_from_training(bundle: Path) -> None:
    internal = bundle / "_internal"
    for needed in (
        "resources/models/skindesk.onnx",
        "resources/fonts/DroidSansFallbackFull.ttf",
        "resources/icons/skindesk.png",
        "PySide6/Qt/plugins/platforms/libqoffscreen.so",
        "PySide6/Qt/plugins/platforms/libqxcb.so",
        "PySide6/Qt/plugins/imageformats/libqjpeg.so",
        "PySide6/Qt/plugins/imageformats/libqtiff.so",
        "PySide6/Qt/plugins/imageformats/libqwebp.so",
    ):
        assert (internal / needed).is_file(), f"missing from the bundle: {needed}"
    names = {p.name for p in internal.rglob("*")}
    for unwanted in ("tensorflow", "keras", "tf2onnx", "sklearn", "training", "matplotlib",
                     "libQt6WebEngineCore.so.6", "libQt6Qml.so.6", "libQt6Quick.so.6",
                     "libQt6Network.so.6", "libQt6Pdf.so.6", "libqgtk3.so",
                     "libonnxruntime_providers_cuda.so"):
        assert unwanted not in names, f"{unwanted} should not be in the CPU bundle"
    dangling = [str(p) for p in internal.rglob("*") if p.is_symlink() and not p.exists()]
    assert not dangling, f"dangling links in the bundle: {dangling}"


def test_frozen_classify_matches_source_tree(bundle: Path, images: list[Path],
                                             tmp_path: Path) -> None:
    frozen_json, source_json = tmp_path / "frozen.json", tmp_path / "source.json"
    frozen = _run([str(EXE), "classify", "--format", "json", "-o", str(frozen_json),
                   *map(str, images)], _user_env(tmp_path / "home"), tmp_path, watch=bundle)
    assert frozen.returncode == 0, frozen.stderr
    source = subprocess.run(
        [sys.executable, "-m", "skindesk", "classify", "--format", "json", "--provider", "cpu",
         "-m", str(BUNDLED_MODEL), "-o", str(source_json), *map(str, images)],
        cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
    )
    assert source.returncode == 0, source.stderr

    from skindesk.core.modelcard import read_model

    card = read_model(BUNDLED_MODEL)[0]
    frozen_data, source_data = json.loads(frozen_json.read_text()), json.loads(source_json.read_text())
    assert frozen_data["model"] == {"name": card.name, "version": card.version}
    assert len(frozen_data["results"]) == len(images)
    for mine, theirs in zip(frozen_data["results"], source_data["results"], strict=True):
        assert mine["file"] == theirs["file"]
        assert mine["top_class"] == theirs["top_class"]
        assert mine["probabilities"].keys() == theirs["probabilities"].keys()
        for name, value in mine["probabilities"].items():
            assert value == pytest.approx(theirs["probabilities"][name], abs=1e-5), (mine["file"], name)
        assert mine["alerts"] == theirs["alerts"]


def test_frozen_info_shows_the_bundled_model_card(bundle: Path, tmp_path: Path) -> None:
    from skindesk.core.modelcard import file_sha256, read_model

    card = read_model(BUNDLED_MODEL)[0]
    result = _run([str(EXE), "info"], _user_env(tmp_path / "home"), tmp_path, watch=bundle)
    assert result.returncode == 0, result.stderr
    assert card.title in result.stdout
    assert str(BUNDLED_MODEL) in result.stdout
    assert file_sha256(BUNDLED_MODEL) in result.stdout
    assert "CPUExecutionProvider" in result.stdout


def test_frozen_case_store_migrates_and_files_images(bundle: Path, images: list[Path],
                                                     tmp_path: Path) -> None:
    """The bundled Alembic migrations, SQLAlchemy dialect and sqlite work in the frozen app."""
    old = tmp_path / "store" / "old.sqlite"
    old.parent.mkdir()
    shutil.copy(ROOT / "tests" / "cases" / "data" / "store-v1.sqlite", old)
    env = _user_env(tmp_path / "home")
    added = _run([str(EXE), "case", "add", "P-FROZEN", *map(str, images[:2]), "--lesion", "back",
                  "--database", str(old)], env, tmp_path, watch=bundle)
    assert added.returncode == 0, added.stderr
    shown = _run([str(EXE), "case", "show", "V1-0001", "--json", "--database", str(old)], env,
                 tmp_path, watch=bundle)
    assert json.loads(shown.stdout)["lesions"][0]["label"] == "left shoulder"
    checked = _run([str(EXE), "case", "check", "--database", str(old)], env, tmp_path, watch=bundle)
    assert checked.returncode == 0 and "no problems found" in checked.stdout, checked.stdout


def test_frozen_gui_starts_offscreen_and_quits_cleanly(bundle: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = _run([str(EXE)], _user_env(home, SKINDESK_SMOKE_TEST="90"), tmp_path, watch=bundle)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "smoke test: window shown, model loaded" in result.stdout, result.stdout + result.stderr
    # Settings went to the user's configuration folder, nowhere near the install folder.
    assert (home / "config" / "skindesk" / "skindesk.ini").is_file()


def _installed(package: str) -> bool:
    status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package],
                            capture_output=True, text=True)
    return status.returncode == 0 and "installed" in status.stdout.split()


def test_deb_installs_runs_from_path_and_uninstalls_cleanly(bundle: Path, images: list[Path],
                                                            tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("installing the .deb needs root (CI runs as root)")
    if shutil.which("dpkg") is None or shutil.which("dpkg-deb") is None:
        pytest.skip("not a Debian system: no dpkg")
    for package in ("skindesk", "skindesk-gpu"):
        if _installed(package):
            pytest.skip(f"a {package} package is already installed here; not touching it")
    output = _build("--deb")
    debs = sorted((ROOT / "dist" / "cpu").glob("skindesk_*.deb"))
    assert len(debs) == 1, output[-3000:]
    deb = debs[0]
    print(f".deb size: {deb.stat().st_size / 1e6:.0f} MB ({deb.name})")
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True,
                             check=True).stdout
    owned = [Path(line.split(None, 5)[5].split(" -> ")[0].lstrip("."))
             for line in listing.splitlines() if not line.startswith("d")]
    assert Path("/usr/bin/skindesk") in owned and Path("/opt/skindesk/skindesk") in owned

    install = subprocess.run(["dpkg", "-i", str(deb)], capture_output=True, text=True, timeout=600)
    try:
        assert install.returncode == 0, install.stdout + install.stderr
        assert Path("/usr/bin/skindesk").resolve() == Path("/opt/skindesk/skindesk")
        desktop = Path("/usr/share/applications/skindesk.desktop").read_text()
        assert "Exec=skindesk %F" in desktop and "Icon=skindesk" in desktop
        mime = next(line for line in desktop.splitlines() if line.startswith("MimeType="))
        for kind in ("image/jpeg", "image/png", "image/tiff", "image/bmp", "image/webp"):
            assert kind in mime
        assert Path("/usr/share/icons/hicolor/256x256/apps/skindesk.png").is_file()
        assert Path("/usr/share/icons/hicolor/scalable/apps/skindesk.svg").is_file()

        env = _user_env(tmp_path / "home", PATH=f"/usr/bin:{os.environ.get('PATH', '')}")
        info = _run(["/usr/bin/skindesk", "info"], env, tmp_path, watch=Path("/opt/skindesk"))
        assert info.returncode == 0, info.stderr
        assert "/opt/skindesk/_internal/resources/models/skindesk.onnx" in info.stdout
        classify = _run(["/usr/bin/skindesk", "classify", "--format", "json", str(images[0])],
                        env, tmp_path, watch=Path("/opt/skindesk"))
        assert classify.returncode == 0, classify.stderr
        assert json.loads(classify.stdout)["results"][0]["file"] == str(images[0])
    finally:
        remove = subprocess.run(["dpkg", "-r", "skindesk"], capture_output=True, text=True,
                                timeout=600)
    assert remove.returncode == 0, remove.stdout + remove.stderr
    assert not _installed("skindesk")
    left = [str(path) for path in owned if os.path.lexists(path)]
    assert not left, f"files left after dpkg -r: {left[:10]}"
    assert not Path("/opt/skindesk").exists()
