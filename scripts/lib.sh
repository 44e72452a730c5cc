# Shared helpers for the build scripts. Sourced, never executed.
# shellcheck shell=bash

set -euo pipefail

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
		as_root apt-get update -qq
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
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# trixie runs an apt command (apt-get, apt-cache) against Debian trixie through a private sources list
# and state directory, so the system's bookworm packages are never upgraded by
# accident. Used only to download source packages and arch-all .debs.
TRIXIE_DIR="$CACHE_DIR/apt-trixie"
trixie() {
	local cmd=$1; shift
	mkdir -p "$TRIXIE_DIR/lists/partial" "$TRIXIE_DIR/archives/partial" "$TRIXIE_DIR/cache"
	if [ ! -f "$TRIXIE_DIR/trixie.sources" ]; then
		cat >"$TRIXIE_DIR/trixie.sources" <<-EOF
			Types: deb deb-src
			URIs: http://deb.debian.org/debian
			Suites: trixie
			Components: main
			Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
		EOF
	fi
	"$cmd" -q \
		-o Dir::Etc::SourceList="$TRIXIE_DIR/trixie.sources" \
		-o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State::Lists="$TRIXIE_DIR/lists" \
		-o Dir::Cache="$TRIXIE_DIR/cache" \
		-o Dir::Cache::Archives="$TRIXIE_DIR/archives" \
		-o Dir::State::Status=/dev/null \
		-o APT::Sandbox::User=root \
		"$@"
}

trixie_update_once() {
	local stamp="$TRIXIE_DIR/updated"
	if [ -z "$(find "$stamp" -mmin -1440 2>/dev/null)" ]; then
		log "apt-get update (trixie, private state)"
		trixie apt-get update -qq
		touch "$stamp"
	fi
}
