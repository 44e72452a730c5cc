# Sourced by the build scripts: PHP location and cgo flags for FrankenPHP.
# shellcheck shell=bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PHP_VERSION="${PHP_VERSION:-8.4.24}"
PHP_PREFIX="$("$(dirname "${BASH_SOURCE[0]}")/build-php.sh" "$PHP_VERSION")"
PHP_SRC="$CACHE_DIR/php-src-$PHP_VERSION"
export PATH="$PHP_PREFIX/bin:/usr/local/go/bin:$PATH"

# Tags that leave out FrankenPHP/Caddy features needing C libraries we do
# not install; Mercure stays in (it is the benchmarks' same-binary peer).
GO_TAGS="nobadger,nomysql,nopgx,nowatcher,nobrotli"

export CGO_ENABLED=1
export CGO_CFLAGS="-D_GNU_SOURCE $(php-config --includes)"
export CGO_LDFLAGS="-L$PHP_PREFIX/lib -lphp -Wl,-rpath,$PHP_PREFIX/lib $(php-config --libs)"
