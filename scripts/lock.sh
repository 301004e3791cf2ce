#!/usr/bin/env bash
# Regenerates the lock files from pyproject.toml's ranges: run it after changing the dependencies.
#   requirements-test.lock  the app and its `test` extras: what scripts/test.sh installs and tests
#   requirements.lock       the app alone (the same versions, a subset): what scripts/demo.sh installs
# Both pin every package, with hashes, for every Python >= 3.11 and platform (uv's universal
# resolution), and install with plain pip. Versions already in the lock files are kept where the
# ranges still allow them; `bash scripts/lock.sh --upgrade` (or `--upgrade-package NAME`) moves on.
# uv itself (pinned below) is installed into .venv/lock-tools, nothing outside .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh

UV_VERSION=0.13.9
ensure_venv
tools="$VENV/lock-tools"
if [ "$("$tools/bin/uv" --version 2>/dev/null | cut -d' ' -f2)" != "$UV_VERSION" ]; then
  echo "== installing uv $UV_VERSION into $tools"
  rm -rf "$tools"
  _pip install -q --target "$tools" "uv==$UV_VERSION"
fi

compile() {
  UV_CUSTOM_COMPILE_COMMAND="bash scripts/lock.sh" "$tools/bin/uv" pip compile --quiet --universal \
    --python-version 3.11 --generate-hashes "$@"
}
# the tested set first; the app's lock is that set less the test tools
compile pyproject.toml --extra test -o requirements-test.lock "$@"
compile pyproject.toml -c requirements-test.lock -o requirements.lock "$@"
echo "== wrote requirements-test.lock ($(grep -c '^[a-z0-9]' requirements-test.lock) packages)" \
  "and requirements.lock ($(grep -c '^[a-z0-9]' requirements.lock) packages)"
