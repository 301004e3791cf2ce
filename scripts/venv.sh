# Sourced by scripts/demo.sh, scripts/test.sh and scripts/lock.sh (cwd = the project's root):
#   ensure_venv            creates .venv with python3 (or $PYTHON) unless a working one is there;
#                          installs Debian's python3-venv with apt when `python3 -m venv` lacks it
#   install_locked LOCK    installs LOCK (a hashed lock file) into .venv, then the project itself
#                          (editable, --no-deps); skipped when LOCK and pyproject.toml are unchanged
#                          since the last install
# Nothing is installed outside .venv, so a Python that refuses system-wide installs (PEP 668) is fine,
# and so is a pyenv or conda one. Every failure stops the calling script (it runs under `set -e`).

VENV=.venv
# pip itself is pinned: pip 23 (what Python 3.11's venv bundles) refuses a hashed lock whenever a
# package asks for another with an extra (pytest-cov wants coverage[toml]) and a newer release of it
# exists upstream, so a lock that installed yesterday failed today on a fresh machine.
PIP_VERSION=26.3

_as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

_venv_ok() {
  [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null \
    && "$VENV/bin/python" -m pip --version >/dev/null 2>&1
}

ensure_venv() {
  _venv_ok && return 0
  local py=${PYTHON:-python3}
  command -v "$py" >/dev/null || { echo "error: $py not found; install Python 3.11 or later" >&2; return 1; }
  if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "error: $py is Python $("$py" -c 'import platform; print(platform.python_version())'); dxmaturity needs 3.11 or later (set PYTHON=...)" >&2
    return 1
  fi
  echo "== creating the virtual environment $VENV with $(command -v "$py") ($("$py" -V 2>&1))"
  rm -rf "$VENV"
  if ! "$py" -m venv "$VENV" >/dev/null 2>&1; then
    rm -rf "$VENV"
    command -v apt-get >/dev/null || { "$py" -m venv "$VENV"; return 1; }  # shows venv's own error
    local ver pkgs=(python3-venv)
    ver=$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    echo "== $py has no working venv module: installing Debian's python3-venv"
    _as_root apt-get update -qq
    apt-cache show "python$ver-venv" >/dev/null 2>&1 && pkgs+=("python$ver-venv")
    DEBIAN_FRONTEND=noninteractive _as_root apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
    "$py" -m venv "$VENV"
  fi
  _venv_ok || { echo "error: $VENV was created but has no working Python 3.11+ with pip" >&2; return 1; }
}

_pip() { PIP_ROOT_USER_ACTION=ignore "$VENV/bin/python" -m pip --disable-pip-version-check --no-input "$@"; }

install_locked() {
  local lock=$1 stamp stamp_file
  stamp=$(cat "$lock" pyproject.toml | sha256sum | cut -d' ' -f1)
  stamp_file="$VENV/.installed-$(basename "$lock")"
  if [ -x "$VENV/bin/dxm" ] && [ "$(cat "$stamp_file" 2>/dev/null)" = "$stamp" ]; then
    echo "== $lock already installed in $VENV"
    return 0
  fi
  echo "== installing $lock into $VENV"
  rm -f "$VENV"/.installed-*
  [ "$("$VENV/bin/python" -m pip --version | cut -d' ' -f2)" = "$PIP_VERSION" ] || _pip install -q "pip==$PIP_VERSION"
  _pip install -q --require-hashes -r "$lock"
  _pip install -q --no-deps -e .
  echo "$stamp" >"$stamp_file"
}
