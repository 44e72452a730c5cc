# Shared helpers for the build scripts. Sourced, never executed.
# shellcheck shell=bash

set -euo pipefail

# The scripts' own directory, absolute: helpers below cd elsewhere.
SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

CACHE_DIR="${REALTIME_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/frankenphp-realtime}"
mkdir -p "$CACHE_DIR"

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
