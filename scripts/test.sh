#!/usr/bin/env bash
# Set up (service and test tools, scripts/setup-test.sh), then run every check: ruff, mypy --strict, the import-layer contract, and the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-test.sh
.venv/bin/ruff check engine service tests
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/python -m pytest "$@"
