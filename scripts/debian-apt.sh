#!/usr/bin/env bash
# Runs an apt command (apt-get, apt-cache) against Debian suites newer than
# the machine's own, through a private sources list and state directory, so
# the system's packages are never upgraded by accident. Used to download
# source packages and arch-all .debs (PHPUnit, PHP-Parser, Laravel), never
# to install Debian binaries.
#
# The mirror is the machine's own: the URI apt uses for the machine's
# release (apt-get indextargets), or REALTIME_DEBIAN_MIRROR. No host name is
# written in this repository. Suites:
#   trixie, trixie-updates       binaries (deb) and sources (deb-src)
#   trixie-security              sources, from the machine's security mirror if it has one
#   forky, sid                   sources only: newer PHP point releases when trixie's are gone
# apt verifies every index against the Release file signed with Debian's
# archive keys (debian-archive-keyring), exactly as for the system's lists.
#
# usage: scripts/debian-apt.sh update [--max-age MINUTES]   refresh the lists (default: always)
#        scripts/debian-apt.sh apt-get|apt-cache ARGS...    run apt with the private state
#        scripts/debian-apt.sh mirror [RELEASE]             print the machine's Debian mirror URI
#                                                           (for RELEASE, e.g. bookworm-security)
# Concurrent runs are serialised by a lock on the state directory.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

state="$CACHE_DIR/apt-newer"

# release_uri prints the URI of the machine's apt source for RELEASE.
release_uri() {
	apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE)' 2>/dev/null |
		awk -v r="$1" '$2 == r { sub(/\/$/, "", $1); print $1; exit }'
}

codename() {
	# shellcheck disable=SC1091
	(. /etc/os-release && echo "${VERSION_CODENAME:?}")
}

mirror() {
	if [ -n "${REALTIME_DEBIAN_MIRROR:-}" ]; then
		echo "${REALTIME_DEBIAN_MIRROR%/}"
		return
	fi
	local release uri
	release=$(codename) || die "cannot read VERSION_CODENAME from /etc/os-release"
	uri=$(release_uri "$release")
	[ -n "$uri" ] || die "this machine's apt configuration has no source for Debian $release (apt-get indextargets lists none): add one under /etc/apt/sources.list.d/, or set REALTIME_DEBIAN_MIRROR to a Debian mirror URL"
	echo "$uri"
}

write_sources() {
	local main security
	main=$(mirror)
	security=$(release_uri "$(codename)-security")
	mkdir -p "$state/lists/partial" "$state/archives/partial" "$state/cache"
	{
		printf 'Types: deb deb-src\nURIs: %s\nSuites: trixie trixie-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n' "$main"
		printf 'Types: deb-src\nURIs: %s\nSuites: forky sid\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$main"
		if [ -n "$security" ]; then
			printf '\nTypes: deb-src\nURIs: %s\nSuites: trixie-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$security"
		fi
	} >"$state/sources.tmp"
	# Rewritten only when it changes, so apt's lists stay valid across runs.
	if cmp -s "$state/sources.tmp" "$state/newer.sources"; then
		rm -f "$state/sources.tmp"
	else
		mv "$state/sources.tmp" "$state/newer.sources"
		rm -f "$state/updated"
	fi
}

run_apt() {
	local cmd=$1
	shift
	"$cmd" -q \
		-o Dir::Etc::SourceList="$state/newer.sources" \
		-o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State::Lists="$state/lists" \
		-o Dir::Cache="$state/cache" \
		-o Dir::Cache::Archives="$state/archives" \
		-o Dir::State::Status=/dev/null \
		-o APT::Sandbox::User=root \
		"$@"
}

update() {
	local max_age=0
	if [ "${1:-}" = --max-age ]; then max_age=${2:?--max-age needs minutes}; fi
	if [ "$max_age" -gt 0 ] && [ -n "$(find "$state/updated" -mmin -"$max_age" 2>/dev/null)" ]; then
		return 0
	fi
	log "apt-get update (Debian trixie, forky, sid; private state in $state)"
	local out status=0 problems fatal
	out=$(run_apt apt-get update 2>&1) || status=$?
	# apt-get update exits 0 even when an index could not be fetched or
	# verified; a stale or unsigned list must not be trusted silently.
	problems=$(grep -E '^(W|E): ' <<<"$out" | grep -vE 'unsandboxed|_apt' || true)
	# forky and sid only add candidates for when trixie's are gone: their
	# indexes failing (an expired Release file on a lagging mirror) leaves
	# them out, it does not stop the build; apt applies no index it could
	# not verify.
	fatal=$(grep -vE '/(forky|sid)[/ ]|[ /](forky|sid)/' <<<"$problems" || true)
	if [ -n "$fatal" ] || { [ "$status" != 0 ] && [ -z "$problems" ]; }; then
		printf '%s\n' "$out" >&2
		die "apt-get update of Debian's trixie suites failed or reported the problems above: is $(mirror) reachable, and are its trixie indexes current?"
	fi
	if [ -n "$problems" ]; then
		printf '%s\n' "$problems" >&2
		log "warning: Debian forky/sid indexes left out (above); they only matter when trixie serves no PHP source"
	fi
	touch "$state/updated"
}

mkdir -p "$state"
exec 9>"$state/.lock"
flock 9

case "${1:-}" in
mirror)
	if [ -n "${2:-}" ]; then
		uri=$(release_uri "$2")
		[ -n "$uri" ] || die "this machine's apt configuration has no source for $2 (apt-get indextargets lists none)"
		echo "$uri"
	else
		mirror
	fi
	;;
update)
	shift
	write_sources
	update "$@"
	;;
apt-get | apt-cache)
	write_sources
	run_apt "$@"
	;;
*) die "usage: debian-apt.sh update [--max-age MINUTES] | mirror | apt-get ARGS | apt-cache ARGS" ;;
esac
