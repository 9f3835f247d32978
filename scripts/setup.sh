#!/usr/bin/env bash
# Create .venv (Python 3.11; durable-rules does not import on 3.13) and install what the service
# needs: jixiao with its service extras, a CJK font and Pango for the PDF sheet. No browser and
# no test tools: scripts/setup-test.sh adds those. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/apt.sh
# A CJK font (the PDF sheet prints empty boxes without one) and Pango (WeasyPrint).
if ! fc-list 2>/dev/null | grep -qi "wqy"; then
  apt_install --no-install-recommends fonts-wqy-microhei libpango-1.0-0 libpangoft2-1.0-0 \
    libharfbuzz-subset0 fontconfig
fi
# HAProxy (Debian), for `jixiao serve --processes N`: one process per core behind it.
if ! command -v haproxy >/dev/null && ! [ -x /usr/sbin/haproxy ]; then
  # Optional (only --processes needs it): a failed install (apt's output shown) does not stop
  # the setup.
  apt_install --no-install-recommends haproxy \
    || echo "setup: haproxy not installed; jixiao serve --processes needs it" >&2
fi
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[service]'
