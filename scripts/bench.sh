#!/usr/bin/env bash
# Benchmarks: realtime (native protocol, and Pusher protocol on the same hub)
# against bare gws inside net/http (the floor) and FrankenPHP's built-in
# Mercure hub (same binary), measured in the same run on the same machine
# with the same load generator (bench/cmd/loadgen). Publishing is a loop
# inside the server: bench/app/publish_loop.php (broadcast()),
# bench/app/mercure_publish_loop.php (mercure_publish()), gwspeer's
# /publish-loop (Go). Loopback only; every server is started on a free port,
# bounded in time, and stopped before the script exits. See
# docs/benchmarks.md for what each scenario (M1, M2, M3, M6) measures.
#
#   scripts/bench.sh            # full run, `make bench` (about 7 minutes on 2 cores)
#   QUICK=1 scripts/bench.sh    # mid-sized, one pass per system (about 1.5 minutes)
#   SMOKE=1 scripts/bench.sh    # tiny N, every system and scenario once (`make bench-smoke`, < 1 minute)
#
# Systems run one after another in ORDER, palindromic by default so that a
# drift of the machine (someone else's build) shows up as a difference
# between a system's two runs instead of biasing one system:
#   gws realtime realtime-pusher mercure realtime-pusher realtime gws
# With ≥ 2 CPUs the server is pinned to CPU 0 (`taskset -c 0`) and the load
# generator to CPU 1 (`taskset -c 1`); PIN=0 turns that off.
#
# Overrides (environment): ORDER N_BIG MSGS_BIG N_SMALL MSGS_SMALL M3_SUBS
# M3_RATE M3_DURATION M6_CALLS SIZE IDLE_WAIT QUIET SETTLE SOURCES
# CONNECT_CONCURRENCY RUN_TIMEOUT BETWEEN PIN VERBOSE BENCH_OUT=dir
# BENCH_SKIP_BUILD=1 (use the existing bin/frankenphp). SERVER_GOMAXPROCS=N
# runs every server (all systems alike) with GOMAXPROCS=N; unset, each
# server's Go runtime picks its own (1 when pinned to one CPU).
# Prints the markdown report (SMOKE: only when a check failed; VERBOSE=1
# always) and writes it, the raw JSON and the server logs to $BENCH_OUT.
# Exits non-zero when a server does not start, a scenario cannot run, or a
# subscriber misses a message (the report is printed either way). It never
# asserts speed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if [ "${SMOKE:-0}" = 1 ]; then
	: "${N_BIG:=50}" "${MSGS_BIG:=20}" "${N_SMALL:=40}" "${MSGS_SMALL:=50}" "${M3_SUBS:=10,40}" "${M3_DURATION:=1s}"
	: "${M6_CALLS:=2000}" "${IDLE_WAIT:=1s}" "${QUIET:=2s}" "${SETTLE:=300ms}" "${RUN_TIMEOUT:=60}"
	: "${ORDER:=gws realtime realtime-pusher mercure}" "${BETWEEN:=0.3}" "${VERBOSE:=0}"
	mode=SMOKE
elif [ "${QUICK:-0}" = 1 ]; then
	: "${N_BIG:=2000}" "${MSGS_BIG:=100}" "${N_SMALL:=500}" "${MSGS_SMALL:=500}" "${M3_SUBS:=100,500}" "${M3_DURATION:=5s}"
	: "${M6_CALLS:=50000}" "${IDLE_WAIT:=3s}" "${QUIET:=3s}" "${SETTLE:=1s}" "${RUN_TIMEOUT:=300}"
	: "${ORDER:=gws realtime realtime-pusher mercure}" "${BETWEEN:=1}"
	mode=QUICK
else
	: "${N_BIG:=10000}" "${MSGS_BIG:=100}" "${N_SMALL:=1000}" "${MSGS_SMALL:=1000}" "${M3_SUBS:=100,1000}" "${M3_DURATION:=10s}"
	: "${M6_CALLS:=200000}" "${IDLE_WAIT:=5s}" "${QUIET:=3s}" "${SETTLE:=2s}" "${RUN_TIMEOUT:=600}"
	: "${ORDER:=gws realtime realtime-pusher mercure realtime-pusher realtime gws}" "${BETWEEN:=2}"
	mode=
