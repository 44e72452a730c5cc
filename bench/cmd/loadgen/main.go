// Command loadgen drives the realtime benchmarks (see docs/benchmarks.md and
// scripts/bench.sh). It is a benchmark tool only: nothing imports it.
//
//	loadgen freeport                 print a free TCP port on 127.0.0.1
//	loadgen run -system NAME ...     run every scenario against one server, write JSON
//	loadgen report FILE.json...      print the markdown tables and ratios
//
// The same process design is used for every system: one process, one
// goroutine-per-connection client (gws for WebSockets, a raw HTTP/1.1 reader
// for Server-Sent Events), client sockets spread over 127.0.0.2..N, and an
// open-loop publisher that stamps each message with its send time.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
		run(os.Args[2:])
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

// ---- publishing ----

type publisher struct {
	Name   string // label in the report
	URL    string
	JSON   bool // admin API: {"channel":..., "message":...}; otherwise a form POST channel=&message=
	client *http.Client
}

func newPublisher(name, u string, asJSON bool) *publisher {
	tr := &http.Transport{
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &publisher{Name: name, URL: u, JSON: asJSON, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

func (p *publisher) publish(channel, message string) error {
	var body io.Reader
	var ct string
	if p.JSON {
		b, _ := json.Marshal(map[string]string{"channel": channel, "message": message})
		body, ct = bytes.NewReader(b), "application/json"
	} else {
		body, ct = strings.NewReader(url.Values{"channel": {channel}, "message": {message}}.Encode()), "application/x-www-form-urlencoded"
	}
	req, err := http.NewRequest(http.MethodPost, p.URL, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", ct)
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return nil
}

var padding string

const adminPublisher = "admin API POST /realtime/broadcast"

func message(phase int64, seq int) string {
	return strconv.FormatInt(phase, 10) + "." + strconv.Itoa(seq) + "." + strconv.FormatInt(time.Now().UnixNano(), 10) + "." + padding
}

// ---- process probes ----

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

// ---- phases ----

type fanoutResult struct {
	Subscribers    int            `json:"subscribers"`
	Publisher      string         `json:"publisher"`
	Rate           int            `json:"rate_per_s"`
	Seconds        float64        `json:"seconds"`
	Published      int            `json:"published_ok"`
	PublishErrors  int            `json:"publish_errors"`
	FirstPubError  string         `json:"first_publish_error,omitempty"`
	Expected       uint64         `json:"expected_deliveries"`
	Delivered      uint64         `json:"delivered"`
	DeliveryRatio  float64        `json:"delivery_ratio"`
	Latency        latencySummary `json:"latency"`
	PublishLatency latencySummary `json:"publish_request_latency"`
	ServerCPU      float64        `json:"server_cpu_seconds"`
	ClosedEarly    uint64         `json:"subscribers_closed_during_phase"`
	LoadAvg        string         `json:"loadavg_after"`
}

type burstResult struct {
	Subscribers      int            `json:"subscribers"`
	Publisher        string         `json:"publisher"`
	Messages         int            `json:"messages"`
	Concurrency      int            `json:"publish_concurrency"`
	Published        int            `json:"published_ok"`
	PublishErrors    int            `json:"publish_errors"`
	FirstPubError    string         `json:"first_publish_error,omitempty"`
	PublishSeconds   float64        `json:"publish_seconds"`
	PublishPerSecond float64        `json:"publishes_per_second"`
	Expected         uint64         `json:"expected_deliveries"`
	Delivered        uint64         `json:"delivered"`
	DeliveryRatio    float64        `json:"delivery_ratio"`
	DeliverSeconds   float64        `json:"deliver_seconds"`
	DeliveredPerSec  float64        `json:"deliveries_per_second"`
	Latency          latencySummary `json:"latency"`
	ServerCPU        float64        `json:"server_cpu_seconds"`
}

func newPhase() int64 {
	ph := curPhase.Add(1)
	curHist.Store(newHist())
	delivered.Store(0)
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
		time.Sleep(20 * time.Millisecond)
	}
}

func fanout(pid int, subs int, p *publisher, channel string, rate int, dur time.Duration) fanoutResult {
	ph := newPhase()
	pubHist := newHist()
	n := int(float64(rate) * dur.Seconds())
	var ok, fails atomic.Int64
	var firstErr atomic.Pointer[string]
	var wg sync.WaitGroup
	cpu0 := cpuSeconds(pid)
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for i := 0; i < n; i++ {
		// open loop: message i is due at start + i*interval, whatever the
		// previous publishes are doing.
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func(seq int) {
			defer wg.Done()
			t := time.Now()
			if err := p.publish(channel, message(ph, seq)); err != nil {
				fails.Add(1)
				msg := err.Error()
				firstErr.CompareAndSwap(nil, &msg)
				return
			}
			pubHist.record(time.Since(t))
			ok.Add(1)
		}(i)
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	expected := uint64(ok.Load()) * uint64(subs)
	drain(expected, 3*time.Second, 15*time.Second)
	r := fanoutResult{
		Subscribers: subs, Publisher: p.Name, Rate: rate, Seconds: el,
		Published: int(ok.Load()), PublishErrors: int(fails.Load()),
		Expected: expected, Delivered: delivered.Load(),
		Latency: curHist.Load().summary(), PublishLatency: pubHist.summary(),
		ServerCPU: cpuSeconds(pid) - cpu0, ClosedEarly: closedEarly.Load(), LoadAvg: loadavg(),
	}
	if expected > 0 {
		r.DeliveryRatio = float64(r.Delivered) / float64(expected)
	}
	if e := firstErr.Load(); e != nil {
		r.FirstPubError = *e
	}
	return r
}

func burst(pid int, subs int, p *publisher, channel string, msgs, conc int) burstResult {
	ph := newPhase()
	var next, ok, fails atomic.Int64
	var firstErr atomic.Pointer[string]
	var wg sync.WaitGroup
	cpu0 := cpuSeconds(pid)
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= msgs {
					return
				}
				if err := p.publish(channel, message(ph, i)); err != nil {
					fails.Add(1)
					msg := err.Error()
					firstErr.CompareAndSwap(nil, &msg)
					continue
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	pubEl := time.Since(start).Seconds()
	expected := uint64(ok.Load()) * uint64(subs)
	drain(expected, 3*time.Second, 30*time.Second)
	r := burstResult{
		Subscribers: subs, Publisher: p.Name, Messages: msgs, Concurrency: conc,
		Published: int(ok.Load()), PublishErrors: int(fails.Load()),
		PublishSeconds: pubEl, PublishPerSecond: float64(ok.Load()) / pubEl,
		Expected: expected, Delivered: delivered.Load(),
		Latency:   curHist.Load().summary(),
		ServerCPU: cpuSeconds(pid) - cpu0,
	}
	if lr := lastRecv.Load(); lr > 0 {
		r.DeliverSeconds = float64(lr-start.UnixNano()) / 1e9
		r.DeliveredPerSec = float64(r.Delivered) / r.DeliverSeconds
	}
	if expected > 0 {
		r.DeliveryRatio = float64(r.Delivered) / float64(expected)
	}
	if e := firstErr.Load(); e != nil {
		r.FirstPubError = *e
	}
	return r
}

func parseRates(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			fatal(fmt.Errorf("bad rate %q", f))
		}
		out = append(out, n)
	}
	return out
}

// ---- the whole scenario against one server ----

type systemResult struct {
	System       string         `json:"system"`
	Label        string         `json:"label"`
	Client       string         `json:"client"`
	ServerPID    int            `json:"server_pid"`
	LoadAvgStart string         `json:"loadavg_start"`
	LoadAvgEnd   string         `json:"loadavg_end"`
	Setup        setupResult    `json:"setup"`
	IdleConns    int            `json:"idle_conns"`
	RSSBeforeKiB int64          `json:"rss_before_kib"`
	RSSIdleKiB   int64          `json:"rss_idle_kib"`
	KiBPerConn   float64        `json:"kib_per_conn"`
	Fanout       []fanoutResult `json:"fanout"`
	Burst        []burstResult  `json:"burst"`
	PayloadBytes int            `json:"payload_bytes"`
	GoMaxProcs   int            `json:"loadgen_gomaxprocs"`
	Errors       []string       `json:"errors,omitempty"`
	WallSeconds  float64        `json:"wall_seconds"`
}

func run(args []string) {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	system := fs.String("system", "", "system key: realtime | mercure | gws")
	label := fs.String("label", "", "label in the report")
	kind := fs.String("client", "ws", "subscriber kind: ws | sse")
	subURL := fs.String("sub", "", "subscribe URL (ws://.../ws or http://.../.well-known/mercure?topic=bench)")
	pubURL := fs.String("pub", "", "publish URL (form POST channel=&message=)")
	pubName := fs.String("pub-name", "", "publisher label")
	adminURL := fs.String("admin-pub", "", "optional second publisher: JSON POST (the realtime admin API)")
	pid := fs.Int("pid", 0, "server process id (RSS and CPU probes)")
	channel := fs.String("channel", "bench", "channel / topic")
	nBig := fs.Int("n-big", 10000, "subscribers of the large fan-out (also the memory and setup sample)")
	rateBig := fs.String("rate-big", "1,10", "publishes/s of the large fan-out (comma-separated: one phase each)")
	nSmall := fs.Int("n-small", 1000, "subscribers of the small fan-out and of the burst")
	rateSmall := fs.String("rate-small", "10,100", "publishes/s of the small fan-out (comma-separated: one phase each)")
	dur := fs.Duration("duration", 10*time.Second, "publish duration of each fan-out")
	burstN := fs.Int("burst", 2000, "messages in the throughput burst")
	burstC := fs.Int("burst-concurrency", 8, "concurrent publish requests in the burst")
	connC := fs.Int("connect-concurrency", 64, "concurrent connection attempts")
	sources := fs.Int("sources", 8, "client source addresses 127.0.0.2..")
	payload := fs.Int("payload", 64, "padding bytes added to each message")
	out := fs.String("out", "", "JSON result file")
	_ = fs.Parse(args)
	if *system == "" || *subURL == "" || *pubURL == "" || *pid == 0 || *out == "" {
		fatal(fmt.Errorf("run needs -system, -sub, -pub, -pid and -out"))
	}
	padding = strings.Repeat("x", *payload)
	bigRates, smallRates := parseRates(*rateBig), parseRates(*rateSmall)
	d := &dialer{sources: *sources}
	res := systemResult{System: *system, Label: *label, Client: *kind, ServerPID: *pid, LoadAvgStart: loadavg(), PayloadBytes: *payload, GoMaxProcs: runtime.GOMAXPROCS(0)}
	wall := time.Now()
	pubs := []*publisher{newPublisher(*pubName, *pubURL, false)}
	if *adminURL != "" {
		pubs = append(pubs, newPublisher(adminPublisher, *adminURL, true))
	}
	save := func() {
		res.LoadAvgEnd = loadavg()
		res.WallSeconds = time.Since(wall).Seconds()
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(*out, b, 0o644); err != nil {
			fatal(err)
		}
	}

	// Warm-up: start PHP threads, fill connection pools, touch every code path.
	logf("%s: warm-up", *system)
	warm, ws := connectMany(*kind, d, *subURL, *channel, 10, 10, 900000)
	if ws.OK == 0 {
		res.Errors = append(res.Errors, "warm-up: no subscriber could connect: "+ws.FirstError)
		save()
		fatal(fmt.Errorf("warm-up failed: %s", ws.FirstError))
	}
	for _, p := range pubs {
		b := burst(*pid, len(warm), p, *channel, 50, 4)
		if b.PublishErrors > 0 {
			res.Errors = append(res.Errors, fmt.Sprintf("warm-up via %s: %d publish errors, first: %s", p.Name, b.PublishErrors, b.FirstPubError))
		}
	}
	closeAll(warm)
	time.Sleep(1500 * time.Millisecond)
	runtime.GC()

	// 1. connection setup + idle memory with nBig subscribers.
	res.RSSBeforeKiB = rssKiB(*pid)
	logf("%s: connecting %d subscribers", *system, *nBig)
	subs, setup := connectMany(*kind, d, *subURL, *channel, *nBig, *connC, 0)
	res.Setup = setup
	logf("%s: %d connected in %.2fs (%d failed, first error: %s)", *system, setup.OK, setup.Seconds, setup.Failed, setup.FirstError)
	time.Sleep(3 * time.Second)
	res.IdleConns = len(subs)
	res.RSSIdleKiB = rssKiB(*pid)
	if len(subs) > 0 {
		res.KiBPerConn = float64(res.RSSIdleKiB-res.RSSBeforeKiB) / float64(len(subs))
	}

	// 2. fan-out to nBig.
	for _, rate := range bigRates {
		for _, p := range pubs {
			logf("%s: fan-out to %d at %d/s for %s via %s", *system, len(subs), rate, *dur, p.Name)
			f := fanout(*pid, len(subs), p, *channel, rate, *dur)
			logf("%s:   delivered %d/%d p50 %.0fµs p99 %.0fµs", *system, f.Delivered, f.Expected, f.Latency.P50, f.Latency.P99)
			res.Fanout = append(res.Fanout, f)
			time.Sleep(time.Second)
		}
	}
	closeAll(subs)
	subs = nil
	time.Sleep(2 * time.Second)

	// 3. fan-out to nSmall, then the throughput burst.
	small, ss := connectMany(*kind, d, *subURL, *channel, *nSmall, *connC, 100000)
	if ss.Failed > 0 {
		res.Errors = append(res.Errors, fmt.Sprintf("small connect: %d failed, first: %s", ss.Failed, ss.FirstError))
	}
	time.Sleep(time.Second)
	for _, rate := range smallRates {
		for _, p := range pubs {
			logf("%s: fan-out to %d at %d/s for %s via %s", *system, len(small), rate, *dur, p.Name)
			f := fanout(*pid, len(small), p, *channel, rate, *dur)
			logf("%s:   delivered %d/%d p50 %.0fµs p99 %.0fµs", *system, f.Delivered, f.Expected, f.Latency.P50, f.Latency.P99)
			res.Fanout = append(res.Fanout, f)
			time.Sleep(time.Second)
		}
	}
	for _, p := range pubs {
		logf("%s: burst of %d to %d via %s", *system, *burstN, len(small), p.Name)
		b := burst(*pid, len(small), p, *channel, *burstN, *burstC)
		logf("%s:   %.0f publishes/s, %.0f deliveries/s, delivered %d/%d", *system, b.PublishPerSecond, b.DeliveredPerSec, b.Delivered, b.Expected)
		res.Burst = append(res.Burst, b)
		time.Sleep(time.Second)
	}
	closeAll(small)
	save()
	logf("%s: done in %.1fs", *system, time.Since(wall).Seconds())
}
