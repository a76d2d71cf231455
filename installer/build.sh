#!/usr/bin/env bash
# Build the SkinDesk desktop bundle (PyInstaller, one folder) and optionally its .deb.
#
#   bash installer/build.sh [cpu|gpu] [--deb] [--test-model] [--reuse]
#
#   cpu           plain onnxruntime, in .venv-build-cpu (default)
#   gpu           onnxruntime-gpu, in .venv-build-gpu (needs CUDA 13 + cuDNN 9 on the target PC;
#                 without them the app runs on CPU and says why)
#   --deb         also build the Debian package (installer/build-deb.sh)
#   --test-model  bundle an untrained test model (skindesk.core.testmodels) instead of
#                 resources/models/skindesk.onnx; it is made in build/, never in resources/
#   --reuse       keep an existing bundle when nothing it is built from has changed
#
# Output: dist/<variant>/skindesk/ (the app folder; run dist/<variant>/skindesk/skindesk),
# dist/<variant>/build-info.txt (versions), dist/<variant>/*.deb with --deb.
# Environment: PYTHON=python3.12 picks the interpreter for the build venv (3.11+).
# The two onnxruntime packages install the same module and must never share a venv: each
# variant has its own, and the build stops if the other package is found in it.
set -euo pipefail

VARIANT=cpu DEB=0 TEST_MODEL=0 REUSE=0
for argument in "$@"; do
  case "$argument" in
    cpu|gpu) VARIANT=$argument ;;
    --deb) DEB=1 ;;
    --test-model) TEST_MODEL=1 ;;
    --reuse) REUSE=1 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument '$argument' (see --help)" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
START=$SECONDS

VENV="$ROOT/.venv-build-$VARIANT"
OUT="$ROOT/dist/$VARIANT"
WORK="$ROOT/build/pyinstaller-$VARIANT"
BUNDLE="$OUT/skindesk"
STAMP="$OUT/build-stamp"

# -- the model ------------------------------------------------------------------------------
if [ "$TEST_MODEL" = 0 ] && [ ! -f resources/models/skindesk.onnx ]; then
  echo "build.sh: resources/models/skindesk.onnx (the shipped model) is missing." >&2
  echo "  Train and export it first, or add --test-model for a test build with an untrained model." >&2
  exit 2
fi

# -- up to date? ----------------------------------------------------------------------------
source_digest() {
  {
    echo "$VARIANT test-model=$TEST_MODEL"
    find skindesk installer resources pyproject.toml -type f \
         ! -path '*/__pycache__/*' ! -name '*.pyc' ! -name 'README.md' -print0 |
      sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-64
}
DIGEST="$(source_digest)"

report() {
  local bytes files
  bytes=$(du -sb "$BUNDLE" | cut -f1)
  files=$(find "$BUNDLE" -type f | wc -l)
  say "bundle: $BUNDLE"
  printf 'bundle size (%s, unpacked): %s MB (%s bytes, %s files)\n' \
    "$VARIANT" "$((bytes / 1000000))" "$bytes" "$files"
}

if [ "$REUSE" = 1 ] && [ -x "$BUNDLE/skindesk" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$DIGEST" ]; then
  say "reusing the bundle built from these same sources"
  report
  if [ "$DEB" = 1 ] && ! ls "$OUT"/*.deb >/dev/null 2>&1; then bash installer/build-deb.sh "$VARIANT"; fi
  exit 0
fi

# -- build venv -----------------------------------------------------------------------------
find_python() {
  local candidate
  for candidate in ${PYTHON:-} python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  return 1
}

if [ ! -x "$VENV/bin/python" ]; then
  PY="$(find_python)" || {
    echo "build.sh: needs Python 3.11+ with the venv module (Debian: apt-get install python3-venv)" >&2
    exit 2
  }
  say "creating $VENV with $("$PY" --version)"
  "$PY" -m venv "$VENV"
fi
REQUIREMENTS="$("$VENV/bin/python" installer/requirements.py "$VARIANT")"
WANT="$(printf '%s\n%s' "$REQUIREMENTS" "$("$VENV/bin/python" --version 2>&1)" | sha256sum | cut -c1-64)"
if [ "$(cat "$VENV/.skindesk-build-requirements" 2>/dev/null)" != "$WANT" ]; then
  say "installing build requirements into $VENV (quiet; minutes the first time)"
  export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_PROGRESS_BAR=off
  printf '%s\n' "$REQUIREMENTS" > "$VENV/requirements.txt"
  "$VENV/bin/python" -m pip install -q -r "$VENV/requirements.txt" 2>&1 |
    grep -v "^WARNING: Location .* is ignored" >&2 || true
  "$VENV/bin/python" -c 'import PyInstaller, onnxruntime, PySide6.QtWidgets, onnx, PIL, numpy' || {
    echo "build.sh: the build requirements did not install into $VENV (see pip's messages above)" >&2
    exit 1
  }
  echo "$WANT" > "$VENV/.skindesk-build-requirements"
fi
OTHER=onnxruntime-gpu; [ "$VARIANT" = gpu ] && OTHER=onnxruntime
if "$VENV/bin/python" -m pip show -q "$OTHER" >/dev/null 2>&1 && [ "$(uname -s)" != Darwin ]; then
  echo "build.sh: $VENV has $OTHER installed beside the $VARIANT package; remove $VENV and rerun." >&2
  exit 1
fi

# -- icons and resources --------------------------------------------------------------------
if [ ! -f resources/icons/skindesk.ico ] || [ ! -f resources/icons/skindesk.png ]; then
  say "drawing the icons (installer/make_icons.py)"
  "$VENV/bin/python" installer/make_icons.py >/dev/null
fi
export SKINDESK_BUILD_VARIANT="$VARIANT"
if [ "$TEST_MODEL" = 1 ]; then
  STAGE="$WORK/test-resources"
  rm -rf "$STAGE" && mkdir -p "$STAGE/models"
  cp -r resources/fonts "$STAGE/fonts"
  say "TEST BUILD: bundling an untrained test model (not for clinical use)"
  PYTHONPATH="$ROOT" "$VENV/bin/python" -c "
from skindesk.core.testmodels import build_test_model, test_card
build_test_model('$STAGE/models/skindesk.onnx', test_card(size=224))"
  export SKINDESK_BUILD_RESOURCES="$STAGE"
else
  unset SKINDESK_BUILD_RESOURCES
fi

# -- PyInstaller ----------------------------------------------------------------------------
say "building the $VARIANT bundle with PyInstaller (nice -n 10)"
BUILD_START=$SECONDS
rm -f "$STAMP"
nice -n 10 "$VENV/bin/python" -m PyInstaller --noconfirm --log-level WARN \
  --distpath "$OUT" --workpath "$WORK" installer/skindesk.spec
{
  echo "SkinDesk $VARIANT bundle, built $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -srm)"
  [ "$TEST_MODEL" = 1 ] && echo "TEST BUILD: untrained test model"
  "$VENV/bin/python" --version
  "$VENV/bin/python" -m pip freeze 2>/dev/null
} > "$OUT/build-info.txt"
echo "$DIGEST" > "$STAMP"
rm -f "$OUT"/*.deb
report
printf 'build time: %s s (PyInstaller %s s)\n' "$((SECONDS - START))" "$((SECONDS - BUILD_START))"

if [ "$DEB" = 1 ]; then
  bash installer/build-deb.sh "$VARIANT"
fi
