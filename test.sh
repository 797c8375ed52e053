#!/usr/bin/env bash
# Run the whole test suite in the same environment ./run.sh uses: ./test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")"
source ./env.sh
ensure_env requirements-dev.txt
exec python -m pytest "$@"
