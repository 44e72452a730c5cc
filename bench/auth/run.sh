#!/usr/bin/env bash
# Auth endpoint latency: the same auth.php reached in-process (a path) and
# over HTTP (a URL to the same server), N handshakes each, read from the
# realtime_auth_duration_seconds histogram. Loopback only; bounded.
# usage: bench/auth/run.sh [N]
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-500}
bin=bin/frankenphp
[ -x "$bin" ] || make build
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
for mode in path url; do
	port=$(free_port) admin=$(free_port)
	endpoint=/auth.php
	[ "$mode" = url ] && endpoint="http://127.0.0.1:$port/auth.php"
	cat >"$work/Caddyfile" <<CADDY
{
	admin 127.0.0.1:$admin
	auto_https off
	frankenphp
}
http://127.0.0.1:$port {
	root * $PWD/bench/app
	handle /ws {
		realtime {
			auth_endpoint $endpoint
		}
	}
	php_server
}
CADDY
	"$bin" run --config "$work/Caddyfile" --adapter caddyfile >"$work/$mode.log" 2>&1 &
	pid=$!
	for _ in $(seq 200); do curl -fs -o /dev/null "127.0.0.1:$admin/realtime/stats" && break; sleep 0.05; done
	printf '%-5s ' "$mode"
	python3 bench/auth/handshake_latency.py "$port" "$admin" "$n"
	kill "$pid"; wait "$pid" 2>/dev/null || true
done
