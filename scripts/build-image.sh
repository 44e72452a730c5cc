#!/usr/bin/env bash
# Builds the Docker image from ./Dockerfile WITHOUT a Docker daemon (buildah +
# podman, rootful, chroot isolation), then runs it and smoke-tests the demo:
# the login page is served and /ws refuses a plain GET with 426.
#
# No registry is reachable here, so the base images are made locally:
# debootstrap (minbase) builds a Debian bookworm rootfs, tarred once into the
# cache, and `podman import` names it docker.io/library/debian:bookworm and
# (with the same slimming as the official image) debian:bookworm-slim. An
# image already present under either name (e.g. a real one) is used as is.
#
# Idempotent: base images, the rootfs tarballs and buildah's layer cache are
# reused, so a rerun with unchanged sources takes seconds; the smoke-test
# container is removed on exit, and a leftover one from an interrupted run is
# removed first.
#
# usage: scripts/build-image.sh [IMAGE]       (default frankenphp-realtime:dev)
# env:   REALTIME_CACHE   cache directory (rootfs tarballs, containers.conf)
#        SMOKE=0          build only, skip the run
#        SUITE            Debian suite of the base images (default bookworm)
#        CA_BUNDLE        CA bundle for the builder's HTTPS downloads
#                         (default /etc/ssl/certs/ca-certificates.crt)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$(dirname "$0")/.."

image=${1:-frankenphp-realtime:dev}
suite=${SUITE:-bookworm}
# The base images use this machine's own Debian mirrors, as apt knows them.
mirror=$(scripts/debian-apt.sh mirror)
security_mirror=$(scripts/debian-apt.sh mirror "$(. /etc/os-release && echo "$VERSION_CODENAME")-security" 2>/dev/null || true)
smoke_name=frankenphp-realtime-smoke
base_dir="$CACHE_DIR/docker-base"

[ "$(id -u)" -eq 0 ] || die "run as root: rootless buildah/podman are not set up on these machines"

apt_install buildah podman debootstrap runc fuse-overlayfs uidmap curl ca-certificates

# crun (podman's default) rejects this machine's hybrid cgroups, and the
# default nofile limit (1048576) cannot be set here: use runc, cgroupfs and
# limits the machine allows. CONTAINERS_CONF replaces every other
# containers.conf, so this run does not depend on the machine's.
mkdir -p "$base_dir"
export CONTAINERS_CONF="$CACHE_DIR/containers.conf"
cat >"$CONTAINERS_CONF" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF

# --- base images -----------------------------------------------------------

