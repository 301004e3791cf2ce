#!/usr/bin/env bash
# The README's first command: creates .venv (with python3, or $PYTHON) where it is missing, installs
# the locked app (requirements.lock) and the project into it, then serves the demo (`dxm demo`; any
# arguments are passed on, e.g. `bash scripts/demo.sh --port 8001`).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
ensure_venv
install_locked requirements.lock
exec "$VENV/bin/dxm" demo "$@"
