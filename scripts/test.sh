#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine: installs what the tests need (Chromium, PostgreSQL,
# poppler's pdftotext; the locked Python packages, requirements-test.lock, into .venv, created with
# python3 or $PYTHON where missing), starts a throwaway PostgreSQL cluster as an unprivileged user,
# then runs the suite, from .venv, on embedded SQLite and again on PostgreSQL. `.ci/run` calls this
# script; its arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh

need=()
command -v chromium >/dev/null || need+=(chromium)
command -v pdftotext >/dev/null || need+=(poppler-utils)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
fc-list 2>/dev/null | grep -qi "dejavu" || need+=(fonts-dejavu-core)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing Debian packages: ${need[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

ensure_venv
install_locked requirements-test.lock
export VIRTUAL_ENV="$PWD/$VENV" PATH="$PWD/$VENV/bin:$PATH"  # every command below runs from .venv

echo "== static checks"
ruff check .
lint-imports
mypy  # the packages and checks of [tool.mypy] in pyproject.toml

# --- a throwaway PostgreSQL cluster, owned by an unprivileged user (PostgreSQL refuses root) ---
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
PG_DIR=$(mktemp -d /tmp/dxm-pg-XXXX)
PG_PORT=$(python -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
as_pg() { "$@"; }
if [ "$(id -u)" = 0 ]; then
  id dxmtest >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin dxmtest
  chown dxmtest "$PG_DIR"
  as_pg() { runuser -u dxmtest -- "$@"; }
fi
cleanup() { as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$PG_DIR"; }
trap cleanup EXIT
as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
  -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
PG_URL="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/postgres"

status=0
echo "== test suite on SQLite"
DXM_TEST_DATABASE=sqlite python -m pytest --cov --cov-report=term:skip-covered "$@" || status=$?
echo "== test suite on PostgreSQL ($PG_URL)"
DXM_TEST_DATABASE="$PG_URL" python -m pytest "$@" || status=$?
exit $status
