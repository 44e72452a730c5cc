#!/usr/bin/env bash
# Resolves, downloads and verifies PHP's Debian source (the upstream tarball
# of the php<series> source package), and checks that a fresh machine would
# still get the same one. The decisions are made by tools/phpsource (see its
# doc comment and docs/development.md#php-source); this script prepares what
# it needs: fresh signed indexes (scripts/debian-apt.sh), Debian's
# developer keyrings from trixie's debian-keyring package (for a version no
# index names any more, whose .dsc signature is the trust anchor), and the
# tool itself.
#
# usage: scripts/php-source.sh fetch PREFERRED     download/verify; prints "VERSION UPSTREAM TARBALL"
#        scripts/php-source.sh check PREFERRED PHP_PREFIX
#                                                  fail when a fresh machine would not build
#                                                  the version PHP_PREFIX was built from
# PREFERRED is a Debian version of php8.4, e.g. 8.4.24-1~deb13u1.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

scripts=$SCRIPTS_DIR
root=$(dirname "$scripts")

# keyrings prints --keyring flags for Debian's developer keyrings, from
# trixie's debian-keyring package (bookworm's has expired keys).
keyrings() {
	local dir k
	dir=$(debian_unpack debian-keyring)
	for k in debian-keyring.gpg debian-maintainers.gpg; do
		[ -f "$dir/usr/share/keyrings/$k" ] && printf -- '-keyring\n%s\n' "$dir/usr/share/keyrings/$k"
	done
	return 0
}

# tool builds tools/phpsource into the cache (go build is cached: seconds
# when nothing changed) and prints its path.
tool() {
	local bin
	bin=$(mktemp "$CACHE_DIR/.phpsource.XXXXXX")
	(cd "$root" && CGO_ENABLED=0 go build -o "$bin" ./tools/phpsource) || die "could not build tools/phpsource"
	echo "$bin"
}

run_tool() {
	local bin status=0 flags listed v
	listed=$(keyrings)
	mapfile -t flags <<<"$listed"
	# PHP_FALLBACKS (the Makefile's): older versions to try last.
	for v in ${PHP_FALLBACKS:-}; do flags+=(-fallback "$v"); done
	bin=$(tool)
	"$bin" "$@" -apt "$scripts/debian-apt.sh" "${flags[@]}" || status=$?
	rm -f "$bin"
	return "$status"
}

export PATH="/usr/local/go/bin:$PATH"
cmd=${1:-}
preferred=${2:-}
[ -n "$preferred" ] || die "usage: php-source.sh fetch|check PREFERRED [PHP_PREFIX]"

case "$cmd" in
fetch)
	# The lists are refreshed at most daily here: a build needs a verified
	# tarball, not the newest news (the check below is what watches drift).
	"$scripts/debian-apt.sh" update --max-age 1440
	run_tool fetch -prefer "$preferred" -into "$CACHE_DIR/download"
	;;
check)
	prefix=${3:-}
	[ -f "$prefix/.source" ] || die "no PHP build to check: $prefix/.source is missing (run make php)"
	using=$(sed -n 's/^version=//p' "$prefix/.source")
	"$scripts/debian-apt.sh" update
	run_tool check -prefer "$preferred" -using "$using"
	;;
*) die "usage: php-source.sh fetch|check PREFERRED [PHP_PREFIX]" ;;
esac
