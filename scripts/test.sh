#!/usr/bin/env bash
# The project's test command (`npm test`, and CI through .ci/run): prepares the machine, then
# type-checks, lints, and runs every unit and acceptance test. Every check runs even after one fails,
# so a single run reports all problems; the exit code is non-zero if any failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh

failed=()

step() {
  local name=$1
  shift
  printf '\n=== %s\n' "$name"
  if "$@"; then
    printf '=== %s: ok\n' "$name"
  else
    printf '=== %s: FAILED\n' "$name"
    failed+=("$name")
  fi
}

# Test files by walking the tree rather than by shell globs, which silently match nothing when a
# directory moves. Unit tests live in test/unit/ or beside their sources; acceptance tests each start
# their own etcd and kube-apiserver, so they are kept apart and run one file at a time (2 cores).
find_tests() {
  find . -name node_modules -prune -o -name .git -prune -o -type f -name '*.test.ts' -print | sort
}
mapfile -t unit_tests < <(find_tests | grep -v '^\./test/acceptance/')
mapfile -t acceptance_tests < <(find_tests | grep '^\./test/acceptance/')
if [ ${#unit_tests[@]} -eq 0 ] || [ ${#acceptance_tests[@]} -eq 0 ]; then
  printf 'test: error: found %d unit and %d acceptance test files (*.test.ts); expected both\n' \
    ${#unit_tests[@]} ${#acceptance_tests[@]} >&2
  exit 1
fi

# --test-timeout caps each test, so one that hangs fails instead of eating the whole CI budget.
step typecheck npm run --silent typecheck
step lint npm run --silent lint
step "unit tests (${#unit_tests[@]} files)" \
  node --import tsx --test --test-reporter=spec --test-timeout=60000 "${unit_tests[@]}"
step "acceptance tests (${#acceptance_tests[@]} files)" \
  node --import tsx --test --test-reporter=spec --test-timeout=300000 --test-concurrency=1 "${acceptance_tests[@]}"

if [ ${#failed[@]} -gt 0 ]; then
  printf '\ntest: FAILED:\n' >&2
  printf '  - %s\n' "${failed[@]}" >&2
  exit 1
fi
printf '\ntest: all checks passed\n'
