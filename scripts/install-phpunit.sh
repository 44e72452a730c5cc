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

command -v dpkg-deb >/dev/null || die "dpkg-deb is required"
"$apt" update --max-age 1440

# Every php*/phpunit* package phpunit needs, recursively. The walk goes
# through php-cli -> php8.4-cli, which drags in the whole interpreter; those
# names are filtered out below.
candidates=$(
	"$apt" apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
		--no-breaks --no-replaces --no-enhances phpunit 2>/dev/null |
		grep -v '^ ' | grep -E '^(php|phpunit)' | grep -vE '^php[0-9]' | sort -u
)
[ -n "$candidates" ] || die "could not resolve phpunit's dependencies from Debian trixie"

# Keep only arch-all library packages. php-defaults' packages (php-cli,
# php-xml, php-common, ...) are arch-all too but are empty metapackages that
# only point at the Debian interpreter we deliberately do not install.
# shellcheck disable=SC2086
wanted=$(
	"$apt" apt-cache show --no-all-versions $candidates 2>/dev/null | awk '
		/^Package:/      { pkg = $2; arch = ""; src = "" }
		/^Architecture:/ { arch = $2 }
		/^Source:/       { src = $2 }
		/^$/             { if (pkg != "" && arch == "all" && src != "php-defaults") print pkg; pkg = "" }
		END              { if (pkg != "" && arch == "all" && src != "php-defaults") print pkg }
	' | sort -u
)
echo "$wanted" | grep -qx phpunit || die "phpunit itself is missing from the resolved package list"

debs="$CACHE_DIR/debs"
mkdir -p "$debs"
log "downloading PHPUnit from Debian trixie: $(echo "$wanted" | tr '\n' ' ')"
# shellcheck disable=SC2086
(cd "$debs" && "$apt" apt-get download -qq $wanted >/dev/null)

for pkg in $wanted; do
	# apt-get download names files <pkg>_<version>_all.deb; take the newest.
	deb=$(ls -t "$debs/${pkg}"_*_all.deb 2>/dev/null | head -n1)
	[ -n "$deb" ] || die "download of $pkg produced no .deb in $debs"
	as_root dpkg-deb -x "$deb" /
done

[ -f "$marker" ] && [ -f "$runner" ] || die "PHPUnit unpacked but $marker or $runner is missing"
log "PHPUnit installed: run it as '<php> $runner' (see tests/README.md)"
