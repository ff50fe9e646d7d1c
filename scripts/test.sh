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
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
console.log(`${r.numPassedTests} passed, ${r.numFailedTests + r.numRuntimeErrorTestSuites} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' "$results" || { echo "0 passed, 1 failed"; exit 1; }
exit $rc
