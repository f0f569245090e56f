#!/usr/bin/env bash
# Runs each fuzz target (fuzz/fuzz_targets) for SECONDS (default 30) from its committed
# corpus (fuzz/corpus/<target>), with cargo fuzz on the stable toolchain (no sanitizers:
# a panic, an overflow or a failed assertion is a crash). Inputs it finds go to a scratch
# corpus under the build directory; a crash fails the run and leaves the input in
# fuzz/artifacts/<target>/ to be replayed with `cargo fuzz run <target> <file>`.
# The server crate is compiled in 16 code units, not cargo fuzz's default of one: as one
# unit the instrumented build took 23.7 GB and was killed; in 16 its rustc peaks near 10 GB.
# FUZZ_TARGETS="mime import" limits the run to some targets.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
seconds="${1:-30}"
targets="${FUZZ_TARGETS:-webhooks segments import mime templates}"
build="$CARGO_TARGET_DIR/fuzz"
cd fuzz
for target in $targets; do
  scratch="$build/corpus/$target"
  mkdir -p "$scratch"
  echo "== fuzz $target for ${seconds}s"
  log="$build/$target.log"
  status=0
  cargo fuzz run --sanitizer none --codegen-units 16 --target-dir "$build" "$target" "$scratch" "corpus/$target" -- \
    -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E "^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb|#[0-9]+ +DONE)" "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -60 "$log"
    echo "fuzz target $target failed (exit $status); its log: $log" >&2
    exit 1
  fi
done
