#!/usr/bin/env bash
# Set up everything and run the main job: local Prefect server + SQLite, sample packet processed, dashboard URL printed.
set -euo pipefail
cd "$(dirname "$0")/.."
# uv installed by pip lands in the interpreter's scripts folder, which may not be on PATH yet
export PATH="$PATH:$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
export DO_NOT_TRACK=1 PREFECT_SERVER_ANALYTICS_ENABLED=false
bash scripts/setup.sh
exec uv run claimflow up "$@"
