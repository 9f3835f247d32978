#!/usr/bin/env bash
# Create .venv (Python 3.11; durable-rules does not import on 3.13) and install jixiao with its
# tools. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
# System packages (Debian): a CJK font (WeasyPrint and Chromium print empty boxes without one),
# Pango for the PDF sheet, and Chromium for the browser tests (never a downloaded browser).
if command -v apt-get >/dev/null && { ! fc-list 2>/dev/null | grep -qi "wqy" || ! command -v chromium >/dev/null; }; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
    fonts-wqy-microhei libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 chromium >/dev/null
fi
# HAProxy (Debian), for `jixiao serve --processes N`: one process per core behind it.
if command -v apt-get >/dev/null && ! command -v haproxy >/dev/null && ! [ -x /usr/sbin/haproxy ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  # Optional (only --processes needs it): a failed install does not stop the setup.
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq haproxy >/dev/null; } \
    || echo "setup: haproxy not installed; jixiao serve --processes needs it" >&2
fi
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev,service]'
