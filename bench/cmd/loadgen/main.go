// Command loadgen drives the realtime benchmarks (see docs/benchmarks.md and
// scripts/bench.sh). It is a benchmark tool only: nothing imports it.
//
//	loadgen freeport                 print a free TCP port on 127.0.0.1
//	loadgen run -system NAME ...     run every scenario against one server, write JSON
//	loadgen report FILE.json...      print the markdown tables and ratios
//
// The same process design is used for every system: one process, one
// goroutine-per-connection client (gws for WebSockets, native or Pusher
// protocol; a raw HTTP/1.1 reader for Server-Sent Events), client sockets
// spread over 127.0.0.2..N. Messages are published by a loop inside the
// server process (a PHP request looping over broadcast() or
// mercure_publish(), or a Go handler looping over its fan-out), so that the
// cost measured is the hub's, not one HTTP request per message. Every
// message carries "<phase>.<seq>.<unix ns>." in its first bytes; each
// subscriber counts what it receives, so losses, duplicates and reordering
// are checked per subscriber.
//
// Exit status of run: 0 when every scenario ran and every subscriber got
// every message; 3 when a check failed (the JSON is written either way);
// 1 when the run could not start.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen freeport | run [flags] | report FILE...")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "freeport":
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fatal(err)
		}
		fmt.Println(l.Addr().(*net.TCPAddr).Port)
		_ = l.Close()
	case "run":
		os.Exit(run(os.Args[2:]))
	case "report":
		report(os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, "unknown command", os.Args[1])
		os.Exit(2)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "loadgen:", err)
	os.Exit(1)
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "[loadgen %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
}

// ---- the in-process publisher loop ----