rootfs=""
cleanup_rootfs() {
	[ -n "$rootfs" ] && [ -d "$rootfs" ] || return 0
	# debootstrap mounts proc/sys inside the target; never rm -rf through them.
	local m
	for m in $(awk -v r="$rootfs/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r); do
		umount -l "$m" || true
	done
	rm -rf --one-file-system "$rootfs"
	rootfs=""
}

# make_rootfs_tarballs writes debian-$suite.tar and debian-$suite-slim.tar.
make_rootfs_tarballs() {
	local full="$base_dir/debian-$suite.tar" slim="$base_dir/debian-$suite-slim.tar"
	rootfs=$(mktemp -d "$base_dir/rootfs.XXXXXX")
	log "debootstrap --variant=minbase $suite (about 30 s)"
	debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$base_dir/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$base_dir/debootstrap.log" >&2; die "debootstrap failed"; }

	# Same apt sources as the official image; no host state in the image.
	rm -f "$rootfs/etc/apt/sources.list"
	cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<-EOF
		Types: deb
		URIs: $mirror
		Suites: $suite $suite-updates
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	if [ -n "$security_mirror" ]; then
		cat >>"$rootfs/etc/apt/sources.list.d/debian.sources" <<-EOF

			Types: deb
			URIs: $security_mirror
			Suites: $suite-security
			Components: main
			Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
		EOF
	fi
	rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
		"$rootfs"/var/log/* "$rootfs"/tmp/* "$rootfs"/dev/* "$rootfs"/proc/* "$rootfs"/sys/* 2>/dev/null || true
	: >"$rootfs/etc/resolv.conf"
	echo localhost >"$rootfs/etc/hostname"

	tar --numeric-owner -C "$rootfs" -cf "$full.tmp" . && mv "$full.tmp" "$full"

	# -slim, as the official image does it: no docs (but copyrights), man
	# pages, info, locales or lintian files, now or in later installs.
	cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<-'EOF'
		path-exclude /usr/share/doc/*
		path-include /usr/share/doc/*/copyright
		path-exclude /usr/share/groff/*
		path-exclude /usr/share/info/*
		path-exclude /usr/share/linda/*
		path-exclude /usr/share/lintian/overrides/*
		path-exclude /usr/share/locale/*
		path-exclude /usr/share/man/*
	EOF
	find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
	find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
	rm -rf "$rootfs"/usr/share/{groff,info,linda,lintian/overrides,locale,man}/*
	tar --numeric-owner -C "$rootfs" -cf "$slim.tmp" . && mv "$slim.tmp" "$slim"
	cleanup_rootfs
}

import_base() {
	local tag=$1 ref="docker.io/library/debian:$1"
	if podman image exists "$ref"; then
		return 0
	fi
	[ -f "$base_dir/debian-$tag.tar" ] || make_rootfs_tarballs
	log "podman import $ref"
	podman import -q \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'CMD ["bash"]' \
		"$base_dir/debian-$tag.tar" "$ref" >/dev/null
}

# --- smoke test ----------------------------------------------------------------

remove_smoke_container() {
	podman rm -f -i -t 5 "$smoke_name" >/dev/null 2>&1 || true
}

on_exit() {
	local rc=$?
	trap - EXIT
	cleanup_rootfs || true
	remove_smoke_container
	[ "$rc" -eq 0 ] || printf 'error: scripts/build-image.sh failed (exit %s)\n' "$rc" >&2
	exit "$rc"
}
trap on_exit EXIT

# free_port picks a loopback port below the ephemeral range nobody listens on.
free_port() {
	local p i
	for i in $(seq 1 50); do
		p=$((20000 + RANDOM % 10000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	die "no free loopback port found"
}

http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" || true; }

smoke_test() {
	local port base code page i
	remove_smoke_container
	port=$(free_port)
	base="http://127.0.0.1:$port"
	log "podman run $image on $base"
	# Publish on loopback only. If the machine's container networking cannot
	# publish ports (no usable iptables), fall back to the host network, with
	# the address and admin endpoint overridden through the image's env vars.
	if ! podman run -d --name "$smoke_name" -p "127.0.0.1:$port:8080" "$image" >/dev/null 2>"$base_dir/run.err"; then
		log "port publishing failed ($(tail -n 1 "$base_dir/run.err")); retrying with --network host"
		remove_smoke_container
		podman run -d --name "$smoke_name" --network host \
			-e REALTIME_DEMO_ADDRESS="http://127.0.0.1:$port" -e REALTIME_DEMO_ADMIN=off \
			"$image" >/dev/null
	fi

	for i in $(seq 1 60); do
		code=$(http_code "$base/login.php")
		[ "$code" = 200 ] && break
		if [ "$(podman inspect -f '{{.State.Running}}' "$smoke_name" 2>/dev/null)" != true ]; then
			podman logs "$smoke_name" >&2 || true
			die "the container exited"
		fi
		sleep 0.5
	done
	fail() { podman logs "$smoke_name" 2>&1 | tail -n 30 >&2; die "$*"; }

	[ "$code" = 200 ] || fail "GET /login.php answered $code, expected 200"
	page=$(curl -s --max-time 5 "$base/login.php")
	grep -q 'Realtime demo' <<<"$page" && grep -q '<form method="post" action="/login.php">' <<<"$page" ||
		fail "GET /login.php is not the demo's login page"
	log "ok: GET /login.php -> 200, the demo's login page"

	code=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' --max-time 5 "$base/")
	[[ "$code" == "302 $base/login.php" ]] || fail "GET / answered '$code', expected a 302 to /login.php"
	log "ok: GET / -> 302 /login.php"

	code=$(http_code "$base/ws")
	[ "$code" = 426 ] || fail "GET /ws without Upgrade answered $code, expected 426"
	log "ok: GET /ws without Upgrade -> 426"

	# A real WebSocket handshake with no session cookie: the auth endpoint
	# says no, so the upgrade is refused before any switch of protocols.
	code=$(http_code -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
		-H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$base/ws")
	[ "$code" = 401 ] || fail "a WebSocket handshake to /ws without a cookie answered $code, expected 401"
	log "ok: WebSocket handshake to /ws without a cookie -> 401"

	local ctype
	ctype=$(curl -s -o "$base_dir/client.js" -w '%{http_code} %{content_type}' --max-time 5 "$base/ws?client" || true)
	[[ "$ctype" == "200 text/javascript"* || "$ctype" == "200 application/javascript"* ]] ||
		fail "GET /ws?client answered '$ctype', expected 200 with a JavaScript content type"
	grep -q 'export class RealtimeClient' "$base_dir/client.js" ||
		fail "GET /ws?client did not serve the realtime.js client (no RealtimeClient export)"
	rm -f "$base_dir/client.js"
	log "ok: GET /ws?client -> 200 ${ctype#200 }, the realtime.js client"

	# The binary names the Debian source of the PHP it links, the one the
	# builder resolved and verified (scripts/php-source.sh).
	local version
	version=$(podman exec "$smoke_name" frankenphp version)
	[[ "$version" =~ PHP\ ([0-9.]+)\ \(Debian\ source\ ([0-9]+\.[0-9]+\.[0-9]+)-[0-9A-Za-z.+~]+\) ]] ||
		fail "frankenphp version does not name PHP's Debian source: $version"
	[ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] ||
		fail "frankenphp version: PHP ${BASH_REMATCH[1]} is not the Debian source's upstream ${BASH_REMATCH[2]}: $version"
	log "ok: frankenphp version: ${version%% Caddy*}"

	local uid
	uid=$(podman exec "$smoke_name" id -u)
	[ "$uid" != 0 ] || fail "the server runs as root"
	podman exec "$smoke_name" test -s /app/var/secret.key || fail "the demo could not write /app/var/secret.key"
	log "ok: runs as uid $uid; the demo wrote its secret in /app/var"

	remove_smoke_container
}

# --- main ----------------------------------------------------------------------

import_base "$suite"
import_base "$suite-slim"

log "buildah bud -t $image (a cold build compiles PHP: 10-15 minutes on 2 cores)"
start=$(date +%s)
# The machine's CA bundle goes in as a build secret (used only by the Go
# downloads in the builder stage, never stored in a layer): where egress goes
# through a TLS-intercepting proxy, its CA is only in the host's bundle.
secret=()
ca_bundle=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
[ -s "$ca_bundle" ] && secret=(--secret "id=ca_bundle,src=$ca_bundle")
# The machine's apt settings on which Release files its mirror may serve
# (Valid-Until, Date) go to the builder's apt (BUILD_APT_CONF in the
# Dockerfile): the builder resolves and verifies PHP's source through the
# same mirror as a developer build here, and must accept what it accepts.
build_args=()
apt_conf=$(apt-config dump | grep -E '^Acquire::(Check-Valid-Until|Check-Date|Max-ValidTime|Min-ValidTime) ' | paste -sd' ' || true)
[ -n "$apt_conf" ] && build_args=(--build-arg "BUILD_APT_CONF=$apt_conf")
buildah bud --pull=never --isolation chroot --network host --layers --force-rm \
	--format docker "${secret[@]}" "${build_args[@]}" -t "$image" . >&2
elapsed=$(($(date +%s) - start))
size=$(podman image inspect -f '{{.Size}}' "$image")
log "built $image in ${elapsed}s; size $((size / 1000000)) MB ($size bytes)"

if [ "${SMOKE:-1}" != 0 ]; then
	smoke_test
	log "smoke test passed"
fi
podman images --filter "reference=$image" >&2
