#!/usr/bin/env bash
# Every `recaudo bench` kind at a tiny scale, on SQLite and (when TEST_DATABASE_URL is
# set) on PostgreSQL: a few seconds each, so that the benches' own checks (callbacks
# lost or applied twice, row counts, a second scheduler pass that writes nothing, a
# peak-memory figure that can be read) run on every change and the bench code cannot
# rot between measurements. The figures mean nothing at this size.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

cargo build --features ssr,bench
bin="$CARGO_TARGET_DIR/debug/recaudo"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

engines=(sqlite)
if [ -n "${TEST_DATABASE_URL:-}" ]; then
  engines+=(postgres)
fi
for engine in "${engines[@]}"; do
  for kind in clients inbox calls alerts webhooks flows export governance events http; do
    args=(bench "$kind" --clients 300 --iterations 3 --depth 2 --messages 3000
      --seconds 2 --concurrency 4 --rows 2000 --subscribers 50 --rate 100)
    if [ "$engine" = postgres ]; then
      args+=(--database-url "$TEST_DATABASE_URL")
    fi
    started=$SECONDS
    if ! (cd "$work" && "$bin" "${args[@]}") > "$work/out" 2>&1; then
      cat "$work/out"
      echo "bench $kind on $engine failed" >&2
      exit 1
    fi
    figures=$(grep -c '^BENCH ' "$work/out" || true)
    if [ "$figures" -eq 0 ]; then
      cat "$work/out"
      echo "bench $kind on $engine printed no BENCH figure" >&2
      exit 1
    fi
    echo "bench $kind on $engine: $figures figures in $((SECONDS - started)) s"
  done
done