// loopResult is the JSON answer of bench/app/publish_loop.php,
// bench/app/mercure_publish_loop.php and gwspeer's /publish-loop. Seconds
// is measured inside the server (hrtime in PHP, the monotonic clock in Go)
// around the loop only.
type loopResult struct {
	Calls      int     `json:"calls"`
	Errors     int     `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	Seconds    float64 `json:"seconds"`
	MaxLagMS   float64 `json:"max_lag_ms"` // paced loops: latest send after its scheduled time
}

type loopPublisher struct {
	Name   string
	URL    string
	client *http.Client
}

func newLoopPublisher(name, u string) *loopPublisher {
	tr := &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second, DisableCompression: true}
	return &loopPublisher{Name: name, URL: u, client: &http.Client{Transport: tr}}
}

// run asks the server to publish n messages of size bytes on channel; rate
// 0 publishes back to back, rate > 0 sends message i at start + i/rate and
// stamps it with that scheduled time.
func (p *loopPublisher) run(channel string, phase int64, n, size int, rate float64) (loopResult, error) {
	var res loopResult
	timeout := 10 * time.Minute
	if rate > 0 {
		timeout = time.Duration(float64(n)/rate*float64(time.Second)) + 2*time.Minute
	}
	form := url.Values{
		"n": {strconv.Itoa(n)}, "size": {strconv.Itoa(size)}, "channel": {channel},
		"phase": {strconv.FormatInt(phase, 10)}, "rate": {strconv.FormatFloat(rate, 'f', -1, 64)},
	}
	req, err := http.NewRequest(http.MethodPost, p.URL, strings.NewReader(form.Encode()))
	if err != nil {
		return res, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	p.client.Timeout = timeout
	resp, err := p.client.Do(req)
	if err != nil {
		return res, err
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return res, fmt.Errorf("publisher loop: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return res, fmt.Errorf("publisher loop: answer is not the expected JSON (%v): %.200s", err, b)
	}
	if res.Calls != n {
		return res, fmt.Errorf("publisher loop: asked for %d calls, made %d", n, res.Calls)
	}
	return res, nil
}

// ---- process probes ----

// goMemory is what a Go server holds once garbage is collected: the heap's
// live bytes and its goroutine stacks, in KiB.
type goMemory struct {
	HeapKiB  int64 `json:"heap_kib"`
	StackKiB int64 `json:"stack_kib"`
}

func (m goMemory) total() int64 { return m.HeapKiB + m.StackKiB }

// readGoMemory forces a GC in the server and reads its MemStats from a
// net/http/pprof heap profile URL (…/debug/pprof/heap?gc=1&debug=1: the
// text form ends with "# HeapAlloc = N" and "# Stack = inuse / sys").
func readGoMemory(url string) (goMemory, error) {
	var m goMemory
	resp, err := memstatsClient.Get(url)
	if err != nil {
		return m, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return m, fmt.Errorf("memstats: HTTP %d from %s", resp.StatusCode, url)
	}
	heap, stack := int64(-1), int64(-1)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "# HeapAlloc = "); ok {
			if heap, err = strconv.ParseInt(strings.TrimSpace(v), 10, 64); err != nil {
				return m, fmt.Errorf("memstats: HeapAlloc %q: %v", v, err)
			}
		}
		if v, ok := strings.CutPrefix(line, "# Stack = "); ok {
			f := strings.Fields(v) // "inuse / sys"
			if len(f) == 0 {
				return m, fmt.Errorf("memstats: empty Stack line at %s", url)
			}
			if stack, err = strconv.ParseInt(f[0], 10, 64); err != nil {
				return m, fmt.Errorf("memstats: Stack %q: %v", v, err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return m, err
	}
	if heap < 0 || stack < 0 {
		return m, fmt.Errorf("memstats: no HeapAlloc/Stack lines at %s", url)
	}
	return goMemory{HeapKiB: heap / 1024, StackKiB: stack / 1024}, nil
}

// memstatsClient bounds a MemStats read (a forced GC of a 10,000-connection
// heap takes well under a second).
var memstatsClient = &http.Client{Timeout: 30 * time.Second}

func rssKiB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			v, _ := strconv.ParseInt(f[1], 10, 64)
			return v
		}
	}
	return -1
}

// cpuSeconds is user+system CPU time of a process (clock ticks of 1/100 s).
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// ---- one measured phase ----

// Phase ids (stable: the report looks them up).
const (
	phaseWarm    = "warm-up"
	phaseM2Big   = "M2-big"   // burst to N_BIG subscribers (also: publisher calls/s at N_BIG)
	phaseM2Small = "M2-small" // burst to N_SMALL subscribers (also M6 at N_SMALL)
	phaseM6Zero  = "M6-0"     // publisher loop on a channel nobody subscribes to
)

// m3ID is the id of the paced open-loop phase at n (requested) subscribers.
func m3ID(n int) string { return "M3-" + strconv.Itoa(n) }

type phaseResult struct {
	ID             string         `json:"id"`
	Subscribers    int            `json:"subscribers"`
	Channel        string         `json:"channel"`
	Rate           float64        `json:"rate_per_s"` // 0: back to back
	Requested      int            `json:"calls_requested"`
	Pub            loopResult     `json:"publisher"`
	PubError       string         `json:"publisher_error,omitempty"`
	CallsPerSec    float64        `json:"calls_per_second"`    // Pub.Calls / Pub.Seconds (as measured inside the server)
	OKPerSec       float64        `json:"ok_calls_per_second"` // calls that did not throw / Pub.Seconds
	Expected       uint64         `json:"expected_deliveries"`
	Delivered      uint64         `json:"delivered"`
	Lost           uint64         `json:"lost"`
	SubsShort      int            `json:"subscribers_missing_messages"`
	SubsExtra      int            `json:"subscribers_with_extra_messages"`
	Disorder       int64          `json:"out_of_order"`
	Stale          uint64         `json:"stale_from_earlier_phase"`
	Malformed      uint64         `json:"malformed"`
	ClosedEarly    uint64         `json:"subscribers_closed_during_phase"`
	DeliverSeconds float64        `json:"first_to_last_delivery_seconds"`
	DeliveriesPerS float64        `json:"deliveries_per_second"`
	Latency        latencySummary `json:"latency"` // receive time − time stamped in the message
	// LatencyBuckets is the whole histogram (M3 phases only), so that the
	// report can pool a system's runs: [upper edge µs, count].
	LatencyBuckets [][2]uint64 `json:"latency_buckets,omitempty"`
	ServerCPU      float64     `json:"server_cpu_seconds"`
	LoadgenCPU     float64     `json:"loadgen_cpu_seconds"`
	WallSeconds    float64     `json:"wall_seconds"`
	LoadAvg        string      `json:"loadavg_after"`
	Problems       []string    `json:"problems,omitempty"` // failed checks
	Notes          []string    `json:"notes,omitempty"`    // reported, not failed
}

type runner struct {
	pid     int
	pub     *loopPublisher
	size    int
	quiet   time.Duration
	maxWait time.Duration
}

// newPhase starts counting a new phase: the phase number moves on first (a
// message of the previous phase arriving later is counted as stale, not
// delivered), then every subscriber's counters and the shared ones are
// reset, before anything of the new phase is published.
func newPhase(subs []subscriber) int64 {
	ph := curPhase.Add(1)
	curHist.Store(newHist())
	for _, s := range subs {
		s.counts().reset()
	}
	delivered.Store(0)
	stale.Store(0)
	malformed.Store(0)
	firstRecv.Store(0)
	lastRecv.Store(0)
	closedEarly.Store(0)
	return ph
}

// drain waits until every expected delivery arrived, or nothing arrived for
// quiet, or max elapsed.
func drain(expected uint64, quiet, max time.Duration) {
	deadline := time.Now().Add(max)
	last := delivered.Load()
	lastChange := time.Now()
	for time.Now().Before(deadline) {
		d := delivered.Load()
		if d >= expected {
			return
		}
		if d != last {
			last, lastChange = d, time.Now()
		} else if time.Since(lastChange) > quiet {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *runner) phase(id string, subs []subscriber, channel string, n int, rate float64) phaseResult {
	ph := newPhase(subs)
	cpu0, self0 := cpuSeconds(r.pid), cpuSeconds(os.Getpid())
	start := time.Now()
	res, err := r.pub.run(channel, ph, n, r.size, rate)
	p := phaseResult{ID: id, Subscribers: len(subs), Channel: channel, Rate: rate, Requested: n, Pub: res}
	ok := 0
	if err != nil {
		p.PubError = err.Error()
		p.Problems = append(p.Problems, "publisher: "+err.Error())
	} else {
		ok = res.Calls - res.Errors
		if res.Seconds > 0 {
			p.CallsPerSec = float64(res.Calls) / res.Seconds
			p.OKPerSec = float64(ok) / res.Seconds
		}
		if res.Errors > 0 {
			msg := fmt.Sprintf("%d of %d publish calls threw, first: %s", res.Errors, res.Calls, res.FirstError)
			if id == phaseM6Zero {
				// M6 saturates the publisher on purpose: a refusal under
				// overload (hand-off queue full) is reported, not a failure.
				p.Notes = append(p.Notes, msg)
			} else {
				p.Problems = append(p.Problems, msg)
			}
		}
	}
	p.Expected = uint64(ok) * uint64(len(subs))
	if err != nil {
		// unknown number published: wait for the traffic to stop
		drain(^uint64(0), r.quiet, r.maxWait)
	} else {
		drain(p.Expected, r.quiet, r.maxWait)
	}
	p.WallSeconds = time.Since(start).Seconds()
	p.ServerCPU = cpuSeconds(r.pid) - cpu0
	p.LoadgenCPU = cpuSeconds(os.Getpid()) - self0
	p.Delivered = delivered.Load()
	p.Stale, p.Malformed, p.ClosedEarly = stale.Load(), malformed.Load(), closedEarly.Load()
	p.Latency = curHist.Load().summary()
	if strings.HasPrefix(p.ID, "M3-") {
		p.LatencyBuckets = curHist.Load().sparse()
	}
	for _, s := range subs {
		c := s.counts()
		got := c.got.Load()
		switch {
		case got < int64(ok):
			p.SubsShort++
			p.Lost += uint64(int64(ok) - got)
		case got > int64(ok):
			p.SubsExtra++
		}
		p.Disorder += c.disorder.Load()
	}
	if f, l := firstRecv.Load(), lastRecv.Load(); f > 0 && l > f {
		p.DeliverSeconds = float64(l-f) / 1e9
		p.DeliveriesPerS = float64(p.Delivered) / p.DeliverSeconds
	}
	p.LoadAvg = loadavg()
	if p.Lost > 0 {
		p.Problems = append(p.Problems, fmt.Sprintf("%d message(s) lost: %d of %d subscribers missed some (delivered %d of %d)", p.Lost, p.SubsShort, len(subs), p.Delivered, p.Expected))
	}
	if p.SubsExtra > 0 {
		p.Problems = append(p.Problems, fmt.Sprintf("%d subscriber(s) got more messages than were published (duplicates)", p.SubsExtra))
	}
	if p.Disorder > 0 {
		p.Problems = append(p.Problems, fmt.Sprintf("%d message(s) arrived out of publish order", p.Disorder))
	}
	if p.ClosedEarly > 0 {
		p.Problems = append(p.Problems, fmt.Sprintf("%d subscriber(s) were closed by the server during the phase", p.ClosedEarly))
	}
	if p.Malformed > 0 {
		p.Problems = append(p.Problems, fmt.Sprintf("%d frame(s) could not be parsed", p.Malformed))
	}
	return p
}

func parseInts(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			fatal(fmt.Errorf("bad number %q", f))
		}
		out = append(out, n)
	}
	return out
}

// ---- the whole scenario against one server ----

type systemResult struct {
	System       string      `json:"system"`
	Label        string      `json:"label"`
	Publisher    string      `json:"publisher"`
	Client       string      `json:"client"`
	Run          int         `json:"run"` // position in the run order
	Started      string      `json:"started"`
	ServerPID    int         `json:"server_pid"`
	Pinning      string      `json:"pinning"`
	LoadAvgStart string      `json:"loadavg_start"`
	LoadAvgEnd   string      `json:"loadavg_end"`
	PayloadBytes int         `json:"payload_bytes"`
	Config       runConfig   `json:"config"`
	GoMaxProcs   int         `json:"loadgen_gomaxprocs"`
	Setup        setupResult `json:"setup"` // connecting the N_BIG sample
	IdleConns    int         `json:"idle_conns"`
	IdleSeconds  float64     `json:"rss_read_seconds_after_last_subscribed"`
	RSSBeforeKiB int64       `json:"rss_before_kib"`
	RSSIdleKiB   int64       `json:"rss_idle_kib"`
	KiBPerConn   float64     `json:"kib_per_conn"`
	// Live Go memory (heap after a forced GC, plus goroutine stacks), read
	// after the RSS, from -memstats; 0 without it.
	LiveBefore     goMemory      `json:"live_before"`
	LiveIdle       goMemory      `json:"live_idle"`
	LiveKiBPerConn float64       `json:"live_kib_per_conn"`
	Phases         []phaseResult `json:"phases"`
	Problems       []string      `json:"problems,omitempty"`
	Notes          []string      `json:"notes,omitempty"`
	WallSeconds    float64       `json:"wall_seconds"`
}

// runConfig is the sizes of the run (the report names its metrics with them).
type runConfig struct {
	NBig       int     `json:"n_big"`
	MsgsBig    int     `json:"msgs_big"`
	NSmall     int     `json:"n_small"`
	MsgsSmall  int     `json:"msgs_small"`
	M3Subs     []int   `json:"m3_subs"`
	M3Rate     float64 `json:"m3_rate"`
	M3Seconds  float64 `json:"m3_seconds"`
	M6Calls    int     `json:"m6_calls"`
	IdleWaitS  float64 `json:"idle_wait_seconds"`
	QuietS     float64 `json:"quiet_seconds"`
	Concurrent int     `json:"connect_concurrency"`
}

func (r *systemResult) phase(id string) *phaseResult {
	for i := range r.Phases {
		if p := &r.Phases[i]; p.ID == id {
			return p
		}
	}
	return nil
}

func run(args []string) int {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	system := fs.String("system", "", "system key: gws | realtime | realtime-pusher | mercure")
	label := fs.String("label", "", "label in the report")
	kind := fs.String("client", "ws", "subscriber kind: ws (native protocol) | pusher | sse")
	subURL := fs.String("sub", "", "subscribe URL (ws://.../ws, ws://.../app/KEY?protocol=7, http://.../.well-known/mercure?topic=bench)")
	pubURL := fs.String("pub", "", "publisher loop URL (POST n, size, channel, phase, rate → JSON)")
	pubName := fs.String("pub-name", "", "publisher label")
	pid := fs.Int("pid", 0, "server process id (RSS and CPU probes)")
	runNo := fs.Int("run", 1, "position of this run in the run order")
	pinning := fs.String("pinning", "", "how server and load generator are pinned (for the report)")
	channel := fs.String("channel", "bench", "channel / topic of the subscribers")
	empty := fs.String("empty-channel", "bench-nobody", "channel nobody subscribes to (M6 at 0 subscribers)")
	nBig := fs.Int("n-big", 10000, "subscribers of M1 (idle memory) and of the large M2 burst")
	msgsBig := fs.Int("msgs-big", 100, "messages of the large M2 burst")
	nSmall := fs.Int("n-small", 1000, "subscribers of the small M2 burst (0: skip)")
	msgsSmall := fs.Int("msgs-small", 1000, "messages of the small M2 burst")
	m3Subs := fs.String("m3-subs", "100,1000", "subscriber counts of the M3 latency phases (comma-separated)")
	m3Rate := fs.Float64("m3-rate", 20, "M3 publishes per second")
	m3Dur := fs.Duration("m3-duration", 10*time.Second, "M3 publishing duration")
	m6Calls := fs.Int("m6-calls", 200000, "publisher loop calls of M6 at 0 subscribers")
	size := fs.Int("size", 256, "message payload bytes (timestamp header included)")
	memstats := fs.String("memstats", "", "M1: net/http/pprof heap URL with gc=1&debug=1 (live Go memory; empty: not read)")
	idleWait := fs.Duration("idle-wait", 5*time.Second, "M1: read RSS this long after the last subscription is confirmed")
	quiet := fs.Duration("quiet", 3*time.Second, "a phase ends when nothing arrived for this long (or everything did)")
	maxWait := fs.Duration("max-drain", 5*time.Minute, "longest wait for the deliveries of one phase")
	settle := fs.Duration("settle", 2*time.Second, "pause after closing connections")
	connC := fs.Int("connect-concurrency", 64, "concurrent connection attempts")
	sources := fs.Int("sources", 8, "client source addresses 127.0.0.2..")
	warmMsgs := fs.Int("warm-msgs", 200, "messages of the warm-up burst (10 subscribers)")
	out := fs.String("out", "", "JSON result file")
	_ = fs.Parse(args)
	if *system == "" || *subURL == "" || *pubURL == "" || *pid == 0 || *out == "" {
		fatal(fmt.Errorf("run needs -system, -sub, -pub, -pid and -out"))
	}
	m3 := parseInts(*m3Subs)
	slices.Sort(m3)
	m3 = slices.Compact(m3)
	sizes := slices.Clone(m3)
	if *nSmall > 0 {
		sizes = append(sizes, *nSmall)
	}
	slices.Sort(sizes)
	sizes = slices.Compact(sizes)

	d := &dialer{sources: *sources}
	res := systemResult{
		System: *system, Label: *label, Publisher: *pubName, Client: *kind, Run: *runNo, ServerPID: *pid, Pinning: *pinning,
		Started: time.Now().UTC().Format("2006-01-02 15:04:05 UTC"), LoadAvgStart: loadavg(), PayloadBytes: *size, GoMaxProcs: runtime.GOMAXPROCS(0),
		Config: runConfig{NBig: *nBig, MsgsBig: *msgsBig, NSmall: *nSmall, MsgsSmall: *msgsSmall, M3Subs: m3, M3Rate: *m3Rate,
			M3Seconds: m3Dur.Seconds(), M6Calls: *m6Calls, IdleWaitS: idleWait.Seconds(), QuietS: quiet.Seconds(), Concurrent: *connC},
	}
	wall := time.Now()
	r := &runner{pid: *pid, pub: newLoopPublisher(*pubName, *pubURL), size: *size, quiet: *quiet, maxWait: *maxWait}
	save := func() int {
		res.LoadAvgEnd = loadavg()
		res.WallSeconds = time.Since(wall).Seconds()
		for _, p := range res.Phases {
			for _, pr := range p.Problems {
				res.Problems = append(res.Problems, fmt.Sprintf("%s (%d subscribers): %s", p.ID, p.Subscribers, pr))
			}
			for _, n := range p.Notes {
				res.Notes = append(res.Notes, fmt.Sprintf("%s (%d subscribers): %s", p.ID, p.Subscribers, n))
			}
		}
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(*out, b, 0o644); err != nil {
			fatal(err)
		}
		for _, n := range res.Notes {
			logf("%s: note: %s", *system, n)
		}
		if len(res.Problems) > 0 {
			for _, p := range res.Problems {
				logf("%s: FAILED CHECK: %s", *system, p)
			}
			return 3
		}
		return 0
	}
	add := func(p phaseResult) {
		rate := "back to back"
		if p.Rate > 0 {
			rate = fmt.Sprintf("%g/s", p.Rate)
		}
		logf("%s:   %s: %d calls (%s) in %.3fs in the server = %.0f calls/s; delivered %d/%d, %.0f deliveries/s; p50 %.2fms p99 %.2fms p99.9 %.2fms",
			*system, p.ID, p.Pub.Calls, rate, p.Pub.Seconds, p.CallsPerSec, p.Delivered, p.Expected, p.DeliveriesPerS,
			p.Latency.P50/1000, p.Latency.P99/1000, p.Latency.P999/1000)
		res.Phases = append(res.Phases, p)
	}
	connect := func(n, idBase int, what string) ([]subscriber, setupResult) {
		subs, s := connectMany(*kind, d, *subURL, *channel, n, *connC, idBase)
		logf("%s: %s: %d/%d connected and subscribed in %.2fs (%d failed, %d retries after 503)%s", *system, what, s.OK, n, s.Seconds, s.Failed, s.Retries,
			map[bool]string{true: ", first error: " + s.FirstError, false: ""}[s.FirstError != ""])
		if s.Failed > 0 {
			res.Problems = append(res.Problems, fmt.Sprintf("%s: %d of %d connections failed, first error: %s", what, s.Failed, n, s.FirstError))
		}
		return subs, s
	}

	// 0. Warm-up: PHP threads, connection pools, every code path once.
	logf("%s: warm-up", *system)
	warm, ws := connect(10, 900000, "warm-up")
	if ws.OK == 0 {
		res.Problems = append(res.Problems, "warm-up: no subscriber could connect: "+ws.FirstError)
		return save()
	}
	wp := r.phase(phaseWarm, warm, *channel, *warmMsgs, 0)
	if wp.PubError != "" {
		res.Phases = append(res.Phases, wp)
		closeAll(warm)
		return save()
	}
	add(wp)
	add(r.phase(phaseWarm, nil, *empty, min(*m6Calls, 1000), 0))
	closeAll(warm)
	time.Sleep(*settle)
	runtime.GC()

	// 1. M1: idle memory per subscribed connection, N_BIG connections.
	res.RSSBeforeKiB = rssKiB(*pid)
	// readLive reads the server's live Go memory into m, or notes why not.
	readLive := func(m *goMemory) bool {
		v, err := readGoMemory(*memstats)
		if err != nil {
			res.Notes = append(res.Notes, "M1: live memory not read: "+err.Error())
			return false
		}
		*m = v
		return true
	}
	liveOK := *memstats != "" && readLive(&res.LiveBefore)
	logf("%s: M1: connecting %d subscribers (server RSS before: %.1f MiB)", *system, *nBig, float64(res.RSSBeforeKiB)/1024)
	subs, setup := connect(*nBig, 0, "M1 connect")
	res.Setup = setup
	ready := time.Now()
	time.Sleep(*idleWait)
	res.IdleConns = len(subs)
	res.RSSIdleKiB = rssKiB(*pid)
	res.IdleSeconds = time.Since(ready).Seconds()
	if len(subs) > 0 {
		res.KiBPerConn = float64(res.RSSIdleKiB-res.RSSBeforeKiB) / float64(len(subs))
	}
	logf("%s: M1: RSS %.1f MiB %.1f s after the last subscription: %.2f KiB per connection", *system, float64(res.RSSIdleKiB)/1024, res.IdleSeconds, res.KiBPerConn)
	// After the RSS: the forced GC must not change it.
	if liveOK && len(subs) > 0 && readLive(&res.LiveIdle) {
		res.LiveKiBPerConn = float64(res.LiveIdle.total()-res.LiveBefore.total()) / float64(len(subs))
		logf("%s: M1: live Go memory after a forced GC: %.2f KiB per connection (heap %.1f → %.1f MiB, stacks %.1f → %.1f MiB)", *system, res.LiveKiBPerConn,
			float64(res.LiveBefore.HeapKiB)/1024, float64(res.LiveIdle.HeapKiB)/1024, float64(res.LiveBefore.StackKiB)/1024, float64(res.LiveIdle.StackKiB)/1024)
	}

	// 2. M2 at N_BIG: one back-to-back burst, deliveries/s and loss check.
	if len(subs) > 0 && *msgsBig > 0 {
		logf("%s: M2: %d messages to %d subscribers", *system, *msgsBig, len(subs))
		add(r.phase(phaseM2Big, subs, *channel, *msgsBig, 0))
	}
	closeAll(subs)
	subs = nil
	time.Sleep(*settle)

	// 3. M6 at 0 subscribers: what one publish call costs the publisher.
	logf("%s: M6: %d publish calls, 0 subscribers", *system, *m6Calls)
	add(r.phase(phaseM6Zero, nil, *empty, *m6Calls, 0))
	time.Sleep(*settle / 2)

	// 4. A growing pool: M3 at each of its sizes, M2 (and M6) at N_SMALL.
	var pool []subscriber
	for _, n := range sizes {
		more, _ := connect(n-len(pool), 100000+len(pool), fmt.Sprintf("pool to %d", n))
		pool = append(pool, more...)
		time.Sleep(*settle / 2)
		if slices.Contains(m3, n) {
			msgs := int(*m3Rate * m3Dur.Seconds())
			logf("%s: M3: %d messages at %g/s to %d subscribers", *system, msgs, *m3Rate, len(pool))
			add(r.phase(m3ID(n), pool, *channel, msgs, *m3Rate))
			time.Sleep(*settle / 2)
		}
		if n == *nSmall && *msgsSmall > 0 {
			logf("%s: M2: %d messages to %d subscribers", *system, *msgsSmall, len(pool))
			add(r.phase(phaseM2Small, pool, *channel, *msgsSmall, 0))
			time.Sleep(*settle / 2)
		}
	}
	closeAll(pool)
	rc := save()
	logf("%s: done in %.1fs", *system, time.Since(wall).Seconds())
	return rc
}
