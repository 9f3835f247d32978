#!/usr/bin/env bash
# Set up, then score the example package on the bundled rubric (the main job).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/jixiao score examples/yueyang-kjj-2023/dossier.toml "$@"
