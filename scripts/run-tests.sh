#!/usr/bin/env bash
# Set everything up (system libraries, .venv with the train and dev extras) and run all tests
# headless. Arguments go to pytest: `bash scripts/run-tests.sh tests/core -q`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh --dev
export QT_QPA_PLATFORM=offscreen
exec .venv/bin/python -m pytest "$@"
