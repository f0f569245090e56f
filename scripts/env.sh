# Sourced by the other scripts: where the cached tools and the build directory live.
# Everything heavy stays outside the clone, so fresh clones reuse it.
export RECAUDO_CACHE="${RECAUDO_CACHE:-$HOME/.cache/recaudo}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$RECAUDO_CACHE/target}"
export PATH="$RECAUDO_CACHE/tools/bin:$RECAUDO_CACHE/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# Playwright drives Debian's Chromium; it must never try to download a browser.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
