#!/usr/bin/env bash
# Set up everything and run the whole test suite: lint, types, spec/rule check, pytest (OCR and Prefect included).
set -euo pipefail
cd "$(dirname "$0")/.."
export CLAIMFLOW_WITH_POSTGRES=1 DO_NOT_TRACK=1 PREFECT_SERVER_ANALYTICS_ENABLED=false
bash scripts/setup.sh
source scripts/start-postgres.sh
uv run ruff check claimflow flows tests bench
uv run mypy
uv run claimflow check
uv run pytest -q "$@"