fi
: "${VERBOSE:=1}" "${M3_RATE:=20}" "${SIZE:=256}" "${SOURCES:=8}" "${CONNECT_CONCURRENCY:=64}" "${PIN:=auto}"
out=${BENCH_OUT:-$(mktemp -d /tmp/realtime-bench.XXXXXX)}
mkdir -p "$out"
t_start=$(date +%s)

log() { printf '==> %s\n' "$*" >&2; }

for sys in $ORDER; do
	case $sys in
	gws | realtime | realtime-pusher | mercure) ;;
	*)
		log "unknown system '$sys' in ORDER (gws, realtime, realtime-pusher, mercure)"
		exit 2
		;;
	esac
done

server_pin=() lg_pin=() pinning="none"
if [ "$PIN" != 0 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	server_pin=(taskset -c 0) lg_pin=(taskset -c 1)
	pinning="server CPU 0, loadgen CPU 1"
elif [ "$PIN" = 1 ]; then
	log "PIN=1 needs taskset and at least 2 CPUs"
	exit 2
fi

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
	local p=$1 q keep=()
	kill "$p" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
	for q in "${pids[@]}"; do [ "$q" != "$p" ] && keep+=("$q"); done
	pids=(${keep[@]+"${keep[@]}"})
}

common=(-n-big "$N_BIG" -msgs-big "$MSGS_BIG" -n-small "$N_SMALL" -msgs-small "$MSGS_SMALL"
	-m3-subs "$M3_SUBS" -m3-rate "$M3_RATE" -m3-duration "$M3_DURATION" -m6-calls "$M6_CALLS"
	-size "$SIZE" -idle-wait "$IDLE_WAIT" -quiet "$QUIET" -settle "$SETTLE"
	-sources "$SOURCES" -connect-concurrency "$CONNECT_CONCURRENCY" -pinning "$pinning")
failed=()
files=()
threads=
run=0

for sys in $ORDER; do
	run=$((run + 1))
	port=$("$lg" freeport)
	admin=$("$lg" freeport)
	server_env=(env)
	[ -n "${SERVER_GOMAXPROCS:-}" ] && server_env+=("GOMAXPROCS=$SERVER_GOMAXPROCS")
	case $sys in
	realtime | realtime-pusher | mercure)
		BENCH_PORT=$port BENCH_ADMIN_PORT=$admin BENCH_APP="$root/bench/app" \
			BENCH_JWT_KEY="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" \
			${server_pin[@]+"${server_pin[@]}"} "${server_env[@]}" "$out/frankenphp" run --config "bench/caddy/$sys.Caddyfile" --adapter caddyfile \
			>"$out/$run-$sys.server.log" 2>&1 &
		;;
	gws)
		${server_pin[@]+"${server_pin[@]}"} "${server_env[@]}" "$out/gwspeer" -addr "127.0.0.1:$port" >"$out/$run-$sys.server.log" 2>&1 &
		;;
	esac
	spid=$!
	pids+=("$spid")
	if ! wait_http "http://127.0.0.1:$port/"; then
		log "run $run, $sys: server did not start, see $out/$run-$sys.server.log"
		tail -5 "$out/$run-$sys.server.log" >&2 || true
		failed+=("$run:$sys(no start)")
		stop_server "$spid"
		continue
	fi
	memstats="http://127.0.0.1:$admin/debug/pprof/heap?gc=1&debug=1" # Caddy's admin API
	[ "$sys" = gws ] && memstats="http://127.0.0.1:$port/debug/pprof/heap?gc=1&debug=1"
	case $sys in
	gws)
		args=(-label "bare gws + net/http" -client ws -sub "ws://127.0.0.1:$port/ws"
			-pub "http://127.0.0.1:$port/publish-loop" -pub-name "Go loop over the gws.Broadcaster fan-out") ;;
	realtime)
		args=(-label "realtime, native protocol" -client ws -sub "ws://127.0.0.1:$port/ws"
			-pub "http://127.0.0.1:$port/publish_loop.php" -pub-name "PHP loop of broadcast()") ;;
	realtime-pusher)
		args=(-label "realtime, Pusher protocol" -client pusher -sub "ws://127.0.0.1:$port/app/benchkey?protocol=7&client=bench-loadgen&version=8.4.0"
			-pub "http://127.0.0.1:$port/publish_loop.php" -pub-name "PHP loop of broadcast()") ;;
	mercure)
		args=(-label "Mercure (same FrankenPHP binary)" -client sse -sub "http://127.0.0.1:$port/.well-known/mercure?topic=bench"
			-pub "http://127.0.0.1:$port/mercure_publish_loop.php" -pub-name "PHP loop of mercure_publish()") ;;
	esac
	log "run $run: $sys, server pid $spid on 127.0.0.1:$port ($pinning)"
	rc=0 t0=$(date +%s)
	if [ "$VERBOSE" = 1 ]; then
		${lg_pin[@]+"${lg_pin[@]}"} timeout "$RUN_TIMEOUT" "$lg" run -system "$sys" -run "$run" -pid "$spid" -memstats "$memstats" -out "$out/$run-$sys.json" \
			"${args[@]}" "${common[@]}" || rc=$?
	else # progress to a file; the failed checks only
		${lg_pin[@]+"${lg_pin[@]}"} timeout "$RUN_TIMEOUT" "$lg" run -system "$sys" -run "$run" -pid "$spid" -memstats "$memstats" -out "$out/$run-$sys.json" \
			"${args[@]}" "${common[@]}" 2>"$out/$run-$sys.loadgen.log" || rc=$?
		grep -E 'FAILED CHECK|note:|^loadgen:' "$out/$run-$sys.loadgen.log" >&2 || true
		log "run $run: $sys $([ "$rc" = 0 ] && echo ok || echo "FAILED (exit $rc)") in $(($(date +%s) - t0)) s"
	fi
	[ -f "$out/$run-$sys.json" ] && files+=("$out/$run-$sys.json")
	case $rc in
	0) ;;
	3) failed+=("$run:$sys(checks failed)") ;;
	124) failed+=("$run:$sys(timed out after ${RUN_TIMEOUT}s)") ;;
	*) failed+=("$run:$sys(load generator exit $rc)") ;;
	esac
	if ! kill -0 "$spid" 2>/dev/null; then
		log "run $run, $sys: the server died during the run, see $out/$run-$sys.server.log"
		failed+=("$run:$sys(server died)")
	fi
	if [ -z "$threads" ] && [ "$sys" != gws ]; then
		threads=$(grep -o '"num_threads":[0-9]*' "$out/$run-$sys.server.log" | head -1 | cut -d: -f2 || true)
	fi
	stop_server "$spid"
	sleep "$BETWEEN" # TIME_WAIT sockets and the CPU settle between systems
