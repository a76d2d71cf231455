#!/usr/bin/env bash
# Set everything up (system libraries, .venv, SkinDesk) and start the desktop app with the
# bundled model. Arguments are passed on: `bash scripts/run-app.sh lesion.jpg folder/`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh --app
if [ "$(uname -s)" = Linux ] && [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
  echo "run-app.sh: no graphical display (DISPLAY/WAYLAND_DISPLAY unset). Start it from a desktop" >&2
  echo "  session, over 'ssh -X', or under a virtual display: xvfb-run bash scripts/run-app.sh" >&2
  exit 2
fi
exec .venv/bin/python -m skindesk "$@"
