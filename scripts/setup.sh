#!/usr/bin/env bash
# Create .venv (Python 3.11; durable-rules does not import on 3.13) and install jixiao with its
# tools. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
# System packages (Debian): a CJK font (WeasyPrint and Chromium print empty boxes without one),
# Pango for the PDF sheet, Chromium for the browser tests (never a downloaded browser), and
# HAProxy for `jixiao serve --processes N` (docs/deploy.md).
if command -v apt-get >/dev/null && { ! fc-list 2>/dev/null | grep -qi "wqy" || ! command -v chromium >/dev/null || ! [ -x /usr/sbin/haproxy ]; }; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
    fonts-wqy-microhei libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 chromium haproxy >/dev/null
fi
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev,service]'
