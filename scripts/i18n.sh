#!/usr/bin/env bash
# Re-extract the message catalogue and merge new messages into web/locale/vi (then translate them).
set -euo pipefail
cd "$(dirname "$0")/.."
# -k translate:2: web.i18n.translate(lang, message) marks its second argument.
# --ignore-dirs: Babel skips folders starting with "_" by default, which left web/templates/_partials out
pybabel extract -F babel.cfg -k N_ -k translate:2 --ignore-dirs '.* __pycache__ var' -o web/locale/messages.pot --no-location \
  --sort-output --project=dxmaturity .
pybabel update -i web/locale/messages.pot -d web/locale -l vi --no-fuzzy-matching --ignore-obsolete --width 100
