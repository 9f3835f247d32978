#!/usr/bin/env bash
# Set up, then run the main job on the embedded defaults: the HTTP service on SQLite
# (data/jixiao.db in the project folder) with the bundled rubrics. The first start on an empty store prints a one-time
# admin key. Options go to `jixiao serve` (e.g. --port 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/jixiao serve "$@"
