#!/usr/bin/env bash
# What the checks need on top of scripts/setup.sh: the test tools (the `dev` extras) and
# Chromium for the browser tests (Debian's, never a downloaded browser). scripts/test.sh runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/apt.sh
if ! command -v chromium >/dev/null; then
  apt_install chromium
fi
.venv/bin/python -m pip install -q -e '.[dev,service]'
