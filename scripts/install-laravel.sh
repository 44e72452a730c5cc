#!/usr/bin/env bash
# Installs Laravel 10 (Debian trixie's php-laravel-framework 10.48 and the
# php-illuminate-* packages) for the Laravel app under tests/laravel-app/,
# without Composer (no PHP package registry is reachable here) and without
# Debian's PHP: the app runs on bin/frankenphp.
#
# Like scripts/install-phpunit.sh: every package is arch-all and its
# autoloader uses absolute /usr/share/php paths, so the .debs of
# php-laravel-framework and its whole arch-all dependency closure (resolved
# from trixie's metadata, so a point release that adds a library keeps
# working) are unpacked into /. tests/laravel-app/vendor/autoload.php
# requires /usr/share/php/Illuminate/autoload.php.
#
# Idempotent: a no-op (no network) when Laravel is already unpacked.
#
# usage: scripts/install-laravel.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

markers=(
	/usr/share/php/Illuminate/autoload.php
	/usr/share/php/Illuminate/Foundation/Application.php
	/usr/share/php/Illuminate/Broadcasting/Broadcasters/UsePusherChannelConventions.php
	/usr/share/php/Illuminate/Queue/Console/WorkCommand.php
)
installed() {
	local m
	for m in "${markers[@]}"; do [ -f "$m" ] || return 1; done
}

installed && exit 0
debian_install_php_closure php-laravel-framework
installed || die "Laravel unpacked but one of ${markers[*]} is missing"
log "Laravel $(sed -n "s/.*const VERSION = '\([^']*\)'.*/\1/p" /usr/share/php/Illuminate/Foundation/Application.php) installed under /usr/share/php"
