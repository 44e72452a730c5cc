// Command gwspeer is the benchmarks' floor: bare github.com/lxzan/gws inside
// net/http, no auth, no PHP, one process. It speaks the subset of the
// realtime wire protocol the load generator uses (connected frame,
// subscribe/subscribed, message frames) so that the very same client runs
// against it, and fans a POST /publish (form fields channel, message) out to
// every subscriber of the channel with a gws.Broadcaster (frame encoded once).
// POST /publish-loop (n, size, channel, phase, rate) runs that same fan-out n
// times in one request, like bench/app/publish_loop.php does with
// broadcast(), and answers {"calls":n,"errors":0,"seconds":s} timed around
// the loop. GET /debug/pprof/ is net/http/pprof (M1 reads MemStats there).
//
// It is a benchmark tool only: nothing imports it.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/http/pprof"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"
)

type hub struct {
	gws.BuiltinEventHandler
	mu     sync.RWMutex
	chans  map[string]map[*gws.Conn]struct{}
	nextID atomic.Uint64
}

const subsKey = "subs"

func (h *hub) OnOpen(c *gws.Conn) {
	id := h.nextID.Add(1)
	_ = c.WriteString(`{"event":"connected","user_id":"anonymous","connection_id":"` + strconv.FormatUint(id, 10) + `"}`)
}

func (h *hub) OnClose(c *gws.Conn, err error) {
	v, ok := c.Session().Load(subsKey)
	if !ok {
		return
	}
	h.mu.Lock()
	for ch := range v.(map[string]struct{}) {
		delete(h.chans[ch], c)
		if len(h.chans[ch]) == 0 {
			delete(h.chans, ch)
		}
	}
	h.mu.Unlock()
}

func (h *hub) OnPing(c *gws.Conn, payload []byte) { _ = c.WritePong(payload) }

func (h *hub) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	var req struct {
		Action  string `json:"action"`
		Channel string `json:"channel"`
	}
	if err := json.Unmarshal(m.Bytes(), &req); err != nil {
		_ = c.WriteString(`{"event":"error","code":"invalid_json","message":"not a JSON object"}`)
		return
	}
	switch req.Action {
	case "subscribe":
		v, _ := c.Session().Load(subsKey)
		mine, _ := v.(map[string]struct{})
		if mine == nil {
			mine = map[string]struct{}{}
			c.Session().Store(subsKey, mine)
		}
		mine[req.Channel] = struct{}{}
		h.mu.Lock()
		if h.chans[req.Channel] == nil {
			h.chans[req.Channel] = map[*gws.Conn]struct{}{}
		}
		h.chans[req.Channel][c] = struct{}{}
		h.mu.Unlock()
		b, _ := json.Marshal(map[string]string{"event": "subscribed", "channel": req.Channel})
		_ = c.WriteMessage(gws.OpcodeText, b)
	case "ping":
		_ = c.WriteString(`{"event":"pong"}`)
	default:
		_ = c.WriteString(`{"event":"error","code":"unknown_action","message":"unknown action"}`)
	}
}

func (h *hub) publish(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	h.fanout(r.FormValue("channel"), r.FormValue("message"))
	w.WriteHeader(http.StatusNoContent)
}

// fanout encodes one message frame and queues it on every subscriber of the
// channel (gws writes each connection's queue on its own goroutine).
func (h *hub) fanout(ch, msg string) {
	frame, _ := json.Marshal(struct {
		Event   string `json:"event"`
		Channel string `json:"channel"`
		Data    string `json:"data"`
	}{"message", ch, msg})
	b := gws.NewBroadcaster(gws.OpcodeText, frame)
	h.mu.RLock()
	for c := range h.chans[ch] {
		_ = b.Broadcast(c)
	}
	h.mu.RUnlock()
	_ = b.Close()
}

// publishLoop is the Go counterpart of bench/app/publish_loop.php: n
// messages of size bytes starting "<phase>.<i>.<unix ns>.", back to back
// (rate 0, stamped with the send time) or message i at start + i/rate
// (stamped with that scheduled time: no coordinated omission).
func (h *hub) publishLoop(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	n, err1 := strconv.Atoi(r.FormValue("n"))
	size, err2 := strconv.Atoi(r.FormValue("size"))
	rate, err3 := strconv.ParseFloat(orDefault(r.FormValue("rate"), "0"), 64)
	ch, phase := r.FormValue("channel"), orDefault(r.FormValue("phase"), "0")
	if err1 != nil || err2 != nil || err3 != nil || n < 0 || size < 0 || rate < 0 || ch == "" {
		http.Error(w, "want n, size, channel (and optional phase, rate)", http.StatusBadRequest)
		return
	}
	pad := strings.Repeat("x", size)
	var maxLag time.Duration
	start := time.Now()
	for i := 0; i < n; i++ {
		var ts int64
		if rate > 0 {
			due := time.Duration(float64(i) * float64(time.Second) / rate)
			if d := time.Until(start.Add(due)); d > 0 {
				time.Sleep(d)
			}
			maxLag = max(maxLag, time.Since(start)-due)
			ts = start.UnixNano() + int64(due)
		} else {
			ts = time.Now().UnixNano()
		}
		head := phase + "." + strconv.Itoa(i) + "." + strconv.FormatInt(ts, 10) + "."
		msg := head
		if len(head) < size {
			msg += pad[len(head):]
		}
		h.fanout(ch, msg)
	}
	el := time.Since(start)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"calls":%d,"errors":0,"seconds":%.9f,"max_lag_ms":%.3f}`, n, el.Seconds(), float64(maxLag)/1e6)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	flag.Parse()
	h := &hub{chans: map[string]map[*gws.Conn]struct{}{}}
	up := gws.NewUpgrader(h, &gws.ServerOption{
		ParallelEnabled: false,
		Recovery:        gws.Recovery,
	})
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		go c.ReadLoop()
	})
	mux.HandleFunc("/publish", h.publish)
	mux.HandleFunc("/publish-loop", h.publishLoop)
	// The load generator reads live Go memory from the heap profile's
	// MemStats (M1), as it does from FrankenPHP's admin API.
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(os.Stderr, "gwspeer listening on %s\n", *addr)
	log.Fatal(srv.ListenAndServe())
}
