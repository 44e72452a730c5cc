# Sourced by the build scripts: where this checkout's PHP is, and the cgo
# flags for FrankenPHP. Sourcing builds nothing: `make php`
# (scripts/build-php.sh) builds PHP and records its prefix in bin/php-prefix.
# shellcheck shell=bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PHP_PREFIX="${PHP_PREFIX:-$(cat "$ROOT/bin/php-prefix" 2>/dev/null || true)}"
[ -n "$PHP_PREFIX" ] && [ -f "$PHP_PREFIX/.complete" ] ||
	die "PHP is not built for this checkout (bin/php-prefix is missing or stale): run 'make php' first"
export PATH="$PHP_PREFIX/bin:/usr/local/go/bin:$PATH"

# Tags that leave out FrankenPHP/Caddy features needing C libraries we do
# not install; Mercure stays in (it is the benchmarks' same-binary peer).
GO_TAGS="nobadger,nomysql,nopgx,nowatcher,nobrotli"

export CGO_ENABLED=1
export CGO_CFLAGS="-D_GNU_SOURCE $(php-config --includes)"
export CGO_LDFLAGS="-L$PHP_PREFIX/lib -lphp -Wl,-rpath,$PHP_PREFIX/lib $(php-config --libs)"
