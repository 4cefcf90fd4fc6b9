#!/usr/bin/env bash
# Benchmarks, kept out of the test command: `npm run bench` runs all, `npm run bench -- NAME` one
# (NAME is a file in bench/ without .bench.ts). Figures go to stdout; record them in bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
shopt -s nullglob
benches=(bench/*.bench.ts)
[ ${#benches[@]} -gt 0 ] || { echo "no benchmarks found in bench/" >&2; exit 1; }
for file in "${benches[@]}"; do
  name=$(basename "$file" .bench.ts)
  if [ $# -gt 0 ] && [[ " $* " != *" $name "* ]]; then continue; fi
  echo "### $name"
  node --expose-gc --import tsx "$file"
done
