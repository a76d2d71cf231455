#!/usr/bin/env bash
# Set up SkinDesk on a fresh Debian/Ubuntu machine (Python 3.11+): the system libraries Qt needs
# (installed with apt-get only when missing, through sudo when not root), a virtual environment
# in .venv, and SkinDesk in it, editable.
#
#   bash scripts/setup.sh --app   runtime only:      pip install -e .
#   bash scripts/setup.sh --dev   tests + training:  pip install -e '.[train,dev]'   (default)
#
# Environment: PYTHON=python3.12 picks the interpreter; SKINDESK_SKIP_APT=1 skips apt-get.
# pip runs quietly (-q): its errors still show. It is skipped when pyproject.toml has not changed
# since the last successful install for the same extras.
set -euo pipefail

MODE=dev
case "${1:-}" in
  --app) MODE=app ;;
  --dev|"") MODE=dev ;;
  -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
  *) echo "setup.sh: unknown option '$1' (use --app or --dev)" >&2; exit 2 ;;
esac

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# -- system libraries -------------------------------------------------------------------------
# Qt offscreen and the fonts it draws with; then what a real X11 window needs (xcb); then, for
# the tests, a virtual X server, pdftotext and a PostgreSQL server (the case-store tests start
# their own throwaway cluster with its initdb/pg_ctl; the Debian service itself is not used).
QT_PACKAGES=(libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0 fonts-dejavu-core)
XCB_PACKAGES=(libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
              libxkbcommon-x11-0 libx11-xcb1 libxcb-randr0 libxcb-shape0 libxcb-xfixes0
              libxcb-sync1 libxcb-xkb1 libxcb-shm0 libxcb-render0)
TEST_PACKAGES=(xvfb poppler-utils postgresql)

installed() {  # Ubuntu 24.04 renamed some libraries with a t64 suffix
  dpkg -s "$1" >/dev/null 2>&1 || dpkg -s "${1}t64" >/dev/null 2>&1
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "setup.sh: need root to run: $*  (no sudo found; run it as root)" >&2; return 1
  fi
}

install_system_packages() {
  local wanted=("${QT_PACKAGES[@]}" "${XCB_PACKAGES[@]}")
  [ "$MODE" = dev ] && wanted+=("${TEST_PACKAGES[@]}")
  if [ "${SKINDESK_SKIP_APT:-0}" = 1 ]; then say "skipping system packages (SKINDESK_SKIP_APT=1)"; return; fi
  if ! command -v dpkg >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    say "not a Debian/Ubuntu system: install these (or your distribution's equivalents) yourself: ${wanted[*]}"
    return
  fi
  local missing=()
  for package in "${wanted[@]}"; do installed "$package" || missing+=("$package"); done
  # Python's venv module is a separate package on Debian/Ubuntu.
  if [ -n "${PY:-}" ] && ! "$PY" -c 'import ensurepip, venv' >/dev/null 2>&1 && [ ! -x .venv/bin/python ]; then
    missing+=("python3-venv" "python3.$("$PY" -c 'import sys; print(sys.version_info[1])')-venv")
  fi
  [ ${#missing[@]} -eq 0 ] && return
  say "installing system packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# -- Python -----------------------------------------------------------------------------------
find_python() {
  local candidate
  for candidate in ${PYTHON:-} python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  return 1
}

if [ -x .venv/bin/python ]; then
  PY=.venv/bin/python
else
  PY="$(find_python)" || {
    echo "setup.sh: SkinDesk needs Python 3.11 or newer (found: $(python3 --version 2>&1 || echo none))." >&2
    echo "  Debian 12 / Ubuntu 24.04: sudo apt-get install python3 python3-venv" >&2
    exit 2
  }
fi

install_system_packages

if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $("$PY" --version)"
  "$PY" -m venv .venv
fi
.venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "setup.sh: .venv has $(.venv/bin/python --version); SkinDesk needs 3.11+. Remove .venv and rerun." >&2
  exit 2
}

if [ "$MODE" = dev ]; then TARGET='.[train,dev]'; else TARGET='.'; fi
stamp_of() { echo "$1 $(sha256sum pyproject.toml | cut -c1-64) $(.venv/bin/python --version 2>&1)"; }
STAMP_FILE=.venv/.skindesk-installed
current="$(stamp_of "$TARGET")"
if [ -f "$STAMP_FILE" ] && { grep -qxF "$current" "$STAMP_FILE" ||
   { [ "$MODE" = app ] && grep -qxF "$(stamp_of '.[train,dev]')" "$STAMP_FILE"; }; }; then
  say "Python packages up to date ($TARGET)"
else
  say "installing SkinDesk and its Python packages: pip install -e '$TARGET' (quiet; this can take minutes)"
  export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_PROGRESS_BAR=off
  .venv/bin/python -m pip install -q -e "$TARGET"
  echo "$current" >> "$STAMP_FILE"
fi
