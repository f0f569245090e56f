#!/usr/bin/env bash
# Runs every test: formatting and lints, unit tests, integration tests on SQLite (and on
# PostgreSQL when TEST_DATABASE_URL is set), the benchmarks at a tiny scale, each fuzz
# target for 30 seconds, then the browser tests in Chromium against the real server.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
bash scripts/setup.sh

step() { printf '\n== %s\n' "$*"; }

step "format and lints"
cargo fmt --all -- --check
(cd fuzz && cargo fmt --all -- --check)
cargo clippy --all-targets --features ssr -- -D warnings
cargo clippy --all-features -- -D warnings

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  echo "NOTICE: TEST_DATABASE_URL is not set; the integration tests run on SQLite only."
else
  echo "Integration tests run on SQLite and on PostgreSQL (${TEST_DATABASE_URL%%@*}@…)."
fi
step "unit and integration tests"
cargo test --features ssr

step "benchmark smoke runs (every kind, tiny scale)"
bash scripts/bench-smoke.sh

step "fuzzing (each target 30 s from its committed corpus)"
bash scripts/fuzz.sh 30

step "browser tests (Playwright, Chromium)"
cargo leptos build
export RECAUDO_BIN="$CARGO_TARGET_DIR/debug/recaudo"
(cd end2end && npx playwright test)
