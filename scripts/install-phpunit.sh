#!/usr/bin/env bash
# Installs PHPUnit 11 (what Pest 3 runs on) from Debian trixie without
# installing Debian's PHP: no PHP package registry is reachable here, and the
# tests run PHPUnit under this project's own ZTS PHP
# (`bin/frankenphp php-cli /usr/bin/phpunit`).
#
# phpunit and its libraries are arch-all packages whose autoloaders use
# absolute /usr/share/php paths, so unpacking the .debs into / is enough. The
# dependency list is resolved from trixie's metadata rather than hard-coded,
# so a Debian point release that adds a library keeps working.
#
# Idempotent: a no-op (no network) when PHPUnit is already unpacked.
#
# usage: scripts/install-phpunit.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
apt="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/debian-apt.sh"

marker=/usr/share/php/PHPUnit/Framework/TestCase.php
runner=/usr/bin/phpunit

if [ -f "$marker" ] && [ -f "$runner" ] && [ -f /usr/share/php/PHPUnit/Autoload.php ]; then
	exit 0
fi

debian_install_php_closure phpunit
[ -f "$marker" ] && [ -f "$runner" ] || die "PHPUnit unpacked but $marker or $runner is missing"
log "PHPUnit installed: run it as '<php> $runner' (see tests/README.md)"
