#!/usr/bin/env bash
# Installs what the browser tests (tests/browser/) need:
#   - Debian's chromium (/usr/bin/chromium) plus a font, so pages render and
#     failure screenshots are readable;
#   - Node.js >= 20 (playwright-core's minimum), from Debian if `node` is absent;
#   - tests/browser/node_modules (playwright-core, pinned by package-lock.json)
#     with `npm ci`. No browser is downloaded: playwright-core drives the
#     system chromium (`npx playwright install` cannot work on these machines).
#   - the demo's node_modules/ (pusher-js, laravel-echo: the Echo tab that
#     tests/browser/echo.test.mjs opens), the same `npm ci` as `make run`.
#
# Idempotent and quick when everything is present: no apt, no npm, no network.
# npm ci runs again only when node_modules is missing or package-lock.json
# changed since the last install (a hash is kept in node_modules/).
#
# usage: scripts/install-browser.sh
source "$(dirname "$0")/lib.sh"

root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/tests/browser"

# ---- chromium ---------------------------------------------------------------
if [ ! -x /usr/bin/chromium ]; then
	apt_install chromium fonts-liberation
fi
[ -x /usr/bin/chromium ] || die "/usr/bin/chromium is missing after installing the chromium package"

# ---- node -------------------------------------------------------------------
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	apt_install nodejs npm
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
	die "Node.js $(node --version) is too old for playwright-core: version 20 or later is needed"
fi

# ---- node_modules -----------------------------------------------------------
npm_ci_once "$dir"
npm_ci_once "$root"
