#!/usr/bin/env bash
# Installs what a fresh machine lacks to build, run and test Recaudo. Idempotent: every
# piece is cached under $RECAUDO_CACHE (default ~/.cache/recaudo) and skipped when present.
# Source it (`. scripts/setup.sh`) to get PATH and CARGO_TARGET_DIR in your shell.
set -euo pipefail

RECAUDO_CACHE="${RECAUDO_CACHE:-$HOME/.cache/recaudo}"
TOOLS="$RECAUDO_CACHE/tools"
CARGO_LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=0.2.130
BINARYEN_VERSION=132.0.0
mkdir -p "$TOOLS/bin" "$RECAUDO_CACHE/target"
export PATH="$TOOLS/bin:$TOOLS/node_modules/.bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$RECAUDO_CACHE/target}"

log() { printf '[setup] %s\n' "$*" >&2; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  # --debug: the debug-built tool builds the app just as well and installs in a third of the time.
  log "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 8 minutes)"
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --debug \
    --features no_downloads --root "$TOOLS"
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  # Without --locked: its lock file pins a webpki-roots the registry does not carry.
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 3 minutes)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --root "$TOOLS"
fi

if ! [ -x "$TOOLS/node_modules/.bin/wasm-opt" ]; then
  log "installing binaryen $BINARYEN_VERSION (wasm-opt) from npm"
  npm install --prefix "$TOOLS" --no-save --no-audit --no-fund "binaryen@$BINARYEN_VERSION" >&2
fi

if ! [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  log "installing Chromium from Debian's packages"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >&2
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
lock="$here/end2end/package-lock.json"
stamp="$here/end2end/node_modules/.recaudo-lock-sha"
if [ -f "$lock" ]; then
  sha="$(sha256sum "$lock" | cut -d' ' -f1)"
  if ! [ -f "$stamp" ] || [ "$(cat "$stamp")" != "$sha" ]; then
    log "installing the end-to-end test packages (npm ci)"
    (cd "$here/end2end" && npm ci --no-audit --no-fund >&2)
    echo "$sha" >"$stamp"
  fi
fi
log "toolchain ready (cache: $RECAUDO_CACHE)"
