#!/usr/bin/env bash
# Render a certification run's Allure results as an HTML report with Allure Report 3 (npm package
# "allure", pure JS: no Java), installed project-locally in tools/allure/ from its package-lock.json.
#
#   tools/allure-report.sh RESULTS_DIR OUT_DIR [ja|en]
#
# RESULTS_DIR is the allure-results/ directory `jpkikit certify` wrote (results/<profile>/allure-results).
# History across runs is kept next to it, in results/<profile>/allure-history.jsonl (certify cleans
# allure-results/ on each run, not its parent). OUT_DIR gets index.html and requirements.html, the
# requirement catalogue each test links to. The report's name, Allure's own words and the requirements page
# are in the run's language (the report.lang line `jpkikit certify --lang` records in RESULTS_DIR), unless a
# language is given.
set -euo pipefail
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  echo "usage: $0 RESULTS_DIR OUT_DIR [ja|en]" >&2
  exit 2
fi
lang=()
if [ $# -eq 3 ]; then
  case "$3" in
    ja | en) lang=("$3") ;;
    *) echo "allure-report: unknown language $3 (ja or en)" >&2; exit 2 ;;
  esac
fi
here="$(cd "$(dirname "$0")" && pwd)"
results="$(cd "$1" 2>/dev/null && pwd)" || { echo "allure-report: no such results directory: $1" >&2; exit 2; }
if ! compgen -G "$results/*-result.json" >/dev/null; then
  echo "allure-report: $1 holds no Allure results (*-result.json); run jpkikit certify first" >&2
  exit 2
fi
mkdir -p "$2"
out="$(cd "$2" && pwd)"
history="$(dirname "$results")/allure-history.jsonl"

command -v node >/dev/null || { echo "allure-report: node not found (Allure Report 3 needs Node.js >= 20)" >&2; exit 2; }
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  echo "allure-report: Node.js $(node --version) is too old; Allure Report 3 needs Node.js >= 20" >&2
  exit 2
fi
allure="$here/allure/node_modules/.bin/allure"
if [ ! -x "$allure" ]; then
  command -v npm >/dev/null || { echo "allure-report: npm not found (install Node.js >= 20 with npm)" >&2; exit 2; }
  npm ci --prefix "$here/allure" --no-audit --no-fund --loglevel=error >/dev/null
fi

# the Python with jpkikit: $PYTHON, else the active virtualenv (tox), else the checkout's .venv, else python3
python="${PYTHON:-}"
for candidate in "${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}" "$here/../.venv/bin/python"; do
  if [ -z "$python" ] && [ -n "$candidate" ] && [ -x "$candidate" ]; then python="$candidate"; fi
done
python="${python:-python3}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$python" -m jpkikit.report.allure config "$results" "$out" "$history" ${lang[@]+"${lang[@]}"} >"$work/allurerc.json"
(cd "$work" && "$allure" generate --config "$work/allurerc.json" "$results" >"$work/log" 2>&1) || {
  cat "$work/log" >&2
  echo "allure-report: allure generate failed" >&2
  exit 1
}
"$python" -m jpkikit.report.allure requirements "$out/requirements.html" "$results" ${lang[@]+"${lang[@]}"}
echo "allure-report: $out/index.html (history: $history)"
