#!/usr/bin/env bash
# Benchmarks: realtime (PHP broadcast() and the admin API) against two peers
# measured in the same run on the same machine with the same load generator:
# FrankenPHP's built-in Mercure hub (mercure_publish(), same binary) and bare
# gws inside net/http (the floor). Loopback only; every server is started on
# a free port, bounded in time, and stopped before the script exits.
#
#   scripts/bench.sh            # full run (~5-6 minutes on 2 cores)
#   QUICK=1 scripts/bench.sh    # smoke-sized run (< 2 minutes)
#
# Overrides (environment): N_BIG RATE_BIG N_SMALL RATE_SMALL DURATION BURST
# BURST_CONCURRENCY SOURCES SYSTEMS="realtime mercure gws" BENCH_OUT=dir
# BENCH_SKIP_BUILD=1 (use the existing bin/frankenphp).
# Prints the markdown report; also writes it and the raw JSON to $BENCH_OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if [ "${QUICK:-0}" = 1 ]; then
	: "${N_BIG:=2000}" "${RATE_BIG:=10}" "${N_SMALL:=500}" "${RATE_SMALL:=10,100}" "${DURATION:=3s}" "${BURST:=500}"
	run_timeout=120
else
	: "${N_BIG:=10000}" "${RATE_BIG:=1,10}" "${N_SMALL:=1000}" "${RATE_SMALL:=10,100}" "${DURATION:=10s}" "${BURST:=2000}"
	run_timeout=300
fi
: "${BURST_CONCURRENCY:=8}" "${SOURCES:=8}" "${SYSTEMS:=realtime mercure gws}"
out=${BENCH_OUT:-$(mktemp -d /tmp/realtime-bench.XXXXXX)}
mkdir -p "$out"

log() { printf '==> %s\n' "$*" >&2; }

pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null || true
	done
	pids=()
}
trap cleanup EXIT INT TERM

# 1. Build. The binary is copied out of bin/ so that a concurrent rebuild
#    cannot swap it mid-run.
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
	log "make build"
	make -s build >&2
fi
cp bin/frankenphp "$out/frankenphp"
log "go build ./bench/cmd/... (no cgo)"
CGO_ENABLED=0 go build -o "$out/" ./bench/cmd/loadgen ./bench/cmd/gwspeer
lg="$out/loadgen"

wait_http() { # url: wait until anything answers (max 30 s)
	for _ in $(seq 300); do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$1" || true)
		[ "$code" != 000 ] && return 0
		sleep 0.1
	done
	return 1
}

stop_server() {
	local p=$1
	kill "$p" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
	local keep=()
	for q in "${pids[@]}"; do [ "$q" != "$p" ] && keep+=("$q"); done
	pids=("${keep[@]}")
}

common=(-n-big "$N_BIG" -rate-big "$RATE_BIG" -n-small "$N_SMALL" -rate-small "$RATE_SMALL"
	-duration "$DURATION" -burst "$BURST" -burst-concurrency "$BURST_CONCURRENCY" -sources "$SOURCES")
failed=()
files=()

for sys in $SYSTEMS; do
	port=$("$lg" freeport)
	admin=$("$lg" freeport)
	case $sys in
	realtime | mercure)
		BENCH_PORT=$port BENCH_ADMIN_PORT=$admin BENCH_APP="$root/bench/app" \
			BENCH_JWT_KEY="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" \
			"$out/frankenphp" run --config "bench/caddy/$sys.Caddyfile" --adapter caddyfile >"$out/$sys.server.log" 2>&1 &
		;;
	gws)
		"$out/gwspeer" -addr "127.0.0.1:$port" >"$out/$sys.server.log" 2>&1 &
		;;
	esac
	spid=$!
	pids+=("$spid")
	if ! wait_http "http://127.0.0.1:$port/"; then
		log "$sys: server did not start, see $out/$sys.server.log"
		tail -5 "$out/$sys.server.log" >&2 || true
		failed+=("$sys")
		stop_server "$spid"
		continue
	fi
	case $sys in
	realtime)
		args=(-label "realtime (FrankenPHP)" -client ws -sub "ws://127.0.0.1:$port/ws"
			-pub "http://127.0.0.1:$port/publish.php" -pub-name "PHP broadcast()"
			-admin-pub "http://127.0.0.1:$admin/realtime/broadcast") ;;
	mercure)
		args=(-label "Mercure (same FrankenPHP binary)" -client sse -sub "http://127.0.0.1:$port/.well-known/mercure?topic=bench"
			-pub "http://127.0.0.1:$port/mercure_publish.php" -pub-name "PHP mercure_publish()") ;;
	gws)
		args=(-label "bare gws + net/http" -client ws -sub "ws://127.0.0.1:$port/ws"
			-pub "http://127.0.0.1:$port/publish" -pub-name "Go HTTP handler") ;;
	esac
	log "$sys: server pid $spid on 127.0.0.1:$port"
	if timeout "$run_timeout" "$lg" run -system "$sys" -pid "$spid" -out "$out/$sys.json" "${args[@]}" "${common[@]}"; then
		files+=("$out/$sys.json")
	else
		log "$sys: load generator failed or timed out (rc $?)"
		failed+=("$sys")
		[ -f "$out/$sys.json" ] && files+=("$out/$sys.json")
	fi
	if ! kill -0 "$spid" 2>/dev/null; then
		log "$sys: the server died during the run, see $out/$sys.server.log"
		failed+=("$sys(server died)")
	fi
	stop_server "$spid"
	sleep 2 # let TIME_WAIT sockets and the CPU settle between systems
done

{
	echo "## Benchmark run $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "- command: \`${QUICK:+QUICK=$QUICK }scripts/bench.sh\` (N_BIG=$N_BIG RATE_BIG=$RATE_BIG N_SMALL=$N_SMALL RATE_SMALL=$RATE_SMALL DURATION=$DURATION BURST=$BURST BURST_CONCURRENCY=$BURST_CONCURRENCY SOURCES=$SOURCES)"
	echo "- machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')), $(free -h | awk '/^Mem:/{print $2}') RAM, kernel $(uname -r)"
	echo "- $(go version), PHP $("$out/frankenphp" php-cli -r 'echo PHP_VERSION, PHP_ZTS ? " ZTS" : " NTS";' 2>/dev/null || echo '?'), FrankenPHP binary from \`make build\`"
	echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	"$lg" report "${files[@]}"
	if [ ${#failed[@]} -gt 0 ]; then
		echo
		echo "**Failed:** ${failed[*]} (logs in $out)"
	fi
} | tee "$out/report.md"
log "raw results and server logs: $out"
[ ${#failed[@]} -eq 0 ]