done

{
	echo "## Benchmark run $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "- command: \`${mode:+$mode=1 }scripts/bench.sh\` (ORDER=\"$ORDER\" N_BIG=$N_BIG MSGS_BIG=$MSGS_BIG N_SMALL=$N_SMALL MSGS_SMALL=$MSGS_SMALL M3_SUBS=$M3_SUBS M3_RATE=$M3_RATE M3_DURATION=$M3_DURATION M6_CALLS=$M6_CALLS SIZE=$SIZE IDLE_WAIT=$IDLE_WAIT${SERVER_GOMAXPROCS:+ SERVER_GOMAXPROCS=$SERVER_GOMAXPROCS})"
	echo "- machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')), $(free -h | awk '/^Mem:/{print $2}') RAM, kernel $(uname -r); pinning: $pinning; server GOMAXPROCS: ${SERVER_GOMAXPROCS:-runtime default}"
	echo "- $(go version), PHP $("$out/frankenphp" php-cli -r 'echo PHP_VERSION, PHP_ZTS ? " ZTS" : " NTS";' 2>/dev/null || echo '?'), FrankenPHP binary from \`make build\`, PHP threads: ${threads:-?}"
	echo "- duration: $(($(date +%s) - t_start)) s; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	if [ ${#files[@]} -gt 0 ]; then
		"$lg" report "${files[@]}"
	fi
	if [ ${#failed[@]} -gt 0 ]; then
		echo
		echo "**Failed:** ${failed[*]} (JSON and server logs in $out)"
	fi
} >"$out/report.md"
if [ "$VERBOSE" = 1 ] || [ ${#failed[@]} -gt 0 ]; then
	cat "$out/report.md"
fi
log "$(basename "$0"): ${mode:-full} run of $ORDER: $([ ${#failed[@]} -eq 0 ] && echo "every check passed" || echo "FAILED: ${failed[*]}") in $(($(date +%s) - t_start)) s; report, raw results and logs in $out"
[ ${#failed[@]} -eq 0 ]
