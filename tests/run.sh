#!/usr/bin/env bash
# Runs PHPUnit on this project's own PHP: the FrankenPHP binary's embedded PHP
# (`frankenphp php-cli`) when it has been built, else the ZTS CLI that
# scripts/build-php.sh leaves in the cache. Debian's phpunit is installed by
# scripts/install-phpunit.sh; Debian's php binary is never needed.
#
# usage: tests/run.sh [phpunit options]     e.g. tests/run.sh --testsuite Unit
#        PHP="/path/to/php" tests/run.sh    to force an interpreter
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/install-phpunit.sh"

if [ -n "${PHP:-}" ]; then
	read -r -a php <<<"$PHP"
elif [ -x "${FRANKENPHP_BIN:-$root/bin/frankenphp}" ]; then
	php=("${FRANKENPHP_BIN:-$root/bin/frankenphp}" php-cli)
else
	cache="${REALTIME_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/frankenphp-realtime}"
	zts=$(ls -d "$cache"/php-*/bin/php 2>/dev/null | head -n1 || true)
	[ -n "$zts" ] || { echo "error: no PHP found: build bin/frankenphp (make build) or set PHP=" >&2; exit 1; }
	php=("$zts")
fi

exec "${php[@]}" /usr/bin/phpunit --configuration "$root/tests/phpunit.xml" "$@"
