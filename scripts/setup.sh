#!/usr/bin/env bash
# Installs what a fresh machine lacks to build, run and test Recaudo. Idempotent: every
# piece is cached under $RECAUDO_CACHE (default ~/.cache/recaudo) and skipped when present.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$here/scripts/env.sh"

CARGO_LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=0.2.130
BINARYEN_VERSION=132.0.0
CARGO_FUZZ_VERSION=0.13.2
TOOLS="$RECAUDO_CACHE/tools"
mkdir -p "$TOOLS/bin" "$CARGO_TARGET_DIR"

log() { printf '[setup] %s\n' "$*" >&2; }

for component in rustfmt clippy; do
  if ! rustup component list --installed | grep -q "^$component"; then
    log "adding the $component component"
    rustup component add "$component"
  fi
done

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  # --debug: the debug-built tool builds the app just as well and installs in a third of
  # the time. no_downloads: a missing tool fails at once instead of reaching for GitHub.
  log "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 8 minutes)"
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --debug \
    --features no_downloads --root "$TOOLS"
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  # Without --locked: its lock file pins a webpki-roots the registry does not carry.
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 3 minutes)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --root "$TOOLS"
fi
# The CLI must match the crate exactly, or the browser bundle fails in confusing ways.
locked="$(grep -A1 '^name = "wasm-bindgen"$' "$here/Cargo.lock" | sed -n 's/^version = "\(.*\)"/\1/p')"
if [ "$locked" != "$WASM_BINDGEN_VERSION" ]; then
  echo "Cargo.lock has wasm-bindgen $locked but the CLI is $WASM_BINDGEN_VERSION: pin them together (Cargo.toml and scripts/setup.sh)" >&2
  exit 1
fi

if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  # The fuzz targets (fuzz/, scripts/fuzz.sh) run on this stable toolchain without
  # sanitizers; a panic is what they find.
  log "installing cargo-fuzz $CARGO_FUZZ_VERSION (about 2 minutes)"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --root "$TOOLS"
fi

if ! [ -x "$TOOLS/node_modules/.bin/wasm-opt" ]; then
  log "installing binaryen $BINARYEN_VERSION (wasm-opt) from npm"
  npm install --prefix "$TOOLS" --no-save --no-audit --no-fund "binaryen@$BINARYEN_VERSION" >&2
fi

if ! [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  log "installing Chromium from Debian's packages"
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >&2
fi

if ! [ -x /usr/sbin/postfix ] || ! [ -x /usr/sbin/dovecot ]; then
  # The e-mail tests start their own Postfix and Dovecot on free loopback ports; the
  # packages' own services are neither configured nor needed.
  log "installing Postfix and Dovecot from Debian's packages (the e-mail tests' mail system)"
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    postfix dovecot-imapd >&2
fi

lock="$here/end2end/package-lock.json"
stamp="$here/end2end/node_modules/.recaudo-lock-sha"
sha="$(sha256sum "$lock" | cut -d' ' -f1)"
if ! [ -f "$stamp" ] || [ "$(cat "$stamp")" != "$sha" ]; then
  log "installing the browser-test packages (npm ci)"
  (cd "$here/end2end" && npm ci --no-audit --no-fund >&2)
  echo "$sha" >"$stamp"
fi
log "toolchain ready (cache: $RECAUDO_CACHE)"
