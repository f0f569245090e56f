#!/usr/bin/env bash
# Installs what is missing, builds, and serves Recaudo with the demo portfolio on the
# embedded SQLite database (data/recaudo.db) at http://127.0.0.1:3000.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
bash scripts/setup.sh
export RECAUDO_DEMO=true
exec cargo leptos serve
