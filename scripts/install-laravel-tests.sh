#!/usr/bin/env bash
# Installs what the Laravel + Echo browser tests (tests/laravel/) need:
#   - Chromium and Node.js (scripts/install-browser.sh);
#   - Laravel 10 from Debian trixie (scripts/install-laravel.sh);
#   - tests/laravel/node_modules (playwright-core, pusher-js, laravel-echo,
#     pinned by package-lock.json) with `npm ci`, again only when
#     node_modules is missing or package-lock.json changed.
#
# Idempotent and quick when everything is present: no apt, no npm, no network.
#
# usage: scripts/install-laravel-tests.sh
source "$(dirname "$0")/lib.sh"

root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/tests/laravel"

"$SCRIPTS_DIR/install-browser.sh"
"$SCRIPTS_DIR/install-laravel.sh"

npm_ci_once "$dir"
