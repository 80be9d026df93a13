#!/usr/bin/env bash
# Set up everything and run the main job: local Prefect server + SQLite, sample packet processed, dashboard URL printed.
set -euo pipefail
cd "$(dirname "$0")/.."
export DO_NOT_TRACK=1 PREFECT_SERVER_ANALYTICS_ENABLED=false
bash scripts/setup.sh
exec uv run claimflow up "$@"
