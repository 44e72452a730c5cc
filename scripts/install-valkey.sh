#!/usr/bin/env bash
# Installs valkey-server (8.x, from bookworm-backports) for the Go tests of
# internal/valkeyhub. The tests start their own server on a free loopback
# port, so the system service the package ships is stopped and disabled:
# nothing may come to rely on a Valkey listening on 6379.
#
# Idempotent: a no-op (no network) when valkey-server is already installed.
#
# usage: scripts/install-valkey.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

backports=/etc/apt/sources.list.d/bookworm-backports.sources

# stop_system_service makes sure the package's own service neither runs nor
# starts at boot, whichever init system the machine has.
stop_system_service() {
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
		as_root systemctl disable --now valkey-server.service >/dev/null 2>&1 || true
	elif [ -x /etc/init.d/valkey-server ]; then
		as_root /etc/init.d/valkey-server stop >/dev/null 2>&1 || true
		as_root update-rc.d valkey-server disable >/dev/null 2>&1 || true
	fi
	# A package whose maintainer script started the daemon directly (no
	# init system) leaves a process owned by the valkey user behind.
	if command -v pgrep >/dev/null && pids=$(pgrep -u valkey -x valkey-server 2>/dev/null); then
		log "stopping the system valkey-server (pid $pids): tests start their own"
		# shellcheck disable=SC2086
		as_root kill $pids || true
	fi
}

if command -v valkey-server >/dev/null; then
	stop_system_service
	exit 0
fi

if [ ! -f "$backports" ]; then
	log "adding bookworm-backports to apt sources"
	# The machine's own Debian mirror, as apt knows it.
	mirror=$("$(dirname "${BASH_SOURCE[0]}")/debian-apt.sh" mirror)
	as_root tee "$backports" >/dev/null <<-EOF
		Types: deb
		URIs: $mirror
		Suites: bookworm-backports
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
fi

# Always refresh here: the hourly stamp of apt_update_once may predate the
# backports entry, and this path runs only when valkey-server is missing.
log "apt-get update"
as_root apt-get update -qq -o DPkg::Lock::Timeout=600
touch "$CACHE_DIR/apt-updated"

log "apt-get install -t bookworm-backports valkey-server"
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	-o DPkg::Lock::Timeout=600 -t bookworm-backports valkey-server >/dev/null

command -v valkey-server >/dev/null || die "valkey-server is still missing after the install"
stop_system_service
log "$(valkey-server --version)"
