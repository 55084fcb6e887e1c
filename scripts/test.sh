#!/usr/bin/env bash
# The whole test suite: host set-up (apt packages, Swift build), then every test (swift test).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
scripts/setup.sh
echo "== swift test"
set +e
swift test 2>&1 | tee .build/swift-test.log
status=$?
set -e
echo "== swift test exit status $status, total $((SECONDS - start)) s"
exit "$status"
