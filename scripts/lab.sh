#!/usr/bin/env bash
# The README's first command: install what is missing, then run the local lab (see test/lab/lab.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node --import tsx test/lab/lab.ts "$@"
