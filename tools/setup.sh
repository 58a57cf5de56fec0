#!/usr/bin/env bash
# One-time (and idempotent) set-up of the kit on a Debian/Ubuntu machine:
#   - system packages: pcscd, the vsmartcard-vpcd virtual reader driver, OpenSC, pcsc-tools,
#     and what the pyscard build needs (swig, libpcsclite-dev, a C compiler, Python headers);
#   - chromium (headless, to check the rendered HTML report);
#   - the PDF report's needs: libpango (WeasyPrint), a Japanese font (fonts-noto-cjk), and poppler-utils
#     (pdftotext, pdftoppm: CI checks the PDF's text and a page image, tools/check-pdf.py);
#   - a virtual environment in .venv with the kit (editable), its test extras and tox;
#   - the Allure report generator in tools/allure (npm ci);
#   - with --bench: vicc (vsmartcard-vpicc, python3-pycryptodome), the peer `tox -e bench` measures against.
# Re-running it is fast: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(pcscd vsmartcard-vpcd opensc pcsc-tools libpcsclite-dev swig gcc chromium python3-venv python3-dev
  libpangoft2-1.0-0 fonts-noto-cjk poppler-utils)
# --bench: also the peer tox -e bench runs against, vicc (vsmartcard-vpicc; its Crypto is Debian's Cryptodome)
if [ "${1:-}" = "--bench" ]; then
  packages+=(vsmartcard-vpicc python3-pycryptodome)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# python3-venv/-dev only matter when python3 is Debian's own; skip them when this python has venv+headers.
if python3 -c 'import venv, ensurepip, sysconfig, os; assert os.path.exists(sysconfig.get_paths()["include"] + "/Python.h")' 2>/dev/null; then
  missing=("${missing[@]/python3-venv}"); missing=("${missing[@]/python3-dev}")
fi
read -r -a missing <<<"${missing[*]}"
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.jpkikit-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test]' tox
  touch "$stamp"
fi
# The Allure report generator (Allure Report 3, from the npm registry; needs Node.js 20+).
if command -v npm >/dev/null 2>&1; then
  if [ ! -f tools/allure/node_modules/.package-lock.json ] ||
     [ tools/allure/package-lock.json -nt tools/allure/node_modules/.package-lock.json ]; then
    npm ci --prefix tools/allure --no-audit --no-fund --loglevel=error >/dev/null
  fi
else
  echo "setup: npm not found; HTML reports (tools/allure-report.sh) need Node.js 20+ with npm" >&2
fi
echo "setup: ready (.venv/bin/jpkikit, .venv/bin/tox)"
