# Shared helpers for the build scripts. Sourced, never executed.
# shellcheck shell=bash

set -euo pipefail

# The scripts' own directory, absolute: helpers below cd elsewhere.
SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

CACHE_DIR="${REALTIME_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/frankenphp-realtime}"
mkdir -p "$CACHE_DIR"
# Absolute: helpers cd elsewhere, and a relative REALTIME_CACHE must not
# end up inside whatever directory a step runs in.
CACHE_DIR=$(cd "$CACHE_DIR" && pwd)

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# apt_update_once refreshes the system package lists at most once per hour,
# so warm runs do not touch the network.
apt_update_once() {
	local stamp="$CACHE_DIR/apt-updated"
	if [ -z "$(find "$stamp" -mmin -60 2>/dev/null)" ]; then
		log "apt-get update"
		as_root apt-get update -qq -o DPkg::Lock::Timeout=600
		touch "$stamp"
	fi
}

# apt_install installs the Debian packages that are not installed yet.
apt_install() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	apt_update_once
	log "apt-get install ${missing[*]}"
	# The lock timeout lets two runs (two makes, or CI beside a developer)
	# install at the same time: the second waits for dpkg instead of failing.
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		-o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
}

# debian_unpack PKG prints a directory holding Debian trixie's arch-all
# package PKG unpacked (dpkg-deb -x): downloaded once through
# scripts/debian-apt.sh, which checks the .deb against the signed index,
# and moved into place whole so concurrent runs never see half of it.
debian_unpack() {
	local pkg=$1 dir="$CACHE_DIR/debs/$1" tmp deb
	if [ ! -f "$dir/.complete" ]; then
		mkdir -p "$CACHE_DIR/debs"
		tmp=$(mktemp -d "$CACHE_DIR/debs/.$pkg.XXXXXX")
		log "downloading $pkg (Debian trixie)"
		"$SCRIPTS_DIR/debian-apt.sh" update --max-age 1440
		(cd "$tmp" && "$SCRIPTS_DIR/debian-apt.sh" apt-get download -qq "$pkg" 2>&1 |
			grep -v unsandboxed >&2 || true)
		deb=$(ls "$tmp/${pkg}"_*_all.deb 2>/dev/null | head -n1)
		[ -n "$deb" ] || { rm -rf "$tmp"; die "apt-get download $pkg (Debian trixie) produced no .deb"; }
		dpkg-deb -x "$deb" "$tmp/root"
		touch "$tmp/root/.complete"
		mv -T "$tmp/root" "$dir" 2>/dev/null || true # another run may have landed it first
		rm -rf "$tmp"
		[ -f "$dir/.complete" ] || die "could not unpack $pkg into $dir"
	fi
	echo "$dir"
}

# debian_install_php_closure PKG... unpacks Debian trixie's arch-all
# packages PKG and every arch-all php*/composer/jsonlint package they need
# (resolved recursively from trixie's metadata, not hard-coded) into /, the
# way scripts/install-phpunit.sh installs PHPUnit: their autoloaders use
# absolute /usr/share/php paths. Debian's PHP interpreter (php8.x-*) and
# php-defaults' metapackages (php-cli, php-mbstring, ... which only point
# at that interpreter) are left out: this project runs its own ZTS PHP.
# The .debs are downloaded through scripts/debian-apt.sh, which checks them
# against the signed index.
debian_install_php_closure() {
	local apt="$SCRIPTS_DIR/debian-apt.sh" candidates wanted debs pkg deb
	command -v dpkg-deb >/dev/null || die "dpkg-deb is required"
	"$apt" update --max-age 1440
	candidates=$(
		"$apt" apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
			--no-breaks --no-replaces --no-enhances "$@" 2>/dev/null |
			grep -v '^ ' | grep -E '^(php|composer$|jsonlint$)' | grep -vE '^php[0-9]' | sort -u
	)
	[ -n "$candidates" ] || die "could not resolve the dependencies of $* from Debian trixie"
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
	for pkg in "$@"; do
		echo "$wanted" | grep -qx "$pkg" || die "$pkg itself is missing from the resolved package list (not arch-all in Debian trixie?)"
	done
	debs=$(mktemp -d "$CACHE_DIR/.debs.XXXXXX")
	log "downloading from Debian trixie: $(echo "$wanted" | tr '\n' ' ')"
	# shellcheck disable=SC2086
	(cd "$debs" && "$apt" apt-get download -qq $wanted 2>&1 | grep -v unsandboxed >&2) || true
	for pkg in $wanted; do
		deb=$(ls "$debs/${pkg}"_*_all.deb 2>/dev/null | head -n1)
		[ -n "$deb" ] || { rm -rf "$debs"; die "apt-get download $pkg (Debian trixie) produced no .deb"; }
		as_root dpkg-deb -x "$deb" /
	done
	rm -rf "$debs"
}

# npm_ci_once DIR runs `npm ci` in DIR when its node_modules is missing or
# its package-lock.json changed since the last install (a hash is kept in
# node_modules/), so warm runs touch neither npm nor the network. Nothing
# downloads a browser: the tests drive Debian's chromium.
npm_ci_once() {
	local dir=$1 stamp want
	stamp="$dir/node_modules/.npm-ci.lock.sha256"
	want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
	if [ "$want" != "$(cat "$stamp" 2>/dev/null || true)" ]; then
		log "npm ci in ${dir#"$(dirname "$SCRIPTS_DIR")"/}"
		(cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
		printf '%s\n' "$want" >"$stamp"
	fi
}
