#!/usr/bin/env bash
# Set up everything and run the whole test suite: lint, types, spec/rule check, pytest (OCR and Prefect included).
set -euo pipefail
cd "$(dirname "$0")/.."
# uv installed by pip lands in the interpreter's scripts folder, which may not be on PATH yet
export PATH="$PATH:$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
export CLAIMFLOW_WITH_POSTGRES=1 DO_NOT_TRACK=1 PREFECT_SERVER_ANALYTICS_ENABLED=false
bash scripts/setup.sh
source scripts/start-postgres.sh
uv run ruff check claimflow flows tests bench
uv run mypy
uv run claimflow check
uv run pytest -q "$@"
