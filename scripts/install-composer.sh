#!/usr/bin/env bash
# Installs Composer 2 from Debian trixie (the `composer` package and its
# arch-all php-* dependencies, unpacked into / like scripts/install-phpunit.sh
# does for PHPUnit) for `composer validate --strict` of this package's
# composer.json. No PHP package registry is reachable here, so Composer can
# validate but not install; Debian's PHP is not installed: run it on this
# project's PHP, e.g.
#
#   bin/frankenphp php-cli /usr/bin/composer validate --strict
#
# Idempotent: a no-op (no network) when Composer is already unpacked.
#
# usage: scripts/install-composer.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [ -f /usr/bin/composer ] && [ -f /usr/share/php/Composer/autoload.php ] && [ -f /usr/share/php/JsonSchema/autoload.php ]; then
	exit 0
fi
debian_install_php_closure composer
[ -f /usr/bin/composer ] && [ -f /usr/share/php/Composer/autoload.php ] || die "Composer unpacked but /usr/bin/composer or its autoloader is missing"
log "Composer installed: run it as '<php> /usr/bin/composer'"
