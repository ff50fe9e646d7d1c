#!/usr/bin/env bash
# Runs every test: unit, socket, fuzz, BPF and network-namespace e2e suites (root needed for
# the privileged ones). Ends with the line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }

results=$(mktemp --suffix=.json)
trap 'rm -f "$results"' EXIT
npx jest --ci --json --outputFile="$results" "$@"
rc=$?

# The benchmark suite's quick mode is a smoke test (no thresholds): it must run to the end and
# clean up. It counts as one test. Skipped when a subset of tests was asked for.
bench_passed=0
bench_failed=0
if [ "$#" -eq 0 ]; then
  echo "test: benchmark smoke run (npm run bench -- --quick)"
  if npm run --silent bench -- --quick; then bench_passed=1; else bench_failed=1; rc=1; fi
fi

node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const passed = r.numPassedTests + Number(process.argv[2]);
const failed = r.numFailedTests + r.numRuntimeErrorTestSuites + Number(process.argv[3]);
console.log(`${passed} passed, ${failed} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' "$results" "$bench_passed" "$bench_failed" || { echo "0 passed, 1 failed"; exit 1; }
exit $rc
